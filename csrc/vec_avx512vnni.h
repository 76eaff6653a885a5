// Vec<Avx512Vnni>: Vec<Avx512> plus the AVX512_VNNI operations of the int8 kernels (the
// row helpers come from Vec<Avx512Bw>). Included only by kernels_avx512vnni.cpp (compiled
// with -mavx512bw -mavx512vnni).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "vec_avx512bw.h"

namespace lstm_fast {
namespace {

template <>
struct Vec<Avx512Vnni> : Vec<Avx512Bw> {  // broadcast_quad and store_offset_u8 from there
    // out[r][q] += float(dot) · (s_r · scale[q·16 + j]) with dot[j] = Σ_p Σ_t
    // u_r[4p+t]·w[(p·NG+q)·64 + 4j+t] - wsum128[q·16+j]: one vpdpbusd (u8 × s8, four products
    // per int32 lane, no saturation) per (row, gate, quad).
    template <int MR, int NG, class Row>
    static void int8_accumulate(T (&out)[MR][NG], const Row* const* rows, int64_t quads, const int8_t* w,
                                const int32_t* wsum128, const float* scale) {
        // Accumulators typed __m512 (bit casts are free) and finished here, in registers:
        // returning them through an int32 array made GCC 12 keep a copy of every
        // accumulator on the stack each iteration.
        __m512 acc[MR][NG];
        for (int r = 0; r < MR; ++r)
            for (int q = 0; q < NG; ++q) acc[r][q] = _mm512_setzero_ps();
        if constexpr (MR == 1) {
            // One row: a second accumulator set over alternate quads covers the latency.
            __m512 odd[NG];
            for (int q = 0; q < NG; ++q) odd[q] = _mm512_setzero_ps();
            const uint8_t* u = rows[0]->u;
            int64_t p = 0;
            for (; p + 2 <= quads; p += 2) {
                const __m512i x0 = broadcast_quad(u + 4 * p), x1 = broadcast_quad(u + 4 * p + 4);
                for (int q = 0; q < NG; ++q) {
                    acc[0][q] = dpbusd_mem(acc[0][q], x0, w + (p * NG + q) * 64);
                    odd[q] = dpbusd_mem(odd[q], x1, w + ((p + 1) * NG + q) * 64);
                }
            }
            if (p < quads) {
                const __m512i x0 = broadcast_quad(u + 4 * p);
                for (int q = 0; q < NG; ++q) acc[0][q] = dpbusd_mem(acc[0][q], x0, w + (p * NG + q) * 64);
            }
            for (int q = 0; q < NG; ++q)
                acc[0][q] = _mm512_castsi512_ps(
                    _mm512_add_epi32(_mm512_castps_si512(acc[0][q]), _mm512_castps_si512(odd[q])));
        } else {
            for (int64_t p = 0; p < quads; ++p) {
                __m512i wq[NG];
                for (int q = 0; q < NG; ++q) wq[q] = _mm512_loadu_si512(w + (p * NG + q) * 64);
                for (int r = 0; r < MR; ++r) {
                    const __m512i x = broadcast_quad(rows[r]->u + 4 * p);
                    for (int q = 0; q < NG; ++q) acc[r][q] = dpbusd(acc[r][q], x, wq[q]);
                }
            }
        }
        for (int r = 0; r < MR; ++r) {
            const __m512 s = _mm512_set1_ps(rows[r]->s);
            for (int q = 0; q < NG; ++q) {
                const __m512i dot =
                    _mm512_sub_epi32(_mm512_castps_si512(acc[r][q]), _mm512_loadu_si512(wsum128 + q * 16));
                out[r][q] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(s, _mm512_loadu_ps(scale + q * 16)),
                                            out[r][q]);
            }
        }
    }

    // acc += Σ_t u.u8[4j+t]·w.s8[4j+t] per int32 lane. Inline asm, not the intrinsic:
    // with _mm512_dpbusd_epi32, GCC 12 copied every accumulator to a scratch register and to
    // the stack on each use (2 extra moves and a store per vpdpbusd), which measured the
    // int8 path no faster than bf16 at batch 32; "+v" keeps each accumulator in its register.
    static __m512 dpbusd(__m512 acc, __m512i u, __m512i w) {
#if defined(__GNUC__)
        __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(w));
        return acc;
#else
        return _mm512_castsi512_ps(_mm512_dpbusd_epi32(_mm512_castps_si512(acc), u, w));
#endif
    }

    // The same with the weights read by the instruction itself (one fused load-op instead of
    // a load and the op: at batch 1 each weight vector is used once).
    static __m512 dpbusd_mem(__m512 acc, __m512i u, const int8_t* w) {
#if defined(__GNUC__)
        __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "m"(*reinterpret_cast<const __m512i*>(w)));
        return acc;
#else
        return dpbusd(acc, u, _mm512_loadu_si512(w));
#endif
    }
};

}  // namespace
}  // namespace lstm_fast
