// Two questions about the kernel's batch-1 inner loop (a GEMV over packed blocks of
// K x 64 floats: 4 gates x 16 lanes, 4 interleaved accumulator sets), one core, AVX-512.
// docs/performance.md cites both.
//
//   order NB K      Does visiting the blocks in alternating order, pass after pass, pay when
//                   the matrix misses a cache? (csrc/lstm.cpp: every pass over W_hh / W_ih /
//                   W_hr runs opposite to the one before.) Times "linear" (first to last every
//                   pass) against "alternating".
//   fused NB K KP   Can the GEMV (bandwidth-bound: weights streamed from L2, one row) and
//                   5-row input-projection tiles (compute-bound: weights in L1) share the
//                   FMA units if their loops are interleaved? Times the GEMV alone, NB tiles
//                   alone, and one loop doing both (one projection k-row per GEMV k-row).
//
//   g++ -O3 -mavx512f -mfma benchmarks/gemv_loops.cpp -o /tmp/gemv_loops
//   /tmp/gemv_loops order 32 256     # 2 MiB: a streaming step's W_ih + W_hh at H = 256
//   /tmp/gemv_loops order 16 256     # 1 MiB: medium's W_hh, one core's L2
//   /tmp/gemv_loops fused 8 128 128  # small's per-core share at 2 threads
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using V = __m512;
constexpr int kRows = 5;  // projection rows per tile: 20 accumulators + the GEMV's 4 fit 32 registers

double seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

__attribute__((noinline)) void gemv(const float* w, const float* x, int nb, int K, float* out, bool reverse) {
    for (int i = 0; i < nb; ++i) {
        const int b = reverse ? nb - 1 - i : i;
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


int order(int nb, int K) {
    std::vector<float> w(size_t(nb) * K * 64, 0.001f), x(K, 0.5f), out(size_t(nb) * 64);
    const double kib = double(nb) * K * 256 / 1024;
    for (int alternate = 0; alternate < 2; ++alternate) {
        unsigned pass = 0;
        for (int i = 0; i < 200; ++i) gemv(w.data(), x.data(), nb, K, out.data(), alternate && (pass++ & 1));
        std::vector<double> t;
        for (int i = 0; i < 2000; ++i) {
            const double t0 = seconds();
            gemv(w.data(), x.data(), nb, K, out.data(), alternate && (pass++ & 1));
            t.push_back(seconds() - t0);
        }
        std::sort(t.begin(), t.end());
        const double us = t[t.size() / 2] * 1e6;
        std::printf("%-11s %d blocks x K=%d (%.0f KiB): median %.2f us per pass, %.0f GB/s\n",
                    alternate ? "alternating" : "linear", nb, K, kib, us, kib * 1024 / us / 1e3);
    }
    return 0;
}

int fused_vs_separate(int nb, int K, int Kp) {
    std::vector<float> w(size_t(nb) * K * 64, 0.001f), x(K, 0.5f), out(size_t(nb) * 64);
    std::vector<float> wp(size_t(Kp) * 64, 0.002f), xs(size_t(kRows) * Kp, 0.3f), pout(kRows * 64);
    const float* rows[kRows];
    for (int r = 0; r < kRows; ++r) rows[r] = xs.data() + size_t(r) * Kp;
    const double g = best_us([&] { gemv(w.data(), x.data(), nb, K, out.data(), false); });
    const double t = best_us([&] {
        for (int b = 0; b < nb; ++b) tile(wp.data(), rows, Kp, pout.data());
    });
    const double f = best_us([&] { fused(w.data(), x.data(), nb, K, out.data(), wp.data(), rows, Kp, pout.data()); });
    std::printf("GEMV %.2f us + %d projection tiles %.2f us = %.2f us one after the other; fused %.2f us\n", g, nb, t,
                g + t, f);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const bool is_order = argc == 4 && std::strcmp(argv[1], "order") == 0;
    const bool is_fused = argc == 5 && std::strcmp(argv[1], "fused") == 0;
    const int nb = argc > 2 ? std::atoi(argv[2]) : 0, K = argc > 3 ? std::atoi(argv[3]) : 0;
    const int Kp = is_fused ? std::atoi(argv[4]) : 1;
    if (!(is_order || is_fused) || nb < 1 || K < 4 || K % 4 || Kp < 1) {
        std::fprintf(stderr, "usage: %s order BLOCKS K | fused BLOCKS K KP   (K a positive multiple of 4)\n", argv[0]);
        return 2;
    }
    return is_order ? order(nb, K) : fused_vs_separate(nb, K, Kp);
}
