// Vec<Avx2>: 8 floats in a __m256, AVX2 + FMA.
#pragma once

#include <immintrin.h>

#include <cstdint>

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
};

}  // namespace
}  // namespace lstm_fast
