// Vec<Avx2>: 8 floats in a __m256, AVX2 + FMA.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "vec.h"

namespace lstm_fast {
namespace {

template <class Isa>
struct Vec;

template <>
struct Vec<Avx2> {
    static constexpr int W = 8;
    using T = __m256;
    using M = __m256;
    static T load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, T a) { _mm256_storeu_ps(p, a); }
    static T load_i32(const int32_t* p) { return _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
    static void widen_pairs(const uint16_t* p, T& lo, T& hi) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        lo = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
        hi = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(int(0xffff0000u))));
    }
    static T set1(float x) { return _mm256_set1_ps(x); }
    static T add(T a, T b) { return _mm256_add_ps(a, b); }
    static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
    static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
    static T div(T a, T b) { return _mm256_div_ps(a, b); }
    static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
    static T min(T a, T b) { return _mm256_min_ps(a, b); }
    static T max(T a, T b) { return _mm256_max_ps(a, b); }
    static T abs(T a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
    static T round(T a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    static T scale2(T y, T n) { return mul(y, pow2(n)); }  // y·2^n, n integral in [-126, 127]
    static T pow2(T n) {
        __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
        return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
    }
    static T copysign(T a, T s) {
        const T sign = _mm256_set1_ps(-0.0f);
        return _mm256_or_ps(_mm256_andnot_ps(sign, a), _mm256_and_ps(sign, s));
    }
    static M lt(T a, T b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
    static T select(M m, T a, T b) { return _mm256_blendv_ps(b, a, m); }

    // --- int8 (see QMatrix in kernels.h; W = 8, so one weight vector is 32 bytes: the
    // four k of a quad for each of 8 units). AVX2 has no u8 x s8 -> s32 dot product, and
    // vpmaddubsw on the stored u = q + 128 could saturate (255·127·2 > 32767). So it
    // multiplies the signed q = u - 128 instead: |q| (vpabsb) times w with q's sign
    // (vpsignb), both magnitudes at most 127, so the pair sums of vpmaddubsw (at most
    // 2·127·127 = 32258) never saturate; vpmaddwd by ones adds the pairs into int32.
    // Σ q·w is exactly Σ u·w - 128·Σ w: the integers of the VNNI path, without wsum128.
    static __m256i broadcast_quad(const uint8_t* p) {
        int32_t v;
        std::memcpy(&v, p, sizeof v);
        return _mm256_set1_epi32(v);
    }

    // out[r][q] += float(Σ_p Σ_t q_r[4p+t]·w[(p·NG+q)·32 + 4j+t]) · (s_r · scale[q·8 + j]).
    template <int MR, int NG, class Row>
    static void int8_accumulate(T (&out)[MR][NG], const Row* const* rows, int64_t quads, const int8_t* w,
                                const int32_t* /* wsum128: not needed, see above */, const float* scale) {
        const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8(char(0x80));
        __m256i acc[MR][NG];
        for (int r = 0; r < MR; ++r)
            for (int q = 0; q < NG; ++q) acc[r][q] = _mm256_setzero_si256();
        for (int64_t p = 0; p < quads; ++p) {
            __m256i xs[MR], xa[MR];
            for (int r = 0; r < MR; ++r) {
                xs[r] = _mm256_xor_si256(broadcast_quad(rows[r]->u + 4 * p), flip);  // q = u - 128
                xa[r] = _mm256_abs_epi8(xs[r]);
            }
            for (int q = 0; q < NG; ++q) {
                const __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + (p * NG + q) * 32));
                for (int r = 0; r < MR; ++r) {
                    const __m256i pairs = _mm256_maddubs_epi16(xa[r], _mm256_sign_epi8(wq, xs[r]));
                    acc[r][q] = _mm256_add_epi32(acc[r][q], _mm256_madd_epi16(pairs, ones));
                }
            }
        }
        for (int r = 0; r < MR; ++r) {
            const T s = set1(rows[r]->s);
            for (int q = 0; q < NG; ++q)
                out[r][q] = fma(_mm256_cvtepi32_ps(acc[r][q]), mul(s, load(scale + q * 8)), out[r][q]);
        }
    }

    // u[j] = uint8(v[j] + 128) for lanes holding integers in [-127, 127] (quantize_row).
    static void store_offset_u8(uint8_t* u, T v) {
        const __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(128));  // [1, 255]
        const __m256i b = _mm256_packus_epi16(_mm256_packs_epi32(i, i), _mm256_setzero_si256());
        // bytes 0-3: lanes 0-3 (low 128-bit lane); bytes 16-19: lanes 4-7 (high lane)
        const int32_t b0 = _mm_cvtsi128_si32(_mm256_castsi256_si128(b));
        const int32_t b1 = _mm_cvtsi128_si32(_mm256_extracti128_si256(b, 1));
        std::memcpy(u, &b0, 4);
        std::memcpy(u + 4, &b1, 4);
    }
};

}  // namespace
}  // namespace lstm_fast
