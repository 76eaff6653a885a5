// Vec<Avx512Bw>: Vec<Avx512> plus the AVX512BW integer operations of the int8 kernels,
// for AVX-512 CPUs without AVX512_VNNI (Skylake-SP/X: no vpdpbusd). Included by
// kernels_avx512bw.cpp and, for the helpers below, by vec_avx512vnni.h (both compiled
// with -mavx512bw).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "vec_avx512.h"

namespace lstm_fast {
namespace {

template <>
struct Vec<Avx512Bw> : Vec<Avx512> {
    static __m512i broadcast_quad(const uint8_t* p) {
        int32_t v;
        std::memcpy(&v, p, sizeof v);
        return _mm512_set1_epi32(v);
    }

    // out[r][q] += float(Σ_p Σ_t q_r[4p+t]·w[(p·NG+q)·64 + 4j+t]) · (s_r · scale[q·16 + j]),
    // q = u - 128. The AVX2 scheme (vec_avx2.h) on 64 bytes: vpmaddubsw on u would saturate,
    // so it multiplies |q| by w carrying q's sign (AVX-512 has no vpsignb: w is negated under
    // the k-mask of q's negative bytes, vpmovb2m), pair sums at most 2·127·127 = 32258, and
    // vpmaddwd by ones adds the pairs into int32: the integers of the VNNI path. Three
    // integer ops and an add per (row, gate, quad) where VNNI has one, so 4-row tiles
    // (Tile<Avx512Bw>): 16 accumulators, 4 weight vectors, 4 rows' |q| and their masks
    // (2-row tiles measured 0.97-0.99x of these). A/B on Zen 4 (which has VNNI: the paths
    // forced with LSTM_FAST_INT8), 1 thread, against the plain integer loops that ran here
    // before: (1,16,64,64) 6.3x, (1,128,128,256) 9.4x, (1,128,256,512) 10.2x, one step H=256
    // 8.8x, (32,64,128,256) 9.6x; vpdpbusd is 1.0x (one step) to 2.0x (batch 32) faster still.
    template <int MR, int NG, class Row>
    static void int8_accumulate(T (&out)[MR][NG], const Row* const* rows, int64_t quads, const int8_t* w,
                                const int32_t* /* wsum128: not needed */, const float* scale) {
        const __m512i ones = _mm512_set1_epi16(1), flip = _mm512_set1_epi8(char(0x80)), zero = _mm512_setzero_si512();
        __m512i acc[MR][NG];
        for (int r = 0; r < MR; ++r)
            for (int q = 0; q < NG; ++q) acc[r][q] = _mm512_setzero_si512();
        for (int64_t p = 0; p < quads; ++p) {
            __m512i xa[MR];
            __mmask64 neg[MR];
            for (int r = 0; r < MR; ++r) {
                const __m512i xs = _mm512_xor_si512(broadcast_quad(rows[r]->u + 4 * p), flip);  // q = u - 128
                xa[r] = _mm512_abs_epi8(xs);
                neg[r] = _mm512_movepi8_mask(xs);
            }
            for (int q = 0; q < NG; ++q) {
                const __m512i wq = _mm512_loadu_si512(w + (p * NG + q) * 64);
                for (int r = 0; r < MR; ++r) {
                    const __m512i ws = _mm512_mask_sub_epi8(wq, neg[r], zero, wq);  // w·sign(q), |w| <= 127
                    const __m512i pairs = _mm512_maddubs_epi16(xa[r], ws);
                    acc[r][q] = _mm512_add_epi32(acc[r][q], _mm512_madd_epi16(pairs, ones));
                }
            }
        }
        for (int r = 0; r < MR; ++r) {
            const T s = set1(rows[r]->s);
            for (int q = 0; q < NG; ++q)
                out[r][q] = fma(_mm512_cvtepi32_ps(acc[r][q]), mul(s, load(scale + q * 16)), out[r][q]);
        }
    }

    // u[j] = uint8(v[j] + 128) for lanes holding integers in [-127, 127] (quantize_row).
    static void store_offset_u8(uint8_t* u, T v) {
        const __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(128));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(u), _mm512_cvtepi32_epi8(i));  // values in [1, 255]
    }
};

}  // namespace
}  // namespace lstm_fast
