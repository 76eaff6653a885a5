// The kernel bodies, written once against Vec<Isa> and instantiated per ISA by
// kernels_<isa>.cpp. Everything is in an anonymous namespace (internal linkage), so
// each ISA's translation unit keeps its own copy and nothing compiled with AVX flags
// can leak into another path; only make_kernels_<isa>() is exported.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>

#include "kernels.h"

namespace lstm_fast {
namespace {

// ---------------------------------------------------------------------------------
// Activations.
//
// exp: Cephes expf (S. L. Moshier): x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two
// so n·ln2 is exact), e^r by a degree-7 polynomial, then scaled by 2^n through the
// exponent bits. Inputs are clamped to [-87.3, 88.3] so 2^n stays a normal float.
// sigmoid(x) = 1 / (1 + e^-x), one correctly rounded division.
// tanh: |x| < 0.625 uses Cephes tanhf's odd minimax polynomial (relative error ~1e-7,
// no cancellation near 0); elsewhere tanh|x| = 1 - 2 / (e^{2|x|} + 1), then the sign.
// Measured against float64 on a dense grid (tests/test_kernels.py): max absolute
// error 0.9e-7 (sigmoid) and 0.7e-7 (tanh) on every path, within the 2e-7 budget of the
// core issue.
template <class Isa>
struct Act {
    using V = Vec<Isa>;
    using T = typename V::T;

    static T exp(T x) {
        x = V::min(V::max(x, V::set1(-87.3f)), V::set1(88.3f));
        T n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
        T r = V::fma(n, V::set1(-0.693359375f), x);
        r = V::fma(n, V::set1(2.12194440e-4f), r);
        T p = V::set1(1.9875691500e-4f);
        p = V::fma(p, r, V::set1(1.3981999507e-3f));
        p = V::fma(p, r, V::set1(8.3334519073e-3f));
        p = V::fma(p, r, V::set1(4.1665795894e-2f));
        p = V::fma(p, r, V::set1(1.6666665459e-1f));
        p = V::fma(p, r, V::set1(5.0000001201e-1f));
        T y = V::fma(p, V::mul(r, r), V::add(r, V::set1(1.0f)));
        return V::scale2(y, n);
    }

    static T sigmoid(T x) {
        const T one = V::set1(1.0f);
        return V::div(one, V::add(one, exp(V::sub(V::set1(0.0f), x))));
    }

    static T tanh(T x) {
        const T one = V::set1(1.0f);
        T a = V::abs(x);
        T e = exp(V::add(a, a));
        T big = V::sub(one, V::div(V::set1(2.0f), V::add(e, one)));
        T z = V::mul(x, x);
        T p = V::set1(-5.70498872745e-3f);
        p = V::fma(p, z, V::set1(2.06390887954e-2f));
        p = V::fma(p, z, V::set1(-5.37397155531e-2f));
        p = V::fma(p, z, V::set1(1.33314422036e-1f));
        p = V::fma(p, z, V::set1(-3.33332819422e-1f));
        T small = V::fma(V::mul(p, z), x, x);
        return V::select(V::lt(a, V::set1(0.625f)), small, V::copysign(big, x));
    }
};

template <class Isa, int Which>
void activation(const float* x, float* y, int64_t n) {
    using V = Vec<Isa>;
    constexpr int W = V::W;
    auto f = [](typename V::T v) { return Which == 0 ? Act<Isa>::sigmoid(v) : Act<Isa>::tanh(v); };
    int64_t i = 0;
    for (; i + W <= n; i += W) V::store(y + i, f(V::load(x + i)));
    if (i < n) {
        float in[W] = {}, out[W];
        for (int64_t j = i; j < n; ++j) in[j - i] = x[j];
        V::store(out, f(V::load(in)));
        for (int64_t j = i; j < n; ++j) y[j] = out[j - i];
    }
}

// ---------------------------------------------------------------------------------
// Register tiles per ISA: MR rows per tile; KS independent accumulator sets for a
// single row (see accumulate). AVX-512 has 32 vector registers, AVX2 16.
template <class Isa>
struct Tile;
template <>
struct Tile<Generic> {
    static constexpr int MR = 2, KS = 2, MR_BF16 = 2, MR_INT8 = 2, kGateGroup = 4;
    static constexpr bool kGateHalves = false, kPairedGates = false;
};
template <>
struct Tile<Avx2> {
    // 16 registers hold no MR x 4-gate tile beyond MR = 2 (8 accumulators + 4 weights +
    // a broadcast: 6 loads per 8 FMAs, each weight reused by 2 rows). Instead fp32 tiles
    // of 6 rows go through K twice, two gate vectors at a time (see accumulate): 12
    // accumulators + 2 weights + 1 broadcast, 8 loads per 12 FMAs, each weight reused by
    // 6 rows. Measured on Zen 3 (A/B, 1 thread): (32,64,128,256) 1.26-1.40x, (4,32,64,64)
    // 1.25x; batch 1 (one row per step; the T rows of its input projection) within noise.
    // bfloat16 weights: the same two passes with 4-row tiles, A/B on Zen 3 1.07-1.32x
    // ((32,64,128,256), (4,32,64,64), (1,32,128,128), (1,128,128,256)).
    // int8 (vec_avx2.h): 2 rows x 4 gates = 8 int32 accumulators + 2 x 2 row registers.
    // kPairedGates: batch 1 evaluates the gates of two blocks interleaved (step_one_row_paired).
    // A/B on Zen 3, 1 thread: (1,16,64,64) 1.11x, (1,32,128,128) 1.08x, (1,128,128,256) 1.06x,
    // int8 (1,16,64,64) 1.19x, (1,64,64,32) 1.18x; 2 threads: small 1.10x, medium 1.14x, stream
    // 1.24x, bidir2 1.06x, tiny 0.95x (its bimodal row). On AVX-512 it loses (A/B on Zen 4,
    // 1 thread: tiny 0.92x, small 0.93x, medium 0.97x, one step 0.97x, int8 tiny 0.91x, the
    // rest within noise): off there.
    // kGateGroup = 2: a block's weights are stored as two halves, gates (i, f) for every k
    // and then (g, o) (gate_offset), so each pass over K reads one contiguous stream rather
    // than every other cache line. Batch 1 reads the two halves as two streams. A/B on Zen 3
    // with the loop alignment of CMakeLists.txt, 1 thread: (1,128,256,512) 1.20x, (1,64,300,
    // 256,2,bi) 1.23x, (1,128,128,256) 1.07x, one step H=256 1.08x, (32,64,128,256) 1.05x;
    // 2 threads: bidir2 1.16x, large 1.07x, batch32 1.06x, (4,32,64,64) 1.00x. Tiny and small
    // (weights in L2) first measured 0.93-1.05x: their two halves sat a multiple of 4 KiB
    // apart (same L1 sets), which group_pad (one cache line after each half) removed. With
    // it, A/B against the unpadded halves, 1 thread: tiny 1.14-1.17x, small 1.07x, medium
    // 1.11x, large 1.07x, one step 1.06-1.08x, batch32 1.03x; 2 threads small 1.07x, the
    // rest within noise; against the old interleaved layout tiny 1.00-1.02x, small 1.07-1.09x,
    // bidir2 1.22x. Unmeasured on AVX-512, where a block is one group (no pad).
    static constexpr int MR = 6, KS = 2, MR_BF16 = 4, MR_INT8 = 2, kGateGroup = 2;
    static constexpr bool kGateHalves = true, kPairedGates = true;
};
template <>
struct Tile<Avx512> {
    // 6 rows x 4 gates = 24 accumulators + 4 weights + 1 broadcast = 29 registers:
    // 10 loads per 24 FMAs. MR = 4 (8 loads per 16 FMAs) measured ~1.5x slower.
    static constexpr int MR = 6, KS = 4, MR_BF16 = 4, MR_INT8 = 6, kGateGroup = 4;
    static constexpr bool kGateHalves = false, kPairedGates = false;
};
template <>
struct Tile<Avx512Bf16> : Tile<Avx512> {};
template <>
struct Tile<Avx512Vnni> : Tile<Avx512> {};
template <>
struct Tile<Avx512Bw> : Tile<Avx512> {
    static constexpr int MR_INT8 = 4;  // see Vec<Avx512Bw>::int8_accumulate
};

// packed_gate_offset (kernels.h) for this ISA's gate groups, with G and NG known at compile
// time. int8 blocks keep one group (their own quad layout).
template <class Isa>
constexpr int gate_group(int NG) {
    return NG < Tile<Isa>::kGateGroup ? NG : Tile<Isa>::kGateGroup;
}
template <class Isa, int NG>
inline int64_t gate_offset(int64_t S, int64_t s, int q, int64_t slot) {
    constexpr int G = gate_group<Isa>(NG);
    return packed_gate_offset(G, NG, S, s, q, slot);
}

// int8 operands (see QMatrix in kernels.h). A row quantized for one call: x ≈ s·(u - 128),
// u padded to whole quads with 128 (zero). A QBlock is block b of a QMatrix.
struct QRow {
    const uint8_t* u;
    float s;
};
struct QBlock {
    const int8_t* w;
    const float* scale;
    const int32_t* wsum128;
};
template <class Isa>
constexpr bool kHasVnni = std::is_same_v<Isa, Avx512Vnni>;
// Paths with vector int8 dot products: vpdpbusd (AVX512_VNNI), or vpmaddubsw on signed rows
// (AVX2: vec_avx2.h; AVX512BW: vec_avx512bw.h). Elsewhere plain integer loops.
template <class Isa>
constexpr bool kHasInt8Dot = kHasVnni<Isa> || std::is_same_v<Isa, Avx512Bw> || std::is_same_v<Isa, Avx2>;

// Register-blocked dot products against one packed block.
//
// acc[r][q] += sum_k rows[r][k] * w[gate_offset(K, k, q, W) ...]  for MR rows and NG gate
// vectors.
// Each weight vector is loaded once per k and reused by the MR rows; MR*NG
// accumulators stay in registers (AVX-512: 6*4 = 24 of 32, AVX2: 2*4 = 8 of 16).
// bfloat16 weights (see lstm.h for the pair layout): one load gives the weights of two
// consecutive k, widened by a shift and a mask (two 1-cycle ops, no shuffles).
// Zero-extending 16-bit loads (vpmovzxwd, a shuffle on Zen 4) measured no faster than
// float32 at batch 1; the pair layout halves the bytes per FMA at ALU cost only.
template <class Isa, int MR, int NG>
inline void accumulate(typename Vec<Isa>::T (&acc)[MR][NG], const float* const* rows, int64_t K, const bf16_t* w) {
    using V = Vec<Isa>;
    using T = typename V::T;
    constexpr int W = V::W;
    const int64_t pairs = K / 2, S = (K + 1) / 2;  // whole pairs; slots, the odd k's included
    if constexpr (MR == 1) {
        // Batch 1: separate accumulators for the two halves of a pair break the FMA chain.
        T part[NG];
        for (int q = 0; q < NG; ++q) part[q] = V::set1(0.0f);
        const float* x = rows[0];
        for (int64_t p = 0; p < pairs; ++p) {
            const T x0 = V::set1(x[2 * p]), x1 = V::set1(x[2 * p + 1]);
            for (int q = 0; q < NG; ++q) {
                T lo, hi;
                V::widen_pairs(w + gate_offset<Isa, NG>(S, p, q, 2 * W), lo, hi);
                acc[0][q] = V::fma(lo, x0, acc[0][q]);
                part[q] = V::fma(hi, x1, part[q]);
            }
        }
        for (int q = 0; q < NG; ++q) acc[0][q] = V::add(acc[0][q], part[q]);
    } else if constexpr (Tile<Isa>::kGateHalves && NG == 4 && MR > 2) {
        // As for float32 weights (see Tile<Avx2>): two passes, two gate vectors each. MR = 4:
        // 8 accumulators + 2 widened pairs (4 registers) + a row's 2 broadcasts.
        for (int half = 0; half < NG; half += 2) {
            T a[MR][2];
            for (int r = 0; r < MR; ++r) {
                a[r][0] = acc[r][half];
                a[r][1] = acc[r][half + 1];
            }
            for (int64_t p = 0; p < pairs; ++p) {
                T lo0, hi0, lo1, hi1;
                V::widen_pairs(w + gate_offset<Isa, NG>(S, p, half, 2 * W), lo0, hi0);
                V::widen_pairs(w + gate_offset<Isa, NG>(S, p, half + 1, 2 * W), lo1, hi1);
                for (int r = 0; r < MR; ++r) {
                    const T x0 = V::set1(rows[r][2 * p]), x1 = V::set1(rows[r][2 * p + 1]);
                    a[r][0] = V::fma(hi0, x1, V::fma(lo0, x0, a[r][0]));
                    a[r][1] = V::fma(hi1, x1, V::fma(lo1, x0, a[r][1]));
                }
            }
            for (int r = 0; r < MR; ++r) {
                acc[r][half] = a[r][0];
                acc[r][half + 1] = a[r][1];
            }
        }
    } else {
        for (int64_t p = 0; p < pairs; ++p) {
            T x0[MR], x1[MR];
            for (int r = 0; r < MR; ++r) {
                x0[r] = V::set1(rows[r][2 * p]);
                x1[r] = V::set1(rows[r][2 * p + 1]);
            }
            for (int q = 0; q < NG; ++q) {
                T lo, hi;
                V::widen_pairs(w + gate_offset<Isa, NG>(S, p, q, 2 * W), lo, hi);
                for (int r = 0; r < MR; ++r) acc[r][q] = V::fma(hi, x1[r], V::fma(lo, x0[r], acc[r][q]));
            }
        }
    }
    if (K % 2) {  // odd K: the last pair holds one real k (its partner's weights are zero)
        for (int q = 0; q < NG; ++q) {
            T lo, hi;
            V::widen_pairs(w + gate_offset<Isa, NG>(S, pairs, q, 2 * W), lo, hi);
            for (int r = 0; r < MR; ++r) acc[r][q] = V::fma(lo, V::set1(rows[r][K - 1]), acc[r][q]);
        }
    }
}

template <class Isa, int MR, int NG>
inline void accumulate(typename Vec<Isa>::T (&acc)[MR][NG], const float* const* rows, int64_t K, const float* w) {
    using V = Vec<Isa>;
    constexpr int W = V::W;
    constexpr int KS = Tile<Isa>::KS;
    if constexpr (MR == 1 && KS > 1) {
        // One row (batch 1): a single set of NG accumulators is a chain of dependent FMAs,
        // one k per FMA latency (4 cycles). KS sets over interleaved k keep KS*NG FMAs in
        // flight. This matters when the weights sit in L1 (small H); from H = 64 up the
        // step is L2-bandwidth bound and the split measured neutral (1, 128, 1, 64..256).
        typename V::T part[KS][NG];
        for (int q = 0; q < NG; ++q) part[0][q] = acc[0][q];
        for (int u = 1; u < KS; ++u)
            for (int q = 0; q < NG; ++q) part[u][q] = V::set1(0.0f);
        const float* x = rows[0];
        int64_t k = 0;
        for (; k + KS <= K; k += KS)
            for (int u = 0; u < KS; ++u) {
                typename V::T xb = V::set1(x[k + u]);
                for (int q = 0; q < NG; ++q)
                    part[u][q] = V::fma(V::load(w + gate_offset<Isa, NG>(K, k + u, q, W)), xb, part[u][q]);
            }
        for (; k < K; ++k) {
            typename V::T xb = V::set1(x[k]);
            for (int q = 0; q < NG; ++q)
                part[0][q] = V::fma(V::load(w + gate_offset<Isa, NG>(K, k, q, W)), xb, part[0][q]);
        }
        for (int u = 1; u < KS; ++u)
            for (int q = 0; q < NG; ++q) part[0][q] = V::add(part[0][q], part[u][q]);
        for (int q = 0; q < NG; ++q) acc[0][q] = part[0][q];
        return;
    }
    if constexpr (Tile<Isa>::kGateHalves && NG == 4 && MR > 2) {
        // Two passes over K, gate vectors {0, 1} then {2, 3} (see Tile<Avx2>); each pass
        // reads one half of the block, stored contiguously (kGateGroup = 2).
        for (int half = 0; half < NG; half += 2) {
            typename V::T a[MR][2];
            for (int r = 0; r < MR; ++r) {
                a[r][0] = acc[r][half];
                a[r][1] = acc[r][half + 1];
            }
            for (int64_t k = 0; k < K; ++k) {
                const typename V::T w0 = V::load(w + gate_offset<Isa, NG>(K, k, half, W)),
                                    w1 = V::load(w + gate_offset<Isa, NG>(K, k, half + 1, W));
                for (int r = 0; r < MR; ++r) {
                    const typename V::T xb = V::set1(rows[r][k]);
                    a[r][0] = V::fma(w0, xb, a[r][0]);
                    a[r][1] = V::fma(w1, xb, a[r][1]);
                }
            }
            for (int r = 0; r < MR; ++r) {
                acc[r][half] = a[r][0];
                acc[r][half + 1] = a[r][1];
            }
        }
        return;
    }
    for (int64_t k = 0; k < K; ++k) {
        typename V::T wq[NG];
        for (int q = 0; q < NG; ++q) wq[q] = V::load(w + gate_offset<Isa, NG>(K, k, q, W));
        for (int r = 0; r < MR; ++r) {
            typename V::T xb = V::set1(rows[r][k]);
            for (int q = 0; q < NG; ++q) acc[r][q] = V::fma(wq[q], xb, acc[r][q]);
        }
    }
}

// bfloat16 matmul mode with AVX512_BF16: rows are bfloat16 too (K padded with a zero
// to whole pairs). One vdpbf16ps adds, per lane, w[2p]*x[2p] + w[2p+1]*x[2p+1] for a
// broadcast input pair against one vector of the packed weight pairs (the same pair
// layout as above, no widening): 32 multiply-adds per instruction against 16 for an
// fp32 FMA, measured 1 per cycle on Zen 4 like the FMA (benchmarks/README.md).
template <class Isa, int MR, int NG>
inline void accumulate(typename Vec<Isa>::T (&acc)[MR][NG], const bf16_t* const* rows, int64_t K, const bf16_t* w) {
    using V = Vec<Isa>;
    using T = typename V::T;
    using P = typename V::Pairs;
    constexpr int W = V::W;
    const int64_t pairs = (K + 1) / 2;
    if constexpr (MR == 1) {
        // Batch 1: KS accumulator sets over interleaved pairs hide the 6-cycle latency.
        constexpr int KS = Tile<Isa>::KS;
        T part[KS][NG];
        for (int q = 0; q < NG; ++q) part[0][q] = acc[0][q];
        for (int u = 1; u < KS; ++u)
            for (int q = 0; q < NG; ++q) part[u][q] = V::set1(0.0f);
        const bf16_t* x = rows[0];
        int64_t p = 0;
        for (; p + KS <= pairs; p += KS)
            for (int u = 0; u < KS; ++u) {
                const P xb = V::broadcast_pair(x + 2 * (p + u));
                for (int q = 0; q < NG; ++q)
                    part[u][q] = V::dot_pairs_at(part[u][q], w + gate_offset<Isa, NG>(pairs, p + u, q, 2 * W), xb);
            }
        for (; p < pairs; ++p) {
            const P xb = V::broadcast_pair(x + 2 * p);
            for (int q = 0; q < NG; ++q)
                part[0][q] = V::dot_pairs_at(part[0][q], w + gate_offset<Isa, NG>(pairs, p, q, 2 * W), xb);
        }
        for (int u = 1; u < KS; ++u)
            for (int q = 0; q < NG; ++q) part[0][q] = V::add(part[0][q], part[u][q]);
        for (int q = 0; q < NG; ++q) acc[0][q] = part[0][q];
    } else {
        for (int64_t p = 0; p < pairs; ++p) {
            P wq[NG];
            for (int q = 0; q < NG; ++q) wq[q] = V::load_pairs(w + gate_offset<Isa, NG>(pairs, p, q, 2 * W));
            for (int r = 0; r < MR; ++r) {
                const P xb = V::broadcast_pair(rows[r] + 2 * p);
                for (int q = 0; q < NG; ++q) acc[r][q] = V::dot_pairs(acc[r][q], wq[q], xb);
            }
        }
    }
}

// int8: integer dot products per (row, gate vector), then one float multiply-add per
// output: acc += float(Σ u·w - 128·Σw) · (s_row · scale_unit). With AVX512_VNNI one
// vpdpbusd adds four u8·s8 products per lane (64 per instruction); elsewhere plain
// integer loops give the same integers.
template <class Isa, int MR, int NG>
inline void accumulate(typename Vec<Isa>::T (&acc)[MR][NG], const QRow* const* rows, int64_t K, QBlock w) {
    using V = Vec<Isa>;
    constexpr int W = V::W;
    const int64_t quads = (K + 3) / 4;
    if constexpr (kHasInt8Dot<Isa>) {
        V::template int8_accumulate<MR, NG>(acc, rows, quads, w.w, w.wsum128, w.scale);
    } else {
        int32_t dot[MR][NG][W];
        for (int r = 0; r < MR; ++r)
            for (int q = 0; q < NG; ++q)
                for (int j = 0; j < W; ++j) dot[r][q][j] = -w.wsum128[q * W + j];
        for (int64_t p = 0; p < quads; ++p)
            for (int q = 0; q < NG; ++q) {
                const int8_t* wq = w.w + (p * NG + q) * 4 * W;
                for (int r = 0; r < MR; ++r) {
                    const uint8_t* u = rows[r]->u + 4 * p;
                    for (int j = 0; j < W; ++j)
                        dot[r][q][j] += int32_t(u[0]) * wq[4 * j] + int32_t(u[1]) * wq[4 * j + 1] +
                                        int32_t(u[2]) * wq[4 * j + 2] + int32_t(u[3]) * wq[4 * j + 3];
                }
            }
        for (int r = 0; r < MR; ++r) {
            const typename V::T s = V::set1(rows[r]->s);
            for (int q = 0; q < NG; ++q)
                acc[r][q] = V::fma(V::load_i32(dot[r][q]), V::mul(s, V::load(w.scale + q * W)), acc[r][q]);
        }
    }
}

// Rows per tile for a weight type: the bfloat16 kernels also hold two broadcasts per
// row and the widened pair, so AVX-512 drops to 4 rows (16 + 8 + 2 registers).
// With bfloat16 rows (vdpbf16ps) nothing is widened: the fp32 tile again.
template <class Isa, class Wt, class Rt = float>
constexpr int tile_rows() {
    if constexpr (std::is_same_v<Rt, QRow>) return Tile<Isa>::MR_INT8;
    return std::is_same_v<Wt, float> || std::is_same_v<Rt, bf16_t> ? Tile<Isa>::MR : Tile<Isa>::MR_BF16;
}

// Where block b (NG gate vectors of W units) of a packed matrix starts (kernels.h's
// layout; bfloat16 blocks pad K to whole pairs).
template <class Isa>
inline const float* block_of(const float* w, int64_t b, int64_t K, int NG) {
    return w + b * packed_block_stride(gate_group<Isa>(NG), NG, K, Vec<Isa>::W);
}
template <class Isa>
inline const bf16_t* block_of(const bf16_t* w, int64_t b, int64_t K, int NG) {
    return w + b * packed_block_stride(gate_group<Isa>(NG), NG, (K + 1) / 2, 2 * Vec<Isa>::W);
}
template <class Isa>
inline QBlock block_of(const QMatrix* m, int64_t b, int64_t K, int NG) {
    constexpr int W = Vec<Isa>::W;
    return {m->w + b * ((K + 3) / 4) * NG * 4 * W, m->scale + b * NG * W, m->wsum128 + b * NG * W};
}

// body.run<M>(r0) for the runtime M <= MR.
template <int MR, class Body>
inline void run_tile(int64_t M, int64_t r0, const Body& body) {
    if constexpr (MR > 1) {
        if (M < MR) return run_tile<MR - 1>(M, r0, body);
    }
    body.template run<MR>(r0);
}

// Calls body.run<M>(r0) over rows [r0, nrows) in tiles of at most MR rows: MR each and a
// smaller remainder, or with Balanced the same number of tiles of sizes differing by at most
// one (32 rows, MR = 6: 6, 6, 5, 5, 5, 5 rather than 6 × 5 + 2; a 2-row tile reads a block's
// weights as often as a 6-row one for a third of the work). Balanced for float32 weights,
// A/B on Sapphire Rapids, 1 thread: (32,64,128,256) 1.035x, (8,32,128,256) 1.10x, (16,32,128,
// 256) 1.02x, batch 1 and (64,128,300,256,2,bi) 1.00-1.02x; for int8 (VNNI, 6-row tiles)
// (32,64,128,256) 0.95x, and on the AVX2 path (its two-pass tiles, same machine) 0.96-0.99x:
// not there. Unmeasured on Zen 4.
template <class Isa, class Wt>
constexpr bool kBalancedTiles = std::is_same_v<Wt, float> && !Tile<Isa>::kGateHalves;
template <int MR, bool Balanced = false, class Body>
inline void for_row_tiles(int64_t r0, int64_t nrows, const Body& body) {
    if constexpr (!Balanced) {
        for (; r0 + MR <= nrows; r0 += MR) body.template run<MR>(r0);
        if (r0 < nrows) run_tile<MR>(nrows - r0, r0, body);
        return;
    }
    const int64_t n = nrows - r0;
    if (n <= 0) return;
    const int64_t tiles = (n + MR - 1) / MR, base = n / tiles, extra = n % tiles;
    for (int64_t t = 0; t < tiles; ++t) {
        const int64_t M = base + (t < extra ? 1 : 0);
        run_tile<MR>(M, r0, body);
        r0 += M;
    }
}

template <class Isa, class Wt, class Rt = float>
struct InputProjection {
    const Rt* const* x_rows;
    float* const* g_rows;
    int64_t K;
    const Wt* w;
    const float* bias;
    int64_t b;


    template <int MR>
    void run(int64_t r0) const {
        using V = Vec<Isa>;
        constexpr int W = V::W;
        typename V::T acc[MR][4];
        for (int r = 0; r < MR; ++r)
            for (int q = 0; q < 4; ++q) acc[r][q] = V::load(bias + b * 4 * W + q * W);
        accumulate<Isa, MR, 4>(acc, x_rows + r0, K, block_of<Isa>(w, b, K, 4));
        for (int r = 0; r < MR; ++r)
            for (int q = 0; q < 4; ++q) V::store(g_rows[r0 + r] + b * 4 * W + q * W, acc[r][q]);
    }
};

// The cell update from the four gate pre-activations (for any Vec, Paired included):
// c <- f*c + i*g; returns h = o*tanh(c).
template <class Ix>
inline typename Vec<Ix>::T lstm_cell(typename Vec<Ix>::T zi, typename Vec<Ix>::T zf, typename Vec<Ix>::T zg,
                                     typename Vec<Ix>::T zo, typename Vec<Ix>::T& c) {
    using V = Vec<Ix>;
    using A = Act<Ix>;
    const typename V::T i = A::sigmoid(zi), f = A::sigmoid(zf), g = A::tanh(zg), o = A::sigmoid(zo);
    c = V::fma(f, c, V::mul(i, g));
    return V::mul(o, A::tanh(c));
}

template <class Isa, class Wt, class Rt = float>
struct Step {
    const StepArgs<Wt>& a;
    const Rt* const* x_rows;  // a.x_rows, or those rows in bfloat16 (matmul mode)
    const Rt* const* h_rows;  // a.h_rows, likewise
    int64_t b;

    using T = typename Vec<Isa>::T;

    // The four gate pre-activations of rows [r0, r0 + MR) for this block's W units.
    template <int MR>
    void sums(T (&acc)[MR][4], int64_t r0) const {
        using V = Vec<Isa>;
        constexpr int W = V::W;
        if (a.g_rows) {
            for (int r = 0; r < MR; ++r)
                for (int q = 0; q < 4; ++q) acc[r][q] = V::load(a.g_rows[r0 + r] + b * 4 * W + q * W);
        } else {
            // Single-step calls (streaming): the input projection joins the same pass,
            // with no gate buffer and no barrier between the two products.
            for (int r = 0; r < MR; ++r)
                for (int q = 0; q < 4; ++q) acc[r][q] = V::load(a.bias + b * 4 * W + q * W);
            accumulate<Isa, MR, 4>(acc, x_rows + r0, a.Kx, block_of<Isa>(a.w_ih, b, a.Kx, 4));
        }
        accumulate<Isa, MR, 4>(acc, h_rows + r0, a.K, block_of<Isa>(a.w_hh, b, a.K, 4));
    }

    template <int MR>
    void run(int64_t r0) const {
        using V = Vec<Isa>;
        constexpr int W = V::W;
        T acc[MR][4];
        sums<MR>(acc, r0);
        // Fused gates: the four pre-activations of these W units are in registers.
        for (int r = 0; r < MR; ++r) {
            float* cp = a.c_rows[r0 + r] + b * W;
            T c = V::load(cp);
            const T h = lstm_cell<Isa>(acc[r][0], acc[r][1], acc[r][2], acc[r][3], c);
            V::store(cp, c);
            V::store(a.out_rows[r0 + r] + b * W, h);
        }
    }
};

// Two vectors as one (each operation on both): Act<Paired<Isa>> evaluates the gates of
// two blocks with their instructions interleaved, so the two dependency chains overlap.
template <class Isa>
struct Paired {};
template <class Isa>
struct Vec<Paired<Isa>> {
    using B = Vec<Isa>;
    struct T {
        typename B::T a, b;
    };
    struct M {  // a comparison's result per half: a vector (AVX2) or a k-mask (AVX-512)
        typename B::M a, b;
    };
    static T set1(float v) { return {B::set1(v), B::set1(v)}; }
#define LSTM_FAST_PAIR1(name) \
    static T name(T x) { return {B::name(x.a), B::name(x.b)}; }
#define LSTM_FAST_PAIR2(name) \
    static T name(T x, T y) { return {B::name(x.a, y.a), B::name(x.b, y.b)}; }
    LSTM_FAST_PAIR1(abs)
    LSTM_FAST_PAIR1(round)
    LSTM_FAST_PAIR1(pow2)
    LSTM_FAST_PAIR2(add)
    LSTM_FAST_PAIR2(sub)
    LSTM_FAST_PAIR2(mul)
    LSTM_FAST_PAIR2(div)
    LSTM_FAST_PAIR2(min)
    LSTM_FAST_PAIR2(max)
    LSTM_FAST_PAIR2(scale2)
    LSTM_FAST_PAIR2(copysign)
#undef LSTM_FAST_PAIR1
#undef LSTM_FAST_PAIR2
    static M lt(T x, T y) { return {B::lt(x.a, y.a), B::lt(x.b, y.b)}; }
    static T fma(T x, T y, T z) { return {B::fma(x.a, y.a, z.a), B::fma(x.b, y.b, z.b)}; }
    static T select(M m, T x, T y) { return {B::select(m.a, x.a, y.a), B::select(m.b, x.b, y.b)}; }
};

// One row (batch 1), blocks b and b2: each block's sums as Step::run computes them, then
// the gates of both blocks interleaved (Tile<Isa>::kPairedGates). The same operations per
// lane as two Step::run calls, so the same bits.
template <class Isa, class Wt, class Rt>
void step_block_pair(const Step<Isa, Wt, Rt>& first, const Step<Isa, Wt, Rt>& second) {
    using V = Vec<Isa>;
    using T = typename V::T;
    using PT = typename Vec<Paired<Isa>>::T;
    constexpr int W = V::W;
    T x[1][4], y[1][4];
    first.template sums<1>(x, 0);
    second.template sums<1>(y, 0);
    const StepArgs<Wt>& a = first.a;
    float* c0 = a.c_rows[0] + first.b * W;
    float* c1 = a.c_rows[0] + second.b * W;
    PT c{V::load(c0), V::load(c1)};
    const PT h = lstm_cell<Paired<Isa>>(PT{x[0][0], y[0][0]}, PT{x[0][1], y[0][1]}, PT{x[0][2], y[0][2]},
                                        PT{x[0][3], y[0][3]}, c);
    V::store(c0, c.a);
    V::store(c1, c.b);
    V::store(a.out_rows[0] + first.b * W, h.a);
    V::store(a.out_rows[0] + second.b * W, h.b);
}

// A step over blocks [b0, b1) of one row, in pairs (in the order for_blocks would visit them).
template <class Isa, class Wt, class Rt>
void step_one_row_paired(const StepArgs<Wt>& args, const Rt* const* x, const Rt* const* h, int64_t b0, int64_t b1) {
    const int64_t n = b1 - b0;
    for (int64_t i = 0; i + 1 < n; i += 2) {
        const int64_t p = args.reverse ? b1 - 1 - i : b0 + i, q = args.reverse ? p - 1 : p + 1;
        step_block_pair(Step<Isa, Wt, Rt>{args, x, h, p}, Step<Isa, Wt, Rt>{args, x, h, q});
    }
    if (n % 2) Step<Isa, Wt, Rt>{args, x, h, args.reverse ? b0 : b1 - 1}.template run<1>(0);
}

template <class Isa, class Wt, class Rt = float>
struct Projection {
    const Rt* const* m_rows;
    float* const* h_rows;
    int64_t K;
    const Wt* w;
    int64_t b;


    template <int MR>
    void run(int64_t r0) const {
        using V = Vec<Isa>;
        constexpr int W = V::W;
        typename V::T acc[MR][1];
        for (int r = 0; r < MR; ++r) acc[r][0] = V::set1(0.0f);
        accumulate<Isa, MR, 1>(acc, m_rows + r0, K, block_of<Isa>(w, b, K, 1));
        for (int r = 0; r < MR; ++r) V::store(h_rows[r0 + r] + b * W, acc[r][0]);
    }
};

// Calls fn(b) for the blocks [b0, b1), last to first if `reverse`. The driver alternates
// the order from one pass over a matrix to the next (lstm.cpp: the blocks a pass read
// last are the ones still in cache); blocks are independent, so the results are the same.
template <class Fn>
inline void for_blocks(int64_t b0, int64_t b1, bool reverse, const Fn& fn) {
    if (reverse)
        for (int64_t b = b1 - 1; b >= b0; --b) fn(b);
    else
        for (int64_t b = b0; b < b1; ++b) fn(b);
}

template <class Isa, class Wt>
void input_projection(const float* const* x_rows, int64_t nrows, int64_t K, const Wt* w, const float* bias,
                      float* const* g_rows, int64_t b0, int64_t b1, bool reverse) {
    for_blocks(b0, b1, reverse, [&](int64_t b) {
        InputProjection<Isa, Wt> body{x_rows, g_rows, K, w, bias, b};
        for_row_tiles<tile_rows<Isa, Wt>(), kBalancedTiles<Isa, Wt>>(0, nrows, body);
    });
}

template <class Isa, class Wt>
void lstm_step(const StepArgs<Wt>& args, int64_t b0, int64_t b1) {
    if constexpr (Tile<Isa>::kPairedGates) {
        if (args.nrows == 1) return step_one_row_paired<Isa, Wt, float>(args, args.x_rows, args.h_rows, b0, b1);
    }
    for_blocks(b0, b1, args.reverse, [&](int64_t b) {
        Step<Isa, Wt> body{args, args.x_rows, args.h_rows, b};
        for_row_tiles<tile_rows<Isa, Wt>(), kBalancedTiles<Isa, Wt>>(0, args.nrows, body);
    });
}

template <class Isa, class Wt>
void projection(const float* const* m_rows, float* const* h_rows, int64_t nrows, int64_t K, const Wt* w_hr,
                int64_t b0, int64_t b1, bool reverse) {
    for_blocks(b0, b1, reverse, [&](int64_t b) {
        Projection<Isa, Wt> body{m_rows, h_rows, K, w_hr, b};
        for_row_tiles<tile_rows<Isa, Wt>(), kBalancedTiles<Isa, Wt>>(0, nrows, body);
    });
}

// ---------------------------------------------------------------------------------
// Kernels that convert the rows they multiply first (x, h, and m before a projection),
// once per kernel call, into this thread's buffer; then the bodies above run on the
// converted rows. Two conversions:
//   Bf16Rows: the bfloat16 matmul mode rounds each value to bfloat16 (nearest even). The
//     buffer holds bfloat16 pairs for vdpbf16ps, or (emulated) floats holding the rounded
//     values, fed to the bfloat16-weight kernels above.
//   Int8Rows: int8 weights quantize each row (see quantize_row) for the int8 dot products.

// Growable raw storage. Not std::vector: a std:: template instantiated here would be
// compiled with this file's ISA flags and, being a weak symbol, could replace the portable
// copy the linker picks for the rest of the core (scripts/check_isa_symbols.py fails the
// build on exactly that).
template <class T>
struct RawArray {
    T* p = nullptr;
    int64_t n = 0;

    RawArray() = default;
    RawArray(const RawArray&) = delete;
    ~RawArray() { ::operator delete(p); }
    T* reserve(int64_t count) {
        if (n < count) {
            ::operator delete(p);
            p = nullptr;
            p = static_cast<T*>(::operator new(size_t(count) * sizeof(T)));
            n = count;
        }
        return p;
    }
};

// Round to nearest even, as vcvtneps2bf16 does for the finite values lstm.cpp admits.
inline uint32_t bf16_bits(float x) {
    uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

template <class Isa>
struct Bf16Rows {
    using Row = std::conditional_t<std::is_same_v<Isa, Avx512Bf16>, bf16_t, float>;
    RawArray<Row> values;
    RawArray<const Row*> ptrs;

    static void convert_row(const float* x, int64_t K, float* y) {
        for (int64_t k = 0; k < K; ++k) {
            const uint32_t u = bf16_bits(x[k]) << 16;
            std::memcpy(y + k, &u, sizeof u);
        }
    }
    static void convert_row(const float* x, int64_t K, bf16_t* y) {
        int64_t k = Vec<Isa>::round_to_bf16(x, K, y);  // the whole vectors
        for (; k < K; ++k) y[k] = bf16_t(bf16_bits(x[k]));
        if (K % 2) y[K] = 0;  // the odd pair's partner: zero times a zero weight
    }

    const Row* const* convert(const float* const* in, int64_t n, int64_t K) {
        const int64_t stride = (K + 1) / 2 * 2 + 32;  // whole pairs, rows 64 bytes apart
        Row* v = values.reserve(n * stride);
        const Row** out = ptrs.reserve(n);
        for (int64_t r = 0; r < n; ++r) {
            convert_row(in[r], K, v + r * stride);
            out[r] = v + r * stride;
        }
        return out;
    }
};

// int8: s = amax/127, u = nearest-even(x·(127/amax)) + 128 (amax = max|x|; a zero row, or one so
// small that 127/amax overflows, has s = 0 and u = 128). The same float32 operations in every
// path (and in tests/helpers.py's reference).
template <class Isa>
inline float quantize_row(const float* x, int64_t K, uint8_t* u) {
    using V = Vec<Isa>;
    constexpr int W = V::W;
    float amax = 0.0f;
    int64_t k = 0;
    if constexpr (kHasInt8Dot<Isa>) {  // whole vectors (max is exact in any order), then the tail
        typename V::T m = V::set1(0.0f);
        for (; k + W <= K; k += W) m = V::max(m, V::abs(V::load(x + k)));
        float lanes[W];
        V::store(lanes, m);
        for (float v : lanes) amax = std::max(amax, v);
    }
    for (; k < K; ++k) amax = std::max(amax, std::fabs(x[k]));
    const int64_t padded = (K + 3) / 4 * 4;
    const float inv = 127.0f / amax;
    if (!(inv <= std::numeric_limits<float>::max())) {
        std::memset(u, 128, size_t(padded));
        return 0.0f;
    }
    k = 0;
    if constexpr (kHasInt8Dot<Isa>) {  // the whole vectors, with the same operations as the tail
        const typename V::T vinv = V::set1(inv), lo = V::set1(-127.0f), hi = V::set1(127.0f);
        for (; k + W <= K; k += W)
            V::store_offset_u8(u + k, V::min(V::max(V::round(V::mul(V::load(x + k), vinv)), lo), hi));
    }
    for (; k < K; ++k) u[k] = uint8_t(int32_t(std::min(127.0f, std::max(-127.0f, std::nearbyint(x[k] * inv)))) + 128);
    for (; k < padded; ++k) u[k] = 128;
    return amax / 127.0f;
}

template <class Isa>
struct Int8Rows {
    using Row = QRow;
    RawArray<uint8_t> values;
    RawArray<QRow> rows;
    RawArray<const QRow*> ptrs;

    const QRow* const* convert(const float* const* in, int64_t n, int64_t K) {
        const int64_t stride = (K + 3) / 4 * 4 + 64;  // whole quads, rows 64 bytes apart
        uint8_t* v = values.reserve(n * stride);
        QRow* q = rows.reserve(n);
        const QRow** out = ptrs.reserve(n);
        for (int64_t r = 0; r < n; ++r) {
            q[r] = QRow{v + r * stride, quantize_row<Isa>(in[r], K, v + r * stride)};
            out[r] = q + r;
        }
        return out;
    }
};

// Two per thread: a fused single step converts its x rows and its h rows.
template <class Rows>
thread_local Rows t_rows[2];

template <class Isa, class Wt, class Rows>
void input_projection_conv(const float* const* x_rows, int64_t nrows, int64_t K, const Wt* w, const float* bias,
                           float* const* g_rows, int64_t b0, int64_t b1, bool reverse) {
    using Rt = typename Rows::Row;
    const Rt* const* x = t_rows<Rows>[0].convert(x_rows, nrows, K);
    for_blocks(b0, b1, reverse, [&](int64_t b) {
        InputProjection<Isa, Wt, Rt> body{x, g_rows, K, w, bias, b};
        for_row_tiles<tile_rows<Isa, Wt, Rt>()>(0, nrows, body);
    });
}

template <class Isa, class Wt, class Rows>
void lstm_step_conv(const StepArgs<Wt>& args, int64_t b0, int64_t b1) {
    using Rt = typename Rows::Row;
    const Rt* const* h = t_rows<Rows>[0].convert(args.h_rows, args.nrows, args.K);
    const Rt* const* x = args.g_rows ? nullptr : t_rows<Rows>[1].convert(args.x_rows, args.nrows, args.Kx);
    if constexpr (Tile<Isa>::kPairedGates) {
        if (args.nrows == 1) return step_one_row_paired<Isa, Wt, Rt>(args, x, h, b0, b1);
    }
    for_blocks(b0, b1, args.reverse, [&](int64_t b) {
        Step<Isa, Wt, Rt> body{args, x, h, b};
        for_row_tiles<tile_rows<Isa, Wt, Rt>()>(0, args.nrows, body);
    });
}

template <class Isa, class Wt, class Rows>
void projection_conv(const float* const* m_rows, float* const* h_rows, int64_t nrows, int64_t K, const Wt* w_hr,
                     int64_t b0, int64_t b1, bool reverse) {
    using Rt = typename Rows::Row;
    const Rt* const* m = t_rows<Rows>[0].convert(m_rows, nrows, K);
    for_blocks(b0, b1, reverse, [&](int64_t b) {
        Projection<Isa, Wt, Rt> body{m, h_rows, K, w_hr, b};
        for_row_tiles<tile_rows<Isa, Wt, Rt>()>(0, nrows, body);
    });
}

template <class Isa, class Wt, class Rows>
GemmKernels<Wt> make_converting() {
    return {&input_projection_conv<Isa, Wt, Rows>, &lstm_step_conv<Isa, Wt, Rows>, &projection_conv<Isa, Wt, Rows>};
}
template <class Isa>
GemmKernels<bf16_t> make_bf16dot() {
    return make_converting<Isa, bf16_t, Bf16Rows<Isa>>();
}
template <class Isa>
GemmKernels<QMatrix> make_int8() {
    return make_converting<Isa, QMatrix, Int8Rows<Isa>>();
}

template <class Isa>
Kernels make_kernels(const char* name) {
    Kernels k;
    k.isa = name;
    k.width = Vec<Isa>::W;
    k.gate_group = Tile<Isa>::kGateGroup;
    k.f32 = {&input_projection<Isa, float>, &lstm_step<Isa, float>, &projection<Isa, float>};
    k.bf16 = {&input_projection<Isa, bf16_t>, &lstm_step<Isa, bf16_t>, &projection<Isa, bf16_t>};
    k.bf16dot = make_bf16dot<Isa>();
    k.bf16dot_isa = "emulated";
    k.int8 = make_int8<Isa>();
    k.int8_isa = std::is_same_v<Isa, Avx2> ? "avx2" : "emulated";
    k.sigmoid = &activation<Isa, 0>;
    k.tanh = &activation<Isa, 1>;
    return k;
}

}  // namespace
}  // namespace lstm_fast
