// Read bandwidth of repeated sweeps over one buffer, always forward or alternating forward and
// backward: the measurement behind the driver's alternating block order (csrc/lstm.cpp,
// for_blocks in kernels_impl.h). A buffer a little larger than the L1d, swept in the same
// direction every time, misses on every line under LRU-like replacement; swept the other way
// each time, the lines read last are read first again. Sixteen accumulators so the loads,
// not the adds, limit. docs/performance.md (2026-12-03) cites it for tiny's 64 KiB W_hh.
//
//   g++ -O3 -funroll-loops -mavx512f benchmarks/sweep_order.cpp -o /tmp/sweep_order && /tmp/sweep_order
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Median GB/s of 21 timings of `sweeps` passes over a[0, n).
double gbps(const float* a, long n, bool alternate, int sweeps) {
    std::vector<double> rates;
    for (int rep = 0; rep < 21; ++rep) {
        __m512 s[16];
        for (auto& v : s) v = _mm512_setzero_ps();
        const double t0 = now();
        for (int it = 0; it < sweeps; ++it) {
            if (alternate && (it & 1)) {
                for (long i = n - 256; i >= 0; i -= 256)
                    for (int j = 0; j < 16; ++j) s[j] = _mm512_add_ps(s[j], _mm512_load_ps(a + i + 16 * j));
            } else {
                for (long i = 0; i < n; i += 256)
                    for (int j = 0; j < 16; ++j) s[j] = _mm512_add_ps(s[j], _mm512_load_ps(a + i + 16 * j));
            }
        }
        rates.push_back(4.0 * double(n) * sweeps / (now() - t0) / 1e9);
        __m512 z = s[0];
        for (int j = 1; j < 16; ++j) z = _mm512_add_ps(z, s[j]);
        volatile float sink = _mm512_reduce_add_ps(z);
        (void)sink;
    }
    std::sort(rates.begin(), rates.end());
    return rates[10];
}

}  // namespace

int main() {
    std::printf("buffer    forward GB/s  alternating GB/s\n");
    for (long kib : {16, 32, 40, 48, 56, 64, 80, 96, 128, 256}) {
        const long n = kib * 1024 / 4;
        float* a = static_cast<float*>(std::aligned_alloc(64, size_t(n) * 4));
        for (long i = 0; i < n; ++i) a[i] = 1e-3f * float(i % 7);
        const int sweeps = int(std::max<long>(200, 128L * 1024 * 1024 / (4 * n)));
        const double fwd = gbps(a, n, false, sweeps), alt = gbps(a, n, true, sweeps);
        std::printf("%4ld KiB  %12.1f  %16.1f\n", kib, fwd, alt);
        std::free(a);
    }
    return 0;
}
