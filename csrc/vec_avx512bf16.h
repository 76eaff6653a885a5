// Vec<Avx512Bf16>: Vec<Avx512> plus the AVX512_BF16 operations of the bfloat16 matmul
// mode. Included only by kernels_avx512bf16.cpp (compiled with -mavx512bf16).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "vec_avx512.h"

namespace lstm_fast {
namespace {

template <>
struct Vec<Avx512Bf16> : Vec<Avx512> {
    using Pairs = __m512i;  // 16 lanes of two bfloat16 each
    static Pairs load_pairs(const uint16_t* p) { return _mm512_loadu_si512(p); }
    static Pairs broadcast_pair(const uint16_t* p) {
        int32_t v;
        std::memcpy(&v, p, sizeof v);
        return _mm512_set1_epi32(v);
    }
    // acc[j] += w.lo[j]*x.lo + w.hi[j]*x.hi (products exact, sums in float32).
    static T dot_pairs(T acc, Pairs w, Pairs x) { return _mm512_dpbf16_ps(acc, (__m512bh)w, (__m512bh)x); }
    // The same with the weights read by the instruction (one fused load-op: at batch 1 each
    // weight vector is used once). Inline asm: GCC 12 does not fold the load into the
    // intrinsic. The products are symmetric, so the weights take the memory operand's place.
    static T dot_pairs_at(T acc, const uint16_t* w, Pairs x) {
#if defined(__GNUC__)
        __asm__("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(x), "m"(*reinterpret_cast<const __m512i*>(w)));
        return acc;
#else
        return dot_pairs(acc, load_pairs(w), x);
#endif
    }
    // y[k] = bfloat16(x[k]) rounded to nearest even for the whole vectors of x;
    // returns how many were converted (the caller finishes the tail).
    static int64_t round_to_bf16(const float* x, int64_t n, uint16_t* y) {
        int64_t k = 0;
        for (; k + 16 <= n; k += 16)
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + k), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + k)));
        return k;
    }
};

}  // namespace
}  // namespace lstm_fast
