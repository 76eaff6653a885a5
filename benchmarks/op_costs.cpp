// What the AVX-512 instructions of the LSTM cell cost on this core, relative to each other:
// each op runs in 8 independent dependency chains, so a slow op's time is its issue cost
// (vdivps), not its latency; for the fast ones loop overhead shows too (the FMA line came out
// at ~0.8 cycles per FMA on Sapphire Rapids, not the 0.5 its two ports allow), so read them
// against the FMA line. Also the clock: one dependent FMA chain at 4 cycles per FMA.
// docs/performance.md (2026-12-03) cites it for the cell's divisions.
//
//   g++ -O3 -funroll-all-loops -mavx512f benchmarks/op_costs.cpp -o /tmp/op_costs && /tmp/op_costs
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

constexpr long kIters = 10000000;

// Median of 5 timings of kIters × 8 ops, in ns per op.
template <class Op>
double ns_per_op(const Op& op) {
    std::vector<double> t;
    for (int rep = 0; rep < 5; ++rep) {
        __m512 a[8];
        for (int j = 0; j < 8; ++j) a[j] = _mm512_set1_ps(1.0f + 0.01f * float(j));
        const double t0 = now();
        for (long i = 0; i < kIters; ++i)
            for (int j = 0; j < 8; ++j) a[j] = op(a[j]);
        t.push_back((now() - t0) / (8.0 * kIters) * 1e9);
        float s = 0;
        for (int j = 0; j < 8; ++j) s += _mm512_reduce_add_ps(a[j]);
        volatile float sink = s;
        (void)sink;
    }
    std::sort(t.begin(), t.end());
    return t[2];
}

}  // namespace

int main() {
    const __m512 b = _mm512_set1_ps(1.0001f);
    {
        std::vector<double> t;
        for (int rep = 0; rep < 5; ++rep) {
            __m512 a = _mm512_set1_ps(1.0f);
            const double t0 = now();
            for (long i = 0; i < 10 * kIters; ++i) {
                a = _mm512_fmadd_ps(a, _mm512_set1_ps(0.999999f), _mm512_set1_ps(1e-7f));
                __asm__ volatile("" : "+v"(a));
            }
            t.push_back((now() - t0) / (10.0 * kIters) * 1e9);
            volatile float sink = _mm512_reduce_add_ps(a);
            (void)sink;
        }
        std::sort(t.begin(), t.end());
        std::printf("dependent FMA chain: %.3f ns per FMA = %.2f GHz at 4 cycles of latency\n", t[2], 4.0 / t[2]);
    }
    std::printf("throughput, ns per op (8 independent chains):\n");
    std::printf("  vfmadd231ps  %.3f\n", ns_per_op([&](__m512 x) { return _mm512_fmadd_ps(x, b, b); }));
    std::printf("  vaddps       %.3f\n", ns_per_op([&](__m512 x) { return _mm512_add_ps(x, b); }));
    std::printf("  vminps       %.3f\n", ns_per_op([&](__m512 x) { return _mm512_min_ps(x, b); }));
    std::printf("  vscalefps    %.3f\n", ns_per_op([&](__m512 x) { return _mm512_scalef_ps(x, b); }));
    std::printf("  vrndscaleps  %.3f\n", ns_per_op([&](__m512 x) { return _mm512_roundscale_ps(x, 8); }));
    std::printf("  vrcp14ps     %.3f\n", ns_per_op([&](__m512 x) { return _mm512_rcp14_ps(x); }));
    std::printf("  vdivps       %.3f\n", ns_per_op([&](__m512 x) { return _mm512_div_ps(b, x); }));
    return 0;
}
