// Portable Vec: 8 floats as a plain array. Loops of 8 are auto-vectorized by the
// compiler for the baseline ISA (SSE2 on x86-64, NEON on arm64).
#pragma once

#include <cstdint>
#include <cstring>

#include "vec.h"

namespace lstm_fast {
namespace {

template <class Isa>
struct Vec;

template <>
struct Vec<Generic> {
    static constexpr int W = 8;
    struct T {
        float v[W];
    };
    struct M {
        bool v[W];
    };
#define LSTM_FAST_MAP(expr)        \
    T r;                           \
    for (int j = 0; j < W; ++j) {  \
        r.v[j] = (expr);           \
    }                              \
    return r
    static T load(const float* p) {
        T r;
        std::memcpy(r.v, p, sizeof r.v);
        return r;
    }
    static void store(float* p, T a) { std::memcpy(p, a.v, sizeof a.v); }
    static T load_i32(const int32_t* p) { LSTM_FAST_MAP(float(p[j])); }  // int32 -> float, nearest
    // 2W bfloat16 values stored as W pairs (lane j: bits 0-15 = a_j, bits 16-31 = b_j)
    // widened to two float vectors: lo = a, hi = b.
    static void widen_pairs(const uint16_t* p, T& lo, T& hi) {
        for (int j = 0; j < W; ++j) {
            uint32_t a = uint32_t(p[2 * j]) << 16, b = uint32_t(p[2 * j + 1]) << 16;
            std::memcpy(&lo.v[j], &a, sizeof a);
            std::memcpy(&hi.v[j], &b, sizeof b);
        }
    }
    static T set1(float x) { LSTM_FAST_MAP(x); }
    static T add(T a, T b) { LSTM_FAST_MAP(a.v[j] + b.v[j]); }
    static T sub(T a, T b) { LSTM_FAST_MAP(a.v[j] - b.v[j]); }
    static T mul(T a, T b) { LSTM_FAST_MAP(a.v[j] * b.v[j]); }
    static T div(T a, T b) { LSTM_FAST_MAP(a.v[j] / b.v[j]); }
    static T fma(T a, T b, T c) { LSTM_FAST_MAP(a.v[j] * b.v[j] + c.v[j]); }  // a·b + c
    static T min(T a, T b) { LSTM_FAST_MAP(a.v[j] < b.v[j] ? a.v[j] : b.v[j]); }
    static T max(T a, T b) { LSTM_FAST_MAP(a.v[j] > b.v[j] ? a.v[j] : b.v[j]); }
    static T abs(T a) { LSTM_FAST_MAP(a.v[j] < 0.0f ? -a.v[j] : a.v[j]); }
    // Round to nearest (inputs are bounded by the callers, far below 2^23).
    static T round(T a) { LSTM_FAST_MAP(float(int32_t(a.v[j] + (a.v[j] < 0.0f ? -0.5f : 0.5f)))); }
    // 2^n for integral n in [-126, 127], built from the exponent bits.
    static T scale2(T y, T n) { return mul(y, pow2(n)); }  // y·2^n, n integral in [-126, 127]
    static T pow2(T n) {
        T r;
        for (int j = 0; j < W; ++j) {
            uint32_t bits = uint32_t(int32_t(n.v[j]) + 127) << 23;
            std::memcpy(&r.v[j], &bits, sizeof bits);
        }
        return r;
    }
    // Magnitude of a with the sign of s.
    static T copysign(T a, T s) { LSTM_FAST_MAP(s.v[j] < 0.0f ? -a.v[j] : a.v[j]); }
    static M lt(T a, T b) {
        M m;
        for (int j = 0; j < W; ++j) m.v[j] = a.v[j] < b.v[j];
        return m;
    }
    static T select(M m, T a, T b) { LSTM_FAST_MAP(m.v[j] ? a.v[j] : b.v[j]); }  // m ? a : b
#undef LSTM_FAST_MAP
};

}  // namespace
}  // namespace lstm_fast
