// Can the batch-1 recurrent GEMV (bandwidth-bound: weights streamed from L2, one row)
// and a 6-row input-projection tile (compute-bound: weights in L1) share a core's FMA
// units if their loops are interleaved? (docs/performance.md, "tried and dropped".)
//
// Times, on one core: the GEMV alone over nb blocks of K x 64 floats; nb projection tiles
// (5 rows x Kp inputs x 64 outputs) alone; and one loop doing both, one projection k-row
// per GEMV k-row. If the fused loop took max(GEMV, tiles), fusing would pay; it takes more
// than their sum.
//
//   g++ -O3 -mavx512f -mfma benchmarks/fused_loops.cpp -o /tmp/fused_loops
//   /tmp/fused_loops 8 128 128      # small's per-core share at 2 threads
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using V = __m512;
constexpr int kRows = 5;  // projection rows per tile: 20 accumulators + the GEMV's 4 fit 32 registers

double seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

__attribute__((noinline)) void gemv(const float* w, const float* x, int nb, int K, float* out) {
    for (int b = 0; b < nb; ++b) {
        const float* wb = w + size_t(b) * K * 64;
        V acc[4][4];
        for (auto& set : acc)
            for (auto& a : set) a = _mm512_setzero_ps();
        for (int k = 0; k < K; k += 4)
            for (int u = 0; u < 4; ++u) {
                const V xb = _mm512_set1_ps(x[k + u]);
                for (int q = 0; q < 4; ++q)
                    acc[u][q] = _mm512_fmadd_ps(_mm512_loadu_ps(wb + ((k + u) * 4 + q) * 16), xb, acc[u][q]);
            }
        for (int q = 0; q < 4; ++q)
            _mm512_storeu_ps(out + b * 64 + q * 16,
                             _mm512_add_ps(_mm512_add_ps(acc[0][q], acc[1][q]), _mm512_add_ps(acc[2][q], acc[3][q])));
    }
}

__attribute__((noinline)) void tile(const float* w, const float* const* rows, int Kp, float* out) {
    V acc[kRows][4];
    for (auto& r : acc)
        for (auto& a : r) a = _mm512_setzero_ps();
    for (int k = 0; k < Kp; ++k) {
        V wq[4];
        for (int q = 0; q < 4; ++q) wq[q] = _mm512_loadu_ps(w + (k * 4 + q) * 16);
        for (int r = 0; r < kRows; ++r) {
            const V xb = _mm512_set1_ps(rows[r][k]);
            for (int q = 0; q < 4; ++q) acc[r][q] = _mm512_fmadd_ps(wq[q], xb, acc[r][q]);
        }
    }
    for (int r = 0; r < kRows; ++r)
        for (int q = 0; q < 4; ++q) _mm512_storeu_ps(out + r * 64 + q * 16, acc[r][q]);
}

__attribute__((noinline)) void fused(const float* w, const float* x, int nb, int K, float* out, const float* wp,
                                     const float* const* rows, int Kp, float* pout) {
    const int per = std::max(1, Kp / K);  // projection k-rows per GEMV k-row
    for (int b = 0; b < nb; ++b) {
        const float* wb = w + size_t(b) * K * 64;
        V acc[4], p[kRows][4];
        for (auto& a : acc) a = _mm512_setzero_ps();
        for (auto& r : p)
            for (auto& a : r) a = _mm512_setzero_ps();
        int kp = 0;
        for (int k = 0; k < K; ++k) {
            const V xb = _mm512_set1_ps(x[k]);
            for (int q = 0; q < 4; ++q) acc[q] = _mm512_fmadd_ps(_mm512_loadu_ps(wb + (k * 4 + q) * 16), xb, acc[q]);
            for (int s = 0; s < per && kp < Kp; ++s, ++kp) {
                V wq[4];
                for (int q = 0; q < 4; ++q) wq[q] = _mm512_loadu_ps(wp + (kp * 4 + q) * 16);
                for (int r = 0; r < kRows; ++r) {
                    const V pb = _mm512_set1_ps(rows[r][kp]);
                    for (int q = 0; q < 4; ++q) p[r][q] = _mm512_fmadd_ps(wq[q], pb, p[r][q]);
                }
            }
        }
        for (int q = 0; q < 4; ++q) _mm512_storeu_ps(out + b * 64 + q * 16, acc[q]);
        for (int r = 0; r < kRows; ++r)
            for (int q = 0; q < 4; ++q) _mm512_storeu_ps(pout + r * 64 + q * 16, p[r][q]);
    }
}

template <class F>
double best_us(F f) {
    for (int i = 0; i < 200; ++i) f();
    double best = 1e30;
    for (int rep = 0; rep < 7; ++rep) {
        const double t0 = seconds();
        for (int i = 0; i < 2000; ++i) f();
        best = std::min(best, (seconds() - t0) / 2000);
    }
    return best * 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s BLOCKS K KP   (K a multiple of 4)\n", argv[0]);
        return 2;
    }
    const int nb = std::atoi(argv[1]), K = std::atoi(argv[2]), Kp = std::atoi(argv[3]);
    if (nb < 1 || K < 4 || K % 4 || Kp < 1) {
        std::fprintf(stderr, "BLOCKS >= 1, K a positive multiple of 4, KP >= 1\n");
        return 2;
    }
    std::vector<float> w(size_t(nb) * K * 64, 0.001f), x(K, 0.5f), out(size_t(nb) * 64);
    std::vector<float> wp(size_t(Kp) * 64, 0.002f), xs(size_t(kRows) * Kp, 0.3f), pout(kRows * 64);
    const float* rows[kRows];
    for (int r = 0; r < kRows; ++r) rows[r] = xs.data() + size_t(r) * Kp;
    const double g = best_us([&] { gemv(w.data(), x.data(), nb, K, out.data()); });
    const double t = best_us([&] {
        for (int b = 0; b < nb; ++b) tile(wp.data(), rows, Kp, pout.data());
    });
    const double f = best_us([&] { fused(w.data(), x.data(), nb, K, out.data(), wp.data(), rows, Kp, pout.data()); });
    std::printf("GEMV %.2f us + %d projection tiles %.2f us = %.2f us one after the other; fused %.2f us\n", g, nb, t,
                g + t, f);
    return 0;
}
