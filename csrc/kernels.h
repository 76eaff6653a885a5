// The hot kernels, one table per instruction set, chosen once at start-up.
// Every pointer below is filled by one kernels_<isa>.cpp, which instantiates
// kernels_impl.h under that ISA's compile flags. Kernels assume valid input:
// lstm.cpp validates everything before calling them. Layouts: see lstm.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lstm_fast {

// bfloat16 weights are stored as the high 16 bits of the float (round to nearest even).
using bf16_t = uint16_t;

// int8 weights (opt-in), quantized per output unit n at load: W[n][k] ≈ scale[n]·w[n][k],
// w in [-127, 127]. Packed like bfloat16 but four consecutive k per 32-bit lane:
// w[((b·Kq + k/4)·NG + q)·4W + 4j + k%4], Kq = ceil(K/4), zero-padded. The rows a matrix
// multiplies are quantized per row and call: x ≈ s·(u - 128), u in [1, 255] (uint8, what
// vpdpbusd multiplies), so Σ_k x[k]·W[n][k] ≈ s·scale[n]·(Σ_k u[k]·w[n][k] - 128·Σ_k w[n][k]);
// wsum128 holds 128·Σ_k w[n][k]. scale and wsum128 are indexed (b·NG + q)·W + j.
struct QMatrix {
    const int8_t* w;
    const float* scale;
    const int32_t* wsum128;
};

// One recurrent step over `nrows` rows: z = (g_rows[r], or bias + W_ih*x_rows[r] when
// g_rows is null: the fused single-step path) + W_hh*h_rows[r]; then the gates.
template <class Wt>
struct StepArgs {
    const float* const* g_rows;  // precomputed input projections (nb*4W per row), or nullptr
    const float* const* x_rows;  // with g_rows == nullptr: the inputs (Kx per row) ...
    int64_t Kx;
    const Wt* w_ih;              // ... their packed weights and the packed bias
    const float* bias;
    const float* const* h_rows;  // h_{t-1} (K = R per row)
    int64_t K;
    const Wt* w_hh;
    float* const* c_rows;        // c, updated in place (nb*W per row)
    float* const* out_rows;      // o*tanh(c) (nb*W per row)
    int64_t nrows;
    bool reverse = false;        // visit the blocks from b1 - 1 down to b0 (same results)
};

// The three weight-streaming kernels, for one weight storage type Wt (float or bf16_t).
// Weights are widened to float in registers; h, c, gates and sums stay float32. Each
// visits its blocks first to last, or last to first with `reverse` (StepArgs::reverse):
// the same results, a different order of reading the weights.
template <class Wt>
struct GemmKernels {
    // g_rows[r][b*4W ...] = bias[b*4W ...] + sum_k x_rows[r][k] * w[(b*K + k)*4W ...]
    // for rows r < nrows and blocks b in [b0, b1).
    void (*input_projection)(const float* const* x_rows, int64_t nrows, int64_t K, const Wt* w,
                             const float* bias, float* const* g_rows, int64_t b0, int64_t b1, bool reverse);

    // One recurrent step for blocks [b0, b1) (see StepArgs): c <- f*c + i*g and
    // out <- o*tanh(c), W units per block.
    void (*lstm_step)(const StepArgs<Wt>& args, int64_t b0, int64_t b1);

    // h_rows[r][b*W ...] = sum_k m_rows[r][k] * w_hr[(b*K + k)*W ...], blocks [b0, b1).
    void (*projection)(const float* const* m_rows, float* const* h_rows, int64_t nrows, int64_t K,
                       const Wt* w_hr, int64_t b0, int64_t b1, bool reverse);
};

// The packed layout of the float and bfloat16 weights (lstm.h), for the packing (lstm.cpp)
// and the kernels alike. A block of W units holds NG gate vectors for each of S slots: a slot
// is one k of float weights (`slot` = W values) or a pair of k of bfloat16 weights (2W
// values). The gates come in groups of G side by side per slot (Kernels::gate_group), group
// after group, each followed by group_pad elements when there is more than one group (two
// slots: 64 bytes on AVX2), so the groups' streams do not start a multiple of 4 KiB apart.
constexpr int64_t group_pad(int64_t G, int64_t NG, int64_t slot) { return G < NG ? 2 * slot : 0; }
// Elements from one block to the next.
constexpr int64_t packed_block_stride(int64_t G, int64_t NG, int64_t S, int64_t slot) {
    return NG / G * (S * G * slot + group_pad(G, NG, slot));
}
// Where gate vector q of slot s starts within its block. With G = NG: (s·NG + q)·slot.
constexpr int64_t packed_gate_offset(int G, int NG, int64_t S, int64_t s, int q, int64_t slot) {
    return (q / G) * (S * G * slot + group_pad(G, NG, slot)) + s * G * slot + (q % G) * slot;
}

// Zero bytes after a packed bfloat16 or int8 matrix: 16 slots (pairs or quads, 64 bytes per
// gate each) of every gate, so that the AMX kernels' 16-slot weight tiles, which read past
// K's last slot (into the next block, or here after the last one) against zero inputs, stay
// inside the buffer (kernels_amx.cpp).
constexpr int64_t packed_tile_slack_bytes(int64_t NG) { return 16 * NG * 64; }

struct Kernels {
    const char* isa;  // "avx512", "avx2" or "generic"
    int64_t width;    // hidden units per packed block (the SIMD width in floats)
    // Gate vectors stored side by side per input in the float and bfloat16 layouts
    // (lstm.h): 4 (all of a block's gates), or 2 on AVX2 (kernels_impl.h, Tile<Avx2>).
    int64_t gate_group;
    GemmKernels<float> f32;
    GemmKernels<bf16_t> bf16;
    // bfloat16 matmul mode: the row inputs (x, h, and m before a projection) are also
    // rounded to bfloat16 (nearest even), products summed in float32. bf16dot_isa says
    // how: "amx_bf16" (AMX tiles, TDPBF16PS, for 8 rows or more; vdpbf16ps below),
    // "avx512_bf16" (vdpbf16ps, two products per lane per instruction) or
    // "emulated" (rows rounded, then the bf16 kernels above: the same numbers up to
    // the order of the float32 sums).
    GemmKernels<bf16_t> bf16dot;
    const char* bf16dot_isa;
    // int8 weights and dynamically quantized rows (see QMatrix), integer dot products:
    // "amx_int8" (AMX tiles, TDPBUSD, with the rules of amx_bf16; vpdpbusd otherwise),
    // "avx512_vnni" (vpdpbusd, four products per lane per instruction) or "emulated"
    // (plain integer loops: the same integers, so the same numbers up to float rounding).
    GemmKernels<QMatrix> int8;
    const char* int8_isa;

    // Vectorized activations, exposed for their accuracy tests.
    void (*sigmoid)(const float* x, float* y, int64_t n);
    void (*tanh)(const float* x, float* y, int64_t n);
};

Kernels make_kernels_generic();
#if defined(LSTM_FAST_HAVE_X86_KERNELS)
Kernels make_kernels_avx2();
Kernels make_kernels_avx512();
// The bfloat16 matmul kernels with AVX512_BF16 (vdpbf16ps), for CPUs that have it.
GemmKernels<bf16_t> make_bf16dot_avx512bf16();
// The same with AMX tiles (TDPBF16PS) for 2 rows or more; `small` (the AVX512_BF16 kernels)
// for one.
// For CPUs with AMX-BF16 whose OS granted the tile state (cpu.cpp).
#if defined(LSTM_FAST_HAVE_AMX)
GemmKernels<bf16_t> make_bf16dot_amx(const GemmKernels<bf16_t>& small);
// The int8 kernels with AMX-INT8 (TDPBUSD) for 2 rows or more, `small` (the VNNI kernels)
// for one.
GemmKernels<QMatrix> make_int8_amx(const GemmKernels<QMatrix>& small);
#endif
// The int8 kernels with AVX512_VNNI (vpdpbusd), for CPUs that have it.
GemmKernels<QMatrix> make_int8_avx512vnni();
// The int8 kernels with AVX512BW's vpmaddubsw, for AVX-512 CPUs without AVX512_VNNI.
GemmKernels<QMatrix> make_int8_avx512bw();
#endif

struct CpuInfo {
    std::string isa;                     // the path in use
    std::string reason;                  // why it was chosen
    std::vector<std::string> compiled;   // ISAs this build carries
    std::vector<std::string> supported;  // ISAs this CPU (and OS) can run
    std::string bf16_matmul;             // Kernels::bf16dot_isa
    std::vector<std::string> bf16_matmul_supported;  // the bf16 matmul paths this CPU can run, best first
    std::string int8_matmul;             // Kernels::int8_isa
    std::vector<std::string> int8_supported;  // the int8 paths this CPU can run, best first
    int64_t l1d_bytes = 0;               // one core's L1 data cache (the OS's figure, or 32 KiB)
    int64_t l2_bytes = 0;                // one core's L2 cache (the OS's figure, or 1 MiB if it has none)
    int64_t l3_bytes = 0;                // the L3 the cores share (the OS's figure, or 4 MiB if it has none)
};

// The kernel table for this process: chosen on first use from the CPU's features,
// or forced by LSTM_FAST_ISA=generic|baseline|avx2|avx512, and its int8 path by
// LSTM_FAST_INT8=amx_int8|avx512_vnni|avx512_bw|avx2|emulated, and its bf16 matmul path by
// LSTM_FAST_BF16_MATMUL=amx_bf16|avx512_bf16|emulated (throws std::runtime_error if the CPU
// cannot run the forced path or the name is unknown).
const Kernels& kernels();
const CpuInfo& cpu_info();

}  // namespace lstm_fast
