// Vec<Avx512>: 16 floats in a __m512, AVX-512F only (no BW/DQ/VL needed).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "vec.h"

namespace lstm_fast {
namespace {

template <class Isa>
struct Vec;

template <>
struct Vec<Avx512> {
    static constexpr int W = 16;
    using T = __m512;
    using M = __mmask16;
    static T load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, T a) { _mm512_storeu_ps(p, a); }
    static T load_i32(const int32_t* p) { return _mm512_cvtepi32_ps(_mm512_loadu_si512(p)); }
    static void widen_pairs(const uint16_t* p, T& lo, T& hi) {
        const __m512i v = _mm512_loadu_si512(p);
        lo = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
        hi = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(int(0xffff0000u))));
    }
    static T set1(float x) { return _mm512_set1_ps(x); }
    static T add(T a, T b) { return _mm512_add_ps(a, b); }
    static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
    static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
    static T div(T a, T b) { return _mm512_div_ps(a, b); }
    static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
    static T min(T a, T b) { return _mm512_min_ps(a, b); }
    static T max(T a, T b) { return _mm512_max_ps(a, b); }
    static T abs(T a) {
        return _mm512_castsi512_ps(_mm512_and_epi32(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
    }
    static T round(T a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    // y·2^n for integral n: one vscalefps instead of building 2^n from exponent bits and
    // multiplying (3 fewer vector ops per exp; the same result, both exact for normal y·2^n).
    static T scale2(T y, T n) { return _mm512_scalef_ps(y, n); }
    static T copysign(T a, T s) {
        const __m512i mag = _mm512_set1_epi32(0x7fffffff);
        return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(mag, _mm512_castps_si512(a), _mm512_castps_si512(s), 0xca));  // bitwise mag ? a : s
    }
    static M lt(T a, T b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
    static T select(M m, T a, T b) { return _mm512_mask_blend_ps(m, b, a); }
};

}  // namespace
}  // namespace lstm_fast
