// Measures this core's fp32 FMA peak and its read bandwidth by working-set size:
// the two numbers behind every "bound" that benchmarks/ reports.
// Built and run by machine_peak.py (g++ -O2 -mavx2 -mfma [-mavx512f]).
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

using Clock = std::chrono::steady_clock;

#if defined(__AVX512F__)
using V = __m512;
static V vset(float x) { return _mm512_set1_ps(x); }
static V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
static V vload(const float* p) { return _mm512_loadu_ps(p); }
static V vadd(V a, V b) { return _mm512_add_ps(a, b); }
static float vsum(V a) { return _mm512_reduce_add_ps(a); }
static const int kLanes = 16;
#else
using V = __m256;
static V vset(float x) { return _mm256_set1_ps(x); }
static V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
static V vload(const float* p) { return _mm256_loadu_ps(p); }
static V vadd(V a, V b) { return _mm256_add_ps(a, b); }
static float vsum(V a) {
    float t[8];
    _mm256_storeu_ps(t, a);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
static const int kLanes = 8;
#endif

// 12 independent accumulator chains (distinct start values, so none can be merged).
static double fma_peak(long iters, float seed) {
    V a0 = vset(seed), a1 = vset(seed * 2), a2 = vset(seed * 3), a3 = vset(seed * 4), a4 = vset(seed * 5),
      a5 = vset(seed * 6), a6 = vset(seed * 7), a7 = vset(seed * 8), a8 = vset(seed * 9), a9 = vset(seed * 10),
      a10 = vset(seed * 11), a11 = vset(seed * 12);
    V x = vset(0.999f), y = vset(1e-4f);
    auto t0 = Clock::now();
    for (long k = 0; k < iters; ++k) {
#define F(a) a = vfma(x, a, y);
        F(a0) F(a1) F(a2) F(a3) F(a4) F(a5) F(a6) F(a7) F(a8) F(a9) F(a10) F(a11)
#undef F
    }
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    V sum = vadd(vadd(vadd(a0, a1), vadd(a2, a3)), vadd(vadd(a4, a5), vadd(a6, a7)));
    sum = vadd(sum, vadd(vadd(a8, a9), vadd(a10, a11)));
    if (vsum(sum) == 12345.0f) std::puts("");  // keep the result alive
    return double(iters) * 12 * kLanes * 2 / s / 1e9;
}

// Sum a buffer of `bytes` repeatedly with 8 accumulators (named variables: an array
// of vectors may be kept in memory by the compiler): GB/s read from where it fits.
static double read_bandwidth(size_t bytes) {
    std::vector<float> buf(bytes / sizeof(float), 1.0f);
    const size_t n = buf.size() / (8 * kLanes) * (8 * kLanes);
    const long reps = long(std::max<size_t>(4, (size_t(2) << 30) / bytes));
    V a0 = vset(0), a1 = vset(0), a2 = vset(0), a3 = vset(0), a4 = vset(0), a5 = vset(0), a6 = vset(0), a7 = vset(0);
    const float* p = buf.data();
    for (size_t i = 0; i < n; i += kLanes) a0 = vadd(a0, vload(p + i));  // warm up
    auto t0 = Clock::now();
    for (long r = 0; r < reps; ++r)
        for (size_t i = 0; i < n; i += 8 * kLanes) {
            a0 = vadd(a0, vload(p + i));
            a1 = vadd(a1, vload(p + i + kLanes));
            a2 = vadd(a2, vload(p + i + 2 * kLanes));
            a3 = vadd(a3, vload(p + i + 3 * kLanes));
            a4 = vadd(a4, vload(p + i + 4 * kLanes));
            a5 = vadd(a5, vload(p + i + 5 * kLanes));
            a6 = vadd(a6, vload(p + i + 6 * kLanes));
            a7 = vadd(a7, vload(p + i + 7 * kLanes));
        }
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    V sum = vadd(vadd(vadd(a0, a1), vadd(a2, a3)), vadd(vadd(a4, a5), vadd(a6, a7)));
    if (vsum(sum) == -1.0f) std::puts("");
    return double(n) * sizeof(float) * reps / s / 1e9;
}

int main(int argc, char** argv) {
    const float seed = argc > 5 ? 0.5f : 0.1f;  // not a compile-time constant
    (void)argv;
    std::printf("vector_bits %d\n", kLanes * 32);
    double best = 0;
    for (int i = 0; i < 3; ++i) best = std::max(best, fma_peak(100000000, seed));
    std::printf("fma_peak_gflops %.1f\n", best);
    for (size_t kb : {16, 32, 64, 128, 256, 512, 768, 1024, 1536, 2048, 4096, 16384, 65536}) {
        double bw = 0;
        for (int i = 0; i < 3; ++i) bw = std::max(bw, read_bandwidth(kb * 1024));
        std::printf("read_gbps %zu %.1f\n", kb, bw);
    }
    return 0;
}
