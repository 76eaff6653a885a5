// The library's own fp32 step kernel (csrc/kernels_impl.h, compiled here for one ISA), one
// core, no Python: how close a batch step comes to the FMA peak, and what its gates cost.
// docs/performance.md (the Zen 3 section) cites it.
//
//   R rows (the batch), Kx inputs, K = H recurrent inputs, H units: times
//     step   one fused step: bias + W_ih x + W_hh h for every row, then the gates (Kx = 0:
//            the step of a multi-step call, its input projection precomputed)
//     gates  the same step with K = Kx = 0 and precomputed gate rows: the gates alone
//   and prints median and best over the repetitions, GFLOP/s of the step, and the gates'
//   cycles per (row, block of W units) at the clock given (default 2.98 GHz: Zen 3 here, 95.5 GFLOP/s over 32 flops per cycle).
//
//   g++ -O3 -mavx2 -mfma -falign-loops=32 -std=c++17 -Icsrc benchmarks/step_kernel.cpp -o /tmp/step_kernel
//   /tmp/step_kernel 32 128 256          # batch32's step: R=32, Kx=128, H=256
//   /tmp/step_kernel 64 300 256          # batch64bi's first layer
//   (AVX-512: -mavx512f -DSTEP_KERNEL_AVX512. The AMX bf16 matmul step, csrc/kernels_amx.cpp:
//   -mavx512f -mavx512bw -mavx512bf16 -mavx512vnni -mamx-tile -mamx-bf16 -mamx-int8 -DSTEP_KERNEL_AMX; its "gates alone"
//   line is the AVX512_BF16 step with K = 0, the same cell arithmetic.)
#if defined(STEP_KERNEL_AMX)
#include <sys/syscall.h>
#include <unistd.h>
#include "../csrc/kernels_amx.cpp"
#elif defined(STEP_KERNEL_AVX512)
#include "vec_avx512.h"
#else
#include "vec_avx2.h"
#endif
#include "kernels_impl.h"
#include "lstm.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace lstm_fast;
#if defined(STEP_KERNEL_AMX)
using Isa = Avx512Bf16;
using Wt = bf16_t;
#define STEP_FN lstm_step_amx
#elif defined(STEP_KERNEL_AVX512)
using Isa = Avx512;
#else
using Isa = Avx2;
#endif
#if !defined(STEP_KERNEL_AMX)
using Wt = float;
#define STEP_FN lstm_step<Isa, float>
#endif

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <class Fn>
void time_it(const char* what, int reps, const Fn& fn, double* median, double* best) {
    for (int i = 0; i < reps; ++i) fn(i);  // warm up
    std::vector<double> t;
    for (int round = 0; round < 31; ++round) {
        const double t0 = now();
        for (int i = 0; i < reps; ++i) fn(i);
        t.push_back((now() - t0) / reps);
    }
    std::sort(t.begin(), t.end());
    *median = t[t.size() / 2];
    *best = t[0];
    (void)what;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s R Kx H [GHz]\n", argv[0]);
        return 2;
    }
    const int R = std::atoi(argv[1]), Kx = std::atoi(argv[2]), H = std::atoi(argv[3]);
    const double ghz = argc > 4 ? std::atof(argv[4]) : 2.98;
    constexpr int W = Vec<Isa>::W;
    if (R < 1 || Kx < 0 || H < W || H % W) {
        std::fprintf(stderr, "need R >= 1, Kx >= 0, H a multiple of %d\n", W);
        return 2;
    }
    const int nb = H / W, K = H;
    // Packed weights: only their size matters for timing (values small, no denormals).
#if defined(STEP_KERNEL_AMX)
    syscall(SYS_arch_prctl, 0x1023, 18);  // the tile state (cpu.cpp)
    make_bf16dot_amx(make_bf16dot<Isa>());  // as the library on Sapphire Rapids
    const Wt w0 = 0x3c24;  // bfloat16 0.01
    const size_t slack = size_t(packed_tile_slack_bytes(4)) / sizeof(Wt);
#else
    const Wt w0 = 0.01f;
    const size_t slack = 0;
#endif
    // 64-byte aligned, as the library's AlignedBuffer (a misaligned AMX weight tile, each row
    // split over two cache lines, ran 2.5x slower).
    AlignedBuffer<Wt> wih(size_t(nb) * std::max(Kx, 1) * 4 * W + slack), whh(size_t(nb) * K * 4 * W + slack);
    std::fill(wih.data(), wih.data() + wih.size(), w0);
    std::fill(whh.data(), whh.data() + whh.size(), w0);
    std::vector<float> bias(4 * H, 0.0f), xs(size_t(R) * (Kx + 16), 0.1f), hs(size_t(R) * (K + 16), 0.1f), cs(size_t(R) * H, 0.0f),
        os(size_t(R) * H), gs(size_t(R) * 4 * H, 0.1f);
    std::vector<const float*> x(R), h(R), g(R);
    std::vector<float*> c(R), o(R);
    for (int r = 0; r < R; ++r) {
        x[r] = xs.data() + size_t(r) * (Kx + 16);
        h[r] = hs.data() + size_t(r) * (K + 16);
        c[r] = cs.data() + size_t(r) * H;
        o[r] = os.data() + size_t(r) * H;
        g[r] = gs.data() + size_t(r) * 4 * H;
    }
    // Kx = 0: the step as a multi-step call runs it, its input projection precomputed.
    StepArgs<Wt> step{Kx ? nullptr : g.data(), x.data(), Kx, wih.data(), bias.data(), h.data(), K, whh.data(),
                         c.data(), o.data(), R};
    StepArgs<Wt> gates{g.data(), nullptr, 0, nullptr, nullptr, h.data(), 0, whh.data(), c.data(), o.data(), R};
    const double flops = 2.0 * R * (Kx + K) * 4.0 * H;
    const int reps = std::max(1, int(2e7 / flops));
    double med, best, gmed, gbest;
    time_it("step", reps, [&](int i) { step.reverse = i & 1; STEP_FN(step, 0, nb); }, &med, &best);
    time_it("gates", std::max(reps, 50), [&](int) { STEP_FN(gates, 0, nb); }, &gmed, &gbest);
    std::printf("%s R=%d Kx=%d H=%d: step median %.1f us (%.1f GFLOP/s), best %.1f us (%.1f GFLOP/s); "
                "gates alone median %.1f us = %.0f cycles per row and block of %d units at %.2f GHz (%.0f%% of the step)\n",
                std::is_same_v<Wt, bf16_t> ? "amx_bf16" : Vec<Isa>::W == 8 ? "avx2" : "avx512", R, Kx, H, med * 1e6, flops / med / 1e9, best * 1e6,
                flops / best / 1e9, gmed * 1e6, gmed * ghz * 1e9 / (double(R) * nb), W, ghz, 100.0 * gmed / med);
    return 0;
}
