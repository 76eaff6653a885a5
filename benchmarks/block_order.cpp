// Does visiting a matrix's blocks in alternating order pay when it does not fit a cache?
// (csrc/lstm.cpp: every pass over W_hh / W_ih / W_hr runs opposite to the one before.)
//
// The kernel's batch-1 inner loop alone: a GEMV over nb packed blocks of K x 64 floats
// (4 gates x 16 lanes), 4 interleaved accumulator sets, one core. Each pass either visits
// the blocks first to last every time ("linear") or alternates ("alternating").
//
//   g++ -O3 -mavx512f -mfma benchmarks/block_order.cpp -o /tmp/block_order
//   /tmp/block_order 32 256     # 2 MiB: a streaming step's W_ih + W_hh at H = 256
//   /tmp/block_order 16 256     # 1 MiB: medium's W_hh, one core's L2
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using V = __m512;

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

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s BLOCKS K   (K a multiple of 4)\n", argv[0]);
        return 2;
    }
    const int nb = std::atoi(argv[1]), K = std::atoi(argv[2]);
    if (nb < 1 || K < 4 || K % 4) {
        std::fprintf(stderr, "BLOCKS >= 1, K a positive multiple of 4\n");
        return 2;
    }
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
