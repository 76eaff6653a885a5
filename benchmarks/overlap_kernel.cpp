// Would hiding the input projection inside the recurrence pay at batch 1? A prototype, one
// core, no Python, AVX-512 only; nothing in csrc/ uses it (docs/performance.md, Zen 4).
//
// At batch 1 a call today runs the input projection of all T rows first (FMA-bound, weights
// reused by 6-row tiles), then T steps, each streaming W_hh from L2 or L3 while the FMA
// units idle about half the time. The prototype ("fused") computes the projection of the
// next group of P rows during the P steps of the current group: at step t, for each block,
// the recurrent FMAs of the step and the FMAs of part t % P of that block's W_ih (1/P of
// its k, for the P rows at once) share one loop, so the out-of-order core overlaps them.
// It reads W_ih / P more bytes per step and no projection phase remains.
//
//   g++ -O3 -mavx512f -mavx2 -mfma -falign-loops=32 -std=c++17 -Icsrc \
//       -DSTEP_KERNEL_AVX512 benchmarks/overlap_kernel.cpp -o /tmp/overlap_kernel
//   /tmp/overlap_kernel T I H [P]       # e.g. 32 128 128 (small), 16 64 64 (tiny), 128 128 256
//
// Prints median µs of a whole T-step sequence both ways, their ratio, and the largest
// difference between the two outputs (summation orders differ: ~1e-7, not bit-identical).
//
// Measured on Zen 4 (2026-12-02, 1 core, two runs each): P = 4 gains 1.05-1.12x where the
// weights stay in L2 ((60,128,128) 1.05-1.06x, (32,128,128) 1.12x, (20,64,64) 1.14x) and
// nothing where W_hh streams from L3 ((128,128,256) 1.00x, (64,300,256) 1.00x,
// (60,256,256) 0.99x: the W_ih / P re-read comes from L3 too); P = 2, 3 lose (0.84-0.86x),
// P = 5 (20 accumulators) is 0.97-1.03x. Not worth a second batch-1 kernel: not adopted.
// Later that day, with the buffers 64-byte aligned (see Floats): P = 4 still 1.07-1.16x
// here ((32,128,128) 1.14-1.16x, (16,64,64) 1.07-1.16x, (60,128,128) 1.09-1.12x,
// (128,128,256) 1.04x). Then built into the package (the driver projecting the first group,
// each batch-1 step the next group's part; no register spills in its inner loop) and timed
// through the Python API with benchmarks/ab_builds.py, 1 thread: per-round medians
// (1,32,128,128) 1.04x, 1.02x, 0.99x; (1,60,128,128) 1.05x, 1.02x, 0.99x; (1,16,64,64)
// 1.00x, 0.91x, 0.99x; (1,32,64,64) 1.01x; (1,100,32,64) 0.98x, 0.96x (three runs, most IQRs
// straddling 1). The package's plain path is faster than this file's sequential baseline
// (120-137 us against 139-157 us for (32,128,128)), so less is left to hide: reverted.
#include "vec_avx512.h"
#include "kernels_impl.h"
#include "lstm.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

using namespace lstm_fast;
using Isa = Avx512;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

constexpr int W = 16;

// Buffers: the package's 64-byte aligned AlignedFloats (lstm.h). From plain std::vector<float>
// (16 bytes past a line here) every 64-byte load spans two cache lines, which made the first
// version of this prototype's sequential baseline ~25 % slower than the package.
using Floats = AlignedFloats;
constexpr int kMaxP = 5;  // 5 rows x 4 gates = 20 accumulators + 4 recurrent + 4 weights + broadcasts

// One block of one fused step: acc = g_t + h·W_hh (then the gates), and for the rows of the
// next group, g_next[r] (+)= x[r][k0..k1)·W_ih over this block's part of k.
template <int P>
void fused_block(const float* g_t, const float* h, int64_t H, const float* whh_b, const float* const* xn,
                 float* const* gn, int64_t k0, int64_t k1, bool first_part, const float* bias_b, const float* wih_b,
                 float* c, float* out) {
    __m512 rec[4];
    for (int q = 0; q < 4; ++q) rec[q] = _mm512_loadu_ps(g_t + q * W);
    __m512 pa[P > 0 ? P : 1][4];
    for (int r = 0; r < P; ++r)
        for (int q = 0; q < 4; ++q) pa[r][q] = _mm512_loadu_ps((first_part ? bias_b : gn[r]) + q * W);
    const int64_t np = k1 - k0;
    int64_t kr = 0;
    for (int64_t i = 0; i < np; ++i) {
        // The recurrent k's that keep pace: H / np of them per projection k.
        const int64_t until = (i + 1) * H / np;
        for (; kr < until; ++kr) {
            const __m512 xb = _mm512_set1_ps(h[kr]);
            for (int q = 0; q < 4; ++q) rec[q] = _mm512_fmadd_ps(_mm512_loadu_ps(whh_b + (kr * 4 + q) * W), xb, rec[q]);
        }
        const int64_t k = k0 + i;
        __m512 w[4];
        for (int q = 0; q < 4; ++q) w[q] = _mm512_loadu_ps(wih_b + (k * 4 + q) * W);
        for (int r = 0; r < P; ++r) {
            const __m512 xb = _mm512_set1_ps(xn[r][k]);
            for (int q = 0; q < 4; ++q) pa[r][q] = _mm512_fmadd_ps(w[q], xb, pa[r][q]);
        }
    }
    for (; kr < H; ++kr) {
        const __m512 xb = _mm512_set1_ps(h[kr]);
        for (int q = 0; q < 4; ++q) rec[q] = _mm512_fmadd_ps(_mm512_loadu_ps(whh_b + (kr * 4 + q) * W), xb, rec[q]);
    }
    for (int r = 0; r < P; ++r)
        for (int q = 0; q < 4; ++q) _mm512_storeu_ps(gn[r] + q * W, pa[r][q]);
    __m512 cc = _mm512_loadu_ps(c);
    const __m512 hv = lstm_cell<Isa>(rec[0], rec[1], rec[2], rec[3], cc);
    _mm512_storeu_ps(c, cc);
    _mm512_storeu_ps(out, hv);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s T I H [P<=%d]\n", argv[0], kMaxP);
        return 2;
    }
    const int T = std::atoi(argv[1]), I = std::atoi(argv[2]), H = std::atoi(argv[3]);
    const int P = argc > 4 ? std::atoi(argv[4]) : kMaxP;
    if (T < 2 * P || I < P || H < W || H % W || P < 1 || P > kMaxP) {
        std::fprintf(stderr, "need T >= 2P, I >= P, H a multiple of %d, 1 <= P <= %d\n", W, kMaxP);
        return 2;
    }
    const int nb = H / W;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-0.1f, 0.1f);
    auto fill = [&](Floats& v) { for (size_t i = 0; i < v.size(); ++i) v.data()[i] = u(rng); };
    Floats wih(size_t(nb) * I * 4 * W), whh(size_t(nb) * H * 4 * W), bias(4 * H), xs(size_t(T) * I);
    fill(wih), fill(whh), fill(bias), fill(xs);
    for (size_t i = 0; i < xs.size(); ++i) xs.data()[i] *= 10.0f;
    Floats gs(size_t(T) * 4 * H), ys(size_t(T + 1) * H), cs(H), ys2(size_t(T + 1) * H);
    std::vector<const float*> xr(T);
    std::vector<float*> gr(T);
    for (int t = 0; t < T; ++t) xr[t] = xs.data() + size_t(t) * I, gr[t] = gs.data() + size_t(t) * 4 * H;

    auto sequential = [&](Floats& y) {
        std::fill_n(cs.data(), cs.size(), 0.0f);
        std::fill_n(y.data(), H, 0.0f);  // h_0
        input_projection<Isa, float>(xr.data(), T, I, wih.data(), bias.data(), gr.data(), 0, nb, false);
        for (int t = 0; t < T; ++t) {
            const float* g = gr[t];
            const float* h = y.data() + size_t(t) * H;
            float* c = cs.data();
            float* o = y.data() + size_t(t + 1) * H;
            StepArgs<float> a{&g, nullptr, 0, nullptr, nullptr, &h, H, whh.data(), &c, &o, 1};
            a.reverse = t & 1;
            lstm_step<Isa, float>(a, 0, nb);
        }
    };
    auto fused = [&](Floats& y) {
        std::fill_n(cs.data(), cs.size(), 0.0f);
        std::fill_n(y.data(), H, 0.0f);
        input_projection<Isa, float>(xr.data(), P, I, wih.data(), bias.data(), gr.data(), 0, nb, false);
        for (int t = 0; t < T; ++t) {
            const int part = t % P, next = (t / P + 1) * P;
            const int rows = std::max(0, std::min(P, T - next));
            const int64_t k0 = int64_t(part) * I / P, k1 = int64_t(part + 1) * I / P;
            const float* h = y.data() + size_t(t) * H;
            float* o = y.data() + size_t(t + 1) * H;
            for (int i = 0; i < nb; ++i) {
                const int b = (t & 1) ? nb - 1 - i : i;
                const float* whh_b = whh.data() + size_t(b) * H * 4 * W;
                const float* wih_b = wih.data() + size_t(b) * I * 4 * W;
                const float* xn[kMaxP] = {};
                float* gn[kMaxP] = {};
                for (int r = 0; r < rows; ++r) xn[r] = xr[next + r], gn[r] = gr[next + r] + b * 4 * W;
                if (rows == 0) {  // the last group: nothing left to project
                    const float* g = gr[t] + b * 4 * W;
                    fused_block<0>(g, h, H, whh_b, xn, gn, k0, k0, false, nullptr, wih_b, cs.data() + b * W,
                                   o + b * W);
                    continue;
                }
                const float* g = gr[t] + b * 4 * W;
                switch (P) {
                    case 1: fused_block<1>(g, h, H, whh_b, xn, gn, k0, k1, part == 0, bias.data() + b * 4 * W, wih_b, cs.data() + b * W, o + b * W); break;
                    case 2: fused_block<2>(g, h, H, whh_b, xn, gn, k0, k1, part == 0, bias.data() + b * 4 * W, wih_b, cs.data() + b * W, o + b * W); break;
                    case 3: fused_block<3>(g, h, H, whh_b, xn, gn, k0, k1, part == 0, bias.data() + b * 4 * W, wih_b, cs.data() + b * W, o + b * W); break;
                    case 4: fused_block<4>(g, h, H, whh_b, xn, gn, k0, k1, part == 0, bias.data() + b * 4 * W, wih_b, cs.data() + b * W, o + b * W); break;
                    default: fused_block<5>(g, h, H, whh_b, xn, gn, k0, k1, part == 0, bias.data() + b * 4 * W, wih_b, cs.data() + b * W, o + b * W); break;
                }
            }
        }
    };
    if (T % P) {
        std::fprintf(stderr, "this prototype needs T a multiple of P\n");
        return 2;
    }
    sequential(ys);
    fused(ys2);
    float diff = 0.0f;
    for (size_t i = 0; i < ys.size(); ++i) diff = std::max(diff, std::fabs(ys.data()[i] - ys2.data()[i]));
    const int reps = std::max(1, int(2e-3 / (1e-9 * T * H * 20.0)));
    std::vector<double> ts, tf, ratio;
    for (int round = 0; round < 41; ++round) {
        double t0 = now();
        for (int i = 0; i < reps; ++i) sequential(ys);
        double a = (now() - t0) / reps;
        t0 = now();
        for (int i = 0; i < reps; ++i) fused(ys2);
        double b = (now() - t0) / reps;
        ts.push_back(a), tf.push_back(b), ratio.push_back(a / b);
    }
    auto med = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
    std::printf("T=%d I=%d H=%d P=%d: sequential %.1f us, fused %.1f us, ratio %.3f (median of per-round ratios), "
                "max |diff| %.2e\n", T, I, H, P, med(ts) * 1e6, med(tf) * 1e6, med(ratio), diff);
    return 0;
}
