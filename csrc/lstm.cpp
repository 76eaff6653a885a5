// The LSTM driver: validation, weight packing, layers, directions, lengths, projection,
// time chunking and threading. The arithmetic is in the kernels (kernels_impl.h).
#include "lstm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels.h"
#include "parallel.h"

namespace lstm_fast {

// ----------------------------------------------------------------------------------
// Buffers and size arithmetic.

namespace {

// a·b, or throws std::length_error naming `what` if it would overflow int64.
int64_t mul_checked(int64_t a, int64_t b, const char* what) {
    if (a != 0 && b > std::numeric_limits<int64_t>::max() / a)
        throw std::length_error(std::string(what) + " is too large (size overflow)");
    return a * b;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A hint to start loading n floats into this core's cache.
void prefetch_floats(const float* p, int64_t n) {
#if defined(__GNUC__) || defined(__clang__)
    for (int64_t i = 0; i < n; i += 16) __builtin_prefetch(p + i);
#else
    (void)p;
    (void)n;
#endif
}

std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

int64_t parameter_count(const LstmSpec& s) {
    int64_t total = 0;
    const int64_t H = s.hidden_size, R = s.real_hidden();
    for (int64_t l = 0; l < s.num_layers; ++l) {
        int64_t per = mul_checked(4 * H, s.layer_input(l) + R, "LSTM parameter count");
        if (s.bias) per += 8 * H;
        if (s.proj_size > 0) per += mul_checked(s.proj_size, H, "LSTM parameter count");
        total += mul_checked(per, s.directions(), "LSTM parameter count");
        if (total > max_parameters()) break;
    }
    return total;
}

void check_spec(const LstmSpec& s) {
    auto positive = [](int64_t v, const char* name) {
        if (v <= 0) throw std::invalid_argument(std::string(name) + " must be positive, got " + str(v));
    };
    positive(s.input_size, "input_size");
    positive(s.hidden_size, "hidden_size");
    positive(s.num_layers, "num_layers");
    if (s.proj_size < 0) throw std::invalid_argument("proj_size must be >= 0, got " + str(s.proj_size));
    if (s.proj_size >= s.hidden_size)
        throw std::invalid_argument("proj_size has to be smaller than hidden_size (" + str(s.proj_size) +
                                    " >= " + str(s.hidden_size) + ")");
    const int64_t limit = int64_t(1) << 24;
    if (s.input_size > limit || s.hidden_size > limit || s.num_layers > 4096)
        throw std::invalid_argument("LSTM sizes are absurd: input_size=" + str(s.input_size) + ", hidden_size=" +
                                    str(s.hidden_size) + ", num_layers=" + str(s.num_layers));
    const int64_t n = parameter_count(s);
    if (n > max_parameters())
        throw std::invalid_argument("LSTM would have more than " + str(max_parameters()) +
                                    " parameters (input_size=" + str(s.input_size) + ", hidden_size=" +
                                    str(s.hidden_size) + ", num_layers=" + str(s.num_layers) + ")");
}

// ----------------------------------------------------------------------------------
// Packing (once, at load).

namespace {

// Every |bits| of p[0, n) below `limit` (sign cleared)? Branch-free within chunks of 64,
// which the compiler vectorizes (an early-exit loop it does not: this check runs on every
// input row of every call, ~1 cycle per value that way).
bool all_abs_bits_below(const float* p, int64_t n, uint32_t limit) {
    for (int64_t i0 = 0; i0 < n; i0 += 64) {
        const int64_t i1 = std::min(n, i0 + 64);
        uint32_t bad = 0;
        for (int64_t i = i0; i < i1; ++i) {
            uint32_t u;
            std::memcpy(&u, p + i, sizeof u);
            bad |= uint32_t((u & 0x7fffffffu) >= limit);
        }
        if (bad) return false;
    }
    return true;
}

bool all_finite(const float* p, int64_t n) { return all_abs_bits_below(p, n, 0x7f800000u); }

// Finite values whose bfloat16 rounding (nearest even) is still finite: 3.3961775e38
// (bits 0x7f7f8000) and above round up to infinity.
bool all_bf16_finite(const float* p, int64_t n) { return all_abs_bits_below(p, n, 0x7f7f8000u); }

// float -> bfloat16, round to nearest even (inputs are finite; see check in the caller).
uint16_t to_bf16(float x) {
    uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}

template <class Wt>
Wt convert(float x);
template <>
float convert<float>(float x) {
    return x;
}
template <>
uint16_t convert<uint16_t>(float x) {
    const uint16_t b = to_bf16(x);
    if ((b & 0x7f80u) == 0x7f80u) throw std::invalid_argument("a weight is too large for bfloat16 storage");
    return b;
}

// The packed layout of one matrix (see lstm.h and kernels.h): NG gates of W units per
// block, in groups of G per slot. A float slot is one k (lane j of a vector at j); a
// bfloat16 slot pairs two consecutive k in one 32-bit lane (k at 2j + k%2), Kp = ceil(K/2)
// slots.
struct PackedLayout {
    int64_t NG, G, S, slot, W;
    int64_t size(int64_t blocks) const { return blocks * packed_block_stride(G, NG, S, slot); }
};

template <class Wt>
PackedLayout layout_of(int64_t K, int64_t NG, int64_t W) {
    const int64_t G = std::min(NG, kernels().gate_group);
    return std::is_same_v<Wt, float> ? PackedLayout{NG, G, K, W, W} : PackedLayout{NG, G, (K + 1) / 2, 2 * W, W};
}

// Where weight (gate q, unit u, input k) goes.
template <class Wt>
int64_t packed_index(const PackedLayout& L, int64_t u, int64_t k, int64_t q) {
    constexpr bool f32 = std::is_same_v<Wt, float>;
    const int64_t b = u / L.W, j = u % L.W, s = f32 ? k : k / 2, lane = f32 ? j : 2 * j + k % 2;
    return b * packed_block_stride(L.G, L.NG, L.S, L.slot) +
           packed_gate_offset(int(L.G), int(L.NG), L.S, s, int(q), L.slot) + lane;
}

// Row-major (NG*units, K) matrix -> packed blocks; NG = 4 for gate matrices, 1 for W_hr.
// The padding (odd K's partner, group_pad) stays zero.
template <class Wt>
AlignedBuffer<Wt> pack(const float* w, int64_t units, int64_t K, int64_t NG, int64_t W) {
    const int64_t blocks = (units + W - 1) / W;
    const PackedLayout L = layout_of<Wt>(K, NG, W);
    const int64_t slack = std::is_same_v<Wt, float> ? 0 : packed_tile_slack_bytes(NG) / int64_t(sizeof(Wt));
    AlignedBuffer<Wt> out(size_t(L.size(blocks) + slack));
    for (int64_t q = 0; q < NG; ++q)
        for (int64_t u = 0; u < units; ++u) {
            const float* row = w + (q * units + u) * K;
            for (int64_t k = 0; k < K; ++k) out.data()[packed_index<Wt>(L, u, k, q)] = convert<Wt>(row[k]);
        }
    return out;
}

// Largest K the int8 kernels take: |Σ_k u·w| <= K·255·127 must fit an int32.
constexpr int64_t kMaxInt8Inputs = 65536;

// Row-major (NG*units, K) matrix -> int8 quads, per-unit scales and 128·Σw (QMatrix).
// Per unit: amax = max|W[n][:]|, w = nearest-even(W[n][k] · (127 / amax)), scale = amax / 127
// (tests/helpers.py's int8 reference repeats these float32 operations exactly).
QuantBuffer quantize(const float* w, int64_t units, int64_t K, int64_t NG, int64_t W) {
    if (K > kMaxInt8Inputs)
        throw std::invalid_argument("int8 weights support at most " + str(kMaxInt8Inputs) + " inputs per matrix, got " +
                                    str(K));
    const int64_t blocks = (units + W - 1) / W, Kq = (K + 3) / 4;
    QuantBuffer out;
    out.w = AlignedBuffer<int8_t>(size_t(blocks * Kq * NG * 4 * W + packed_tile_slack_bytes(NG)));
    out.scale = AlignedFloats(size_t(blocks * NG * W));
    out.wsum128 = AlignedBuffer<int32_t>(size_t(blocks * NG * W));
    for (int64_t q = 0; q < NG; ++q)
        for (int64_t u = 0; u < units; ++u) {
            const float* row = w + (q * units + u) * K;
            const int64_t b = u / W, j = u % W, at = (b * NG + q) * W + j;
            float amax = 0.0f;
            for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(row[k]));
            const float inv = 127.0f / amax;
            if (!(inv <= std::numeric_limits<float>::max())) continue;  // zero (or < ~1e-36): scale 0, weights 0
            int32_t sum = 0;
            for (int64_t k = 0; k < K; ++k) {
                const float v = std::min(127.0f, std::max(-127.0f, std::nearbyint(row[k] * inv)));
                out.w.data()[((b * Kq + k / 4) * NG + q) * 4 * W + 4 * j + k % 4] = int8_t(v);
                sum += int32_t(v);
            }
            out.scale.data()[at] = amax / 127.0f;
            out.wsum128.data()[at] = 128 * sum;
        }
    out.view = {out.w.data(), out.scale.data(), out.wsum128.data()};
    return out;
}

void pack_matrices(PackedMatrices<QMatrix>& m, const float* w_ih, const float* w_hh, const float* w_hr,
                   const LstmSpec& s, int64_t layer, int64_t W) {
    m.w_ih = quantize(w_ih, s.hidden_size, s.layer_input(layer), 4, W);
    m.w_hh = quantize(w_hh, s.hidden_size, s.real_hidden(), 4, W);
    if (w_hr) m.w_hr = quantize(w_hr, s.proj_size, s.hidden_size, 1, W);
}

template <class Wt>
void pack_matrices(PackedMatrices<Wt>& m, const float* w_ih, const float* w_hh, const float* w_hr,
                   const LstmSpec& s, int64_t layer, int64_t W) {
    m.w_ih = pack<Wt>(w_ih, s.hidden_size, s.layer_input(layer), 4, W);
    m.w_hh = pack<Wt>(w_hh, s.hidden_size, s.real_hidden(), 4, W);
    if (w_hr) m.w_hr = pack<Wt>(w_hr, s.proj_size, s.hidden_size, 1, W);
}

}  // namespace

template <>
const PackedMatrices<float>& LstmModel::matrices<float>(const Direction& d) {
    return d.f32;
}
template <>
const PackedMatrices<uint16_t>& LstmModel::matrices<uint16_t>(const Direction& d) {
    return d.bf16;
}
template <>
const PackedMatrices<QMatrix>& LstmModel::matrices<QMatrix>(const Direction& d) {
    return d.i8;
}

LstmModel::LstmModel(const LstmSpec& spec, const std::vector<const float*>& tensors, WeightType weights,
                     MatmulType matmul)
    : spec_(spec), weights_(weights), matmul_(matmul), width_(kernels().width) {
    check_spec(spec);
    if (matmul == MatmulType::Bfloat16 && weights != WeightType::Bfloat16)
        throw std::invalid_argument("bfloat16 matmul needs bfloat16 weights");
    if ((matmul == MatmulType::Int8) != (weights == WeightType::Int8))
        throw std::invalid_argument("int8 weights and the int8 matmul go together");
    const int64_t H = spec.hidden_size, R = spec.real_hidden(), P = spec.proj_size, W = width_;
    const int64_t D = spec.directions(), per = spec.tensors_per_direction();
    if (int64_t(tensors.size()) != spec.num_layers * D * per)
        throw std::invalid_argument("expected " + str(spec.num_layers * D * per) + " weight tensors, got " +
                                    str(int64_t(tensors.size())));
    blocks_ = ceil_div(H, W);
    proj_blocks_ = P > 0 ? ceil_div(P, W) : 0;
    dirs_.resize(size_t(spec.num_layers * D));
    for (int64_t l = 0; l < spec.num_layers; ++l)
        for (int64_t d = 0; d < D; ++d) {
            const float* const* t = tensors.data() + (l * D + d) * per;
            const int64_t K = spec.layer_input(l);
            const std::string sfx = "_l" + str(l) + (d ? "_reverse" : "");
            auto check = [&](const float* p, int64_t n, const char* name) {
                if (p == nullptr) throw std::invalid_argument(std::string(name) + sfx + " is missing");
                if (!all_finite(p, n))
                    throw std::invalid_argument(std::string(name) + sfx + " contains NaN or infinite values");
            };
            check(t[0], 4 * H * K, "weight_ih");
            check(t[1], 4 * H * R, "weight_hh");
            Direction& dir = dirs_[size_t(l * D + d)];
            dir.bias = AlignedFloats(size_t(blocks_ * 4 * W));
            int64_t next = 2;
            if (spec.bias) {
                check(t[2], 4 * H, "bias_ih");
                check(t[3], 4 * H, "bias_hh");
                for (int64_t q = 0; q < 4; ++q)
                    for (int64_t u = 0; u < H; ++u)
                        dir.bias.data()[((u / W) * 4 + q) * W + u % W] = t[2][q * H + u] + t[3][q * H + u];
                next = 4;
            }
            const float* w_hr = P > 0 ? t[next] : nullptr;
            if (w_hr) check(w_hr, P * H, "weight_hr");
            if (weights == WeightType::Float32)
                pack_matrices(dir.f32, t[0], t[1], w_hr, spec, l, W);
            else if (weights == WeightType::Bfloat16)
                pack_matrices(dir.bf16, t[0], t[1], w_hr, spec, l, W);
            else
                pack_matrices(dir.i8, t[0], t[1], w_hr, spec, l, W);
        }
}

// ----------------------------------------------------------------------------------
// Forward.

namespace {

// Thresholds for spending threads, in multiply-adds. 2^15 splits H >= 91 at batch 1 by
// work alone. Measured at 2 threads against 1 on Zen 4 (benchmarks/bench_split.py):
// (1,32,128,128) 123 -> 75-85 µs, one step at H = 128 6.4 -> 4.5 µs, (4,32,64,64)
// 100 -> 68 µs. One thread per 2^15 beyond that.
constexpr int64_t kSplitStepWork = 1 << 15;        // per-step 4H·R·B to split a direction
// A step whose W_hh misses a core's L1d is split in two whatever its work: each core then
// reads half of it (from its own L1d or L2) every step, for a ~60 ns barrier (parallel.h;
// with the earlier shared-counter barrier, H = 64 gained nothing on Zen 4). Measured
// at 2 threads on Zen 5 (L1d 48 KiB), one thread / split: fp32 H=64 (64 KiB) tiny
// (1,16,64,64) 9.97 / 8.01 µs, T=64 33.2 / 27.5, two layers 18.7 / 14.9, H=80 25.1 / 21.8;
// H=48 (36 KiB, fits) 5.4 / 7.2, and bf16 or int8 H=64 (32 / 16 KiB) 7.9 / 8.6 and
// 5.0 / 6.5: no split when it fits. (A one-step call reads W_hh once: no such split.)
// That gain is worth less than the barrier and h exchange when the two cores are far apart:
// the split is only taken while a cache line's round trip between them measures at most
// kCheapRoundTripNs (parallel.h, cross_core_round_trip_ns). Measured, 2 threads against 1:
// Zen 5 VM, tiny 8.6-9.7 vs 8.9-9.0 µs in phases of 110-131 ns round trips, 21.5-22.5 vs
// 11.6-12.0 µs in phases of 298-633 ns; Sapphire Rapids VM (315-449 ns in six runs), tiny
// 0.63-0.84x and (1,64,64,64) 0.76-0.82x of one thread's speed.
constexpr double kCheapRoundTripNs = 200;
constexpr int64_t kSplitDirectionWork = 1 << 18;   // per-direction total to run directions in parallel
// Two directions on two cores each stream a whole W_hh every step. When one W_hh misses a
// core's L2, running the directions one after the other, each step split across the
// cores (a barrier per step), halves the bytes per core and wins at batch 1-2
// (bandwidth-bound). Measured on Zen 5 (L2 1 MiB), 2 threads, with the alternating block
// order, split steps / parallel directions: fp32 (1,64,300,256,2,bi) 1.15x, (1,128,128,256,bi)
// 1.23x, H=320 1.25x, H=384 (2.25 MiB) 1.10x, H=512 (4 MiB) 1.04-1.06x, H=640 and 768
// (9 MiB) 1.02x, bf16 H=768 and 1024 (8 MiB) 1.02-1.04x, int8 H=512 (1 MiB) 1.16x, B=2
// H=256 1.14x in favour of splitting; fp32 H=192 (0.56 L2) 0.80x, B=4 H=256 0.98x against.
constexpr int64_t kSplitDirsMaxBatch = 2;
// Rows per thread from which a batch is split by rows rather than each step by blocks
// (run()): a step split by blocks waits at a barrier and fetches the other core's h lines
// every step; with the rows split, nothing is shared, and from 4 rows per thread the step
// stays compute-bound even with all the weights streaming from L3 (4 rows × 2 flops per
// 4-byte weight against ~110 GFLOP/s and ~87 GB/s on Zen 4). A/B on Zen 4, 2 threads, rows
// against blocks: (8,64,128,256) 1.09x, (32,64,128,256) 1.05x, (12,32,128,128) 1.07x, two
// layers (16,32,128,128) 1.04-1.09x, (8,32,64,64) 1.19x, (16,64,128,256) 1.00x; at 2 rows per
// thread ((4,128,128,256), in a first try from Python threads) 0.86x. Directions already on
// their own cores (parallel_dirs) keep that.
constexpr int64_t kBatchSplitRows = 4;
// Fewer rows per thread (2 or 3) make the step bandwidth-bound when the weights stream from
// L3, where splitting each step's blocks halves every core's bytes; but when one layer's
// weights (both directions) fit kBatchSplitMaxL2 of a core's L2, the rows split still wins.
// A/B on Zen 4, 2 threads, rows against blocks (three runs, a noisy phase): (4,32,64,64)
// 1.11-1.50x, two layers (6,32,128,128) 1.05-1.38x, (4,32,128,128) 1.05-1.30x (weights
// 128-512 KiB); with the weights past L2 (split anyway, to see): (4,64,128,256) 0.97x,
// (4,128,256,512) 0.87x, so those keep the blocks split.
constexpr int64_t kBatchSplitMinRows = 2;
constexpr double kBatchSplitMaxL2 = 0.75;
// And with 4 rows per thread, the weights must still come from L3: each thread reads all of
// them every step, which from DRAM (one layer past the L3) costs more than the barrier saved.
// A/B at B = 8, 2 threads: weights 6 MiB 1.09x, 12 MiB 1.07x (rows split); 15 MiB 0.82x,
// 24 MiB 0.79x, 32 MiB 0.76x (L3 32 MiB): past kBatchSplitMaxL3 of the L3 the blocks stay split.
constexpr double kBatchSplitMaxL3 = 0.375;
constexpr double kSplitDirsMinL2 = 0.75;  // W_hh bytes / L2 bytes
constexpr size_t kKeepWorkspaceBytes = size_t(64) << 20;
// Input-projection chunk: 128 KiB of gate rows. A batch that fills it with one step's rows
// (B·4H >= 2^15 floats) gets chunks of one step, and those fuse the projection into the
// step. Fused against a one-step gate buffer, A/B, 1 thread: (32,64,128,256) 7888 -> 7551 µs,
// int8 2917 -> 2820, (64,64,300,256,2,bi) 100.6 -> 97.9 ms; 2 threads 1.6-2.7 % faster.
constexpr int64_t kChunkFloats = 1 << 15;
// A direction whose step stays on one thread (below kSplitStepWork) can still use a second
// one, from this many multiply-adds of input projection (4H·I·B·T): the projection is cut
// into groups of steps (at least kPipeRows rows: one register tile; at most kMaxPipeGroups
// groups) that the second thread computes ahead of the recurrence. The recurrence computes
// a group itself rather than wait for one nobody has started, so a worker that is slow to
// wake costs nothing.
constexpr int64_t kPipeWork = 1 << 17;
constexpr int64_t kPipeRows = 6;
constexpr int64_t kMaxPipeGroups = 64;

struct PipeGroups {
    int64_t steps, count;                         // steps per group, groups
    std::atomic<int64_t> next{0};                 // the first group nobody has claimed
    std::atomic<uint8_t> done[kMaxPipeGroups];    // its gate rows are written (release)

    PipeGroups(int64_t max_len, int64_t min_steps)
        : steps(steps_for(max_len, min_steps)), count(count_for(max_len, min_steps)) {
        for (auto& d : done) d.store(0, std::memory_order_relaxed);
    }
    static int64_t steps_for(int64_t max_len, int64_t min_steps) {
        return std::max(min_steps, (max_len + kMaxPipeGroups - 1) / kMaxPipeGroups);
    }
    static int64_t count_for(int64_t max_len, int64_t min_steps) {
        const int64_t st = steps_for(max_len, min_steps);
        return (max_len + st - 1) / st;
    }
};

// Per-call scratch, reused by the calling thread across calls (no allocation in the
// steady state, and no sharing between concurrent calls).
struct Workspace {
    AlignedFloats floats;
    std::vector<float*> ptrs;

    float* reserve_floats(int64_t n) {
        if (int64_t(floats.size()) < n) floats = AlignedFloats(size_t(n));
        return floats.data();
    }
    float** reserve_ptrs(int64_t n) {
        if (int64_t(ptrs.size()) < n) ptrs.resize(size_t(n));
        return ptrs.data();
    }
};
thread_local Workspace t_workspace;

struct Range {
    int64_t begin, end;
};
Range split(int64_t n, int tid, int parts) {
    return {n * tid / parts, n * (tid + 1) / parts};
}

// Per-direction scratch inside the workspace.
struct DirScratch {
    float* g;      // (chunk·B, nb·4W) gate pre-activations for one chunk of steps
    float* h[2];   // (B, Hq) h double buffer: step s reads h[s&1], writes h[(s+1)&1]
    float* c;      // (B, Hp)
    float* m;      // (B, Hp) o⊙tanh(c) before projection, or nullptr
    float** ptrs;  // per-thread pointer slices
};

}  // namespace

void LstmModel::forward(const ForwardArgs& a) const {
    if (weights_ == WeightType::Float32)
        run<float>(a);
    else if (weights_ == WeightType::Bfloat16)
        run<uint16_t>(a);
    else
        run<QMatrix>(a);
}

template <class Wt>
void LstmModel::run(const ForwardArgs& a, int max_threads, bool validated) const {
    const Kernels& kt = kernels();
    const GemmKernels<Wt>& K = [&]() -> const GemmKernels<Wt>& {
        if constexpr (std::is_same_v<Wt, float>)
            return kt.f32;
        else if constexpr (std::is_same_v<Wt, QMatrix>)
            return kt.int8;
        else
            return matmul_ == MatmulType::Bfloat16 ? kt.bf16dot : kt.bf16;
    }();
    const LstmSpec& s = spec_;
    const int64_t T = a.steps, B = a.batch, H = s.hidden_size, R = s.real_hidden(), P = s.proj_size;
    const int64_t D = s.directions(), L = s.num_layers, W = width_, nb = blocks_;
    if (T < 0 || B < 0) throw std::invalid_argument("negative sequence length or batch size");

    // --- validation: lengths, then finite values where they are read.
    int64_t max_len = T;
    if (a.lengths) {
        max_len = 0;
        for (int64_t b = 0; b < B; ++b) {
            const int64_t n = a.lengths[b];
            if (!validated && (n < 0 || n > T))
                throw std::invalid_argument("lengths[" + str(b) + "] = " + str(n) + " is out of range [0, " + str(T) +
                                            "] (T, the input's sequence length)");
            max_len = std::max(max_len, n);
        }
    }
    auto len = [&](int64_t b) { return a.lengths ? a.lengths[b] : T; };
    const int64_t SB = a.state_batch ? a.state_batch : B, SB0 = a.state_b0;  // the states' layout
    if (!validated) {
        for (int64_t b = 0; b < B; ++b)
            for (int64_t t = 0; t < len(b); ++t)
                if (!all_finite(a.x.data + t * a.x.t_stride + b * a.x.b_stride, s.input_size))
                    throw std::invalid_argument("input contains NaN or infinite values (at time step " + str(t) +
                                                ", batch element " + str(b) + ")");
        if (a.h0 && !all_finite(a.h0, L * D * SB * R)) throw std::invalid_argument("h_0 contains NaN or infinite values");
        if (matmul_ == MatmulType::Bfloat16) {
            // Rounding to bfloat16 must not overflow to infinity.
            for (int64_t b = 0; b < B; ++b)
                for (int64_t t = 0; t < len(b); ++t)
                    if (!all_bf16_finite(a.x.data + t * a.x.t_stride + b * a.x.b_stride, s.input_size))
                        throw std::invalid_argument(
                            "input value too large for the bfloat16 matmul (|x| >= 3.396e38) at time step " + str(t) +
                            ", batch element " + str(b));
            if (a.h0 && !all_bf16_finite(a.h0, L * D * SB * R))
                throw std::invalid_argument("h_0 value too large for the bfloat16 matmul (|h| >= 3.396e38)");
        }
        if (a.c0 && !all_finite(a.c0, L * D * SB * H)) throw std::invalid_argument("c_0 contains NaN or infinite values");
    }

    // --- sizes and workspace.
    const int64_t Hp = nb * W, Hq = std::max(Hp, proj_blocks_ * W);
    const int64_t gate_row = 4 * Hp;
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(std::max<int64_t>(max_len, 1),
                                                                  kChunkFloats / std::max<int64_t>(1, B * gate_row)));
    const int64_t threads = max_threads > 0 ? std::min(max_threads, get_num_threads()) : get_num_threads();
    const double step_work = 4.0 * double(H) * double(R) * double(B);  // double: a heuristic, never overflows
    // Bytes of one direction's W_hh, read every step, against this core's caches.
    const double rec_bytes = 4.0 * double(H) * double(R) *
                             (weights_ == WeightType::Float32 ? 4 : weights_ == WeightType::Bfloat16 ? 2 : 1);
    const CpuInfo& cpu = cpu_info();
    const double l1d = double(cpu.l1d_bytes), l2 = double(cpu.l2_bytes);
    const bool steps_beat_dirs = B <= kSplitDirsMaxBatch && rec_bytes > kSplitDirsMinL2 * l2;
    const bool parallel_dirs = D == 2 && threads >= 2 && !steps_beat_dirs &&
                               step_work * double(max_len) >= double(kSplitDirectionWork);
    // Batch split: from kBatchSplitRows rows per thread, each thread runs its own rows through
    // every step and layer, with no barrier at all. Rows are independent: each part gives
    // exactly what a call with its rows alone gives (tests/test_threads.py).
    double layer_bytes = 0;  // the largest layer's weights, both directions
    for (int64_t l = 0; l < L; ++l)
        layer_bytes = std::max(layer_bytes, double(D) * rec_bytes / double(R) * double(s.layer_input(l) + R));
    const int64_t min_rows = layer_bytes <= kBatchSplitMaxL2 * l2                 ? kBatchSplitMinRows
                             : layer_bytes <= kBatchSplitMaxL3 * double(cpu.l3_bytes) ? kBatchSplitRows
                                                                                      : 0;  // never
    if (threads >= 2 && !parallel_dirs && min_rows > 0 && B >= 2 * min_rows) {
        const int parts = int(std::min<int64_t>(threads, B / min_rows));
        parallel_run(parts, [&](int tid, int nt) {
            for (int p = tid; p < parts; p += nt) {
                const int64_t b0 = B * p / parts, b1 = B * (p + 1) / parts;
                ForwardArgs part = a;
                part.x.data = a.x.data + b0 * a.x.b_stride;
                part.y.data = a.y.data + b0 * a.y.b_stride;
                part.batch = b1 - b0;
                part.lengths = a.lengths ? a.lengths + b0 : nullptr;
                part.state_batch = SB;
                part.state_b0 = SB0 + b0;
                run<Wt>(part, 1, true);
            }
        });
        return;
    }
    const int64_t work_threads = int64_t(std::min(step_work / double(kSplitStepWork), 1024.0));
    const int64_t by_work = std::max<int64_t>(
        work_threads, work_threads < 2 && threads >= 2 && max_len > 1 && rec_bytes > l1d && !parallel_dirs &&
                              cross_core_round_trip_ns() <= kCheapRoundTripNs
                          ? 2
                          : 1);
    const int dir_threads = int(std::max<int64_t>(
        1, std::min<int64_t>({parallel_dirs ? 1 : threads, nb, by_work, SpinBarrier::kMaxThreads})));
    const int64_t pipe_steps = ceil_div(kPipeRows, std::max<int64_t>(B, 1));  // at least
    const bool pipelined = !parallel_dirs && dir_threads == 1 && threads >= 2 && max_len > pipe_steps &&
                           max_len <= chunk &&  // one chunk: the producer never overwrites unread gates
                           4.0 * double(H) * double(s.input_size) * double(B) * double(max_len) >= double(kPipeWork);
    const int64_t slots = parallel_dirs ? 2 : 1;
    const int64_t per_slot = mul_checked(mul_checked(chunk, B, "workspace"), gate_row, "workspace") +
                             mul_checked(B, 2 * Hq + Hp + (P > 0 ? Hp : 0), "workspace");
    const int64_t layer_buf = L > 1 ? mul_checked(mul_checked(T, B, "workspace"), D * R, "workspace") : 0;
    const int64_t total = mul_checked(slots, per_slot, "workspace") + 2 * layer_buf;
    if (total > max_workspace_bytes() / int64_t(sizeof(float)))
        throw std::length_error("this call would need " + str(total * int64_t(sizeof(float)) >> 20) +
                                " MiB of workspace, more than the " + str(max_workspace_bytes() >> 20) +
                                " MiB limit; split the batch or the sequence");
    const int64_t ptrs_per_thread = 2 * chunk * B + 4 * B;
    const int64_t thread_slots = (parallel_dirs || pipelined) ? 2 : dir_threads;
    Workspace& ws = t_workspace;
    float* f = ws.reserve_floats(total);
    float** pp = ws.reserve_ptrs(thread_slots * ptrs_per_thread);
    DirScratch scratch[2];
    for (int64_t i = 0; i < slots; ++i) {
        DirScratch& d = scratch[i];
        d.g = f + i * per_slot;
        d.h[0] = d.g + chunk * B * gate_row;
        d.h[1] = d.h[0] + B * Hq;
        d.c = d.h[1] + B * Hq;
        d.m = P > 0 ? d.c + B * Hp : nullptr;
        d.ptrs = pp + i * ptrs_per_thread;
    }
    float* layer_out[2] = {f + slots * per_slot, f + slots * per_slot + layer_buf};

    // Cache-friendly order. A pass over a matrix that does not fit the cache it streams from
    // (W_hh and W_hr every step; W_ih every chunk) evicts, under LRU-like replacement, exactly what the
    // next pass in the same order reads first: every read misses. So each pass visits the
    // blocks in the opposite order of the pass before (for_blocks in kernels_impl.h): the
    // blocks read last, still cached, are read first. The parities continue across calls
    // (steps_run_, passes_run_), so streaming one step per call alternates too. Blocks are
    // independent: the same results either way. Measured, A/B in alternating processes, Zen 5
    // (L1d 48 KiB, L2 1 MiB), µs, one order / alternating: 1 thread: (1,16,64,64) 10.6 / 9.0
    // (W_hh 64 KiB vs L1d), (1,128,128,256) 1177 / 1029, (1,64,300,256,2,bi) 3237 / 2920,
    // (1,128,256,512) 6432 / 5268, one step H=256 23.8 / 19.2; 2 threads: (1,128,128,256)
    // 537 / 437, (1,128,256,512) 3215 / 2535, one step 12.2 / 10.3; int8 H=512 1284 / 1154;
    // shapes that fit their caches (1,32,128,128), (4,32,64,64) unchanged.
    const uint64_t parity0 = steps_run_.fetch_add(uint64_t(std::max<int64_t>(max_len, 1)), std::memory_order_relaxed);
    const int64_t passes = pipelined ? PipeGroups::count_for(max_len, pipe_steps) : ceil_div(max_len, chunk);
    const uint64_t pass0 = passes_run_.fetch_add(uint64_t(std::max<int64_t>(passes, 1)), std::memory_order_relaxed);
    auto time_of = [&](int64_t d, int64_t step, int64_t b) { return d == 0 ? step : len(b) - 1 - step; };
    // The input rows of steps [st0, st1) that are in a sequence, and their gate rows in a
    // chunk starting at step s0; returns how many.
    auto gate_rows = [&](int64_t layer, int64_t d, const DirScratch& sc, int64_t s0, int64_t st0, int64_t st1,
                         const float** xr, float** gr) {
        const float* in = layer == 0 ? nullptr : layer_out[(layer - 1) & 1];
        int64_t n = 0;
        for (int64_t st = st0; st < st1; ++st)
            for (int64_t b = 0; b < B; ++b)
                if (st < len(b)) {
                    const int64_t t = time_of(d, st, b);
                    xr[n] = in ? in + (t * B + b) * D * R : a.x.data + t * a.x.t_stride + b * a.x.b_stride;
                    gr[n] = sc.g + ((st - s0) * B + b) * gate_row;
                    ++n;
                }
        return n;
    };

    // Claims the next group of a pipelined input projection and computes it, with the
    // pointer lists of thread slot `slot`; false when every group is claimed.
    auto project_group = [&](int64_t layer, int64_t d, const DirScratch& sc, int slot, PipeGroups& pg) {
        const int64_t group = pg.next.fetch_add(1, std::memory_order_relaxed);
        if (group >= pg.count) return false;
        const Direction& dir = dirs_[size_t(layer * D + d)];
        const float** xr = const_cast<const float**>(sc.ptrs + slot * ptrs_per_thread);
        float** gr = sc.ptrs + slot * ptrs_per_thread + chunk * B;
        const int64_t n =
            gate_rows(layer, d, sc, 0, group * pg.steps, std::min(max_len, (group + 1) * pg.steps), xr, gr);
        K.input_projection(xr, n, s.layer_input(layer), matrices<Wt>(dir).w_ih.data(), dir.bias.data(), gr, 0, nb,
                           (pass0 + uint64_t(group)) & 1);
        pg.done[group].store(1, std::memory_order_release);
        return true;
    };

    // --- one direction of one layer, run by `nthreads` threads that share `bar`. With `pg`
    // (pipelined, one thread here and one running project_group), the input projection is
    // taken group by group as the steps need it.
    auto run_direction = [&](int64_t layer, int64_t d, const DirScratch& sc, int tid, int nthreads, SpinBarrier* bar,
                             PipeGroups* pg) {
        const Direction& dir = dirs_[size_t(layer * D + d)];
        const PackedMatrices<Wt>& w = matrices<Wt>(dir);
        const int64_t Kin = s.layer_input(layer);
        const int64_t idx = layer * D + d;
        const bool last = layer == L - 1;
        float* out = last ? nullptr : layer_out[layer & 1];
        auto out_row = [&](int64_t t, int64_t b) -> float* {
            return (out ? out + (t * B + b) * D * R : a.y.data + t * a.y.t_stride + b * a.y.b_stride) + d * R;
        };
        auto sync = [&] {
            if (nthreads > 1) bar->wait(tid);
        };
        float** my = sc.ptrs + (parallel_dirs ? 0 : tid * ptrs_per_thread);
        const Range blocks = split(nb, tid, nthreads);
        const Range pblocks = split(proj_blocks_, tid, nthreads);
        // Columns of h this thread writes to the output: its own blocks.
        const Range cols = P > 0 ? Range{std::min(pblocks.begin * W, R), std::min(pblocks.end * W, R)}
                                 : Range{std::min(blocks.begin * W, R), std::min(blocks.end * W, R)};

        for (int64_t s0 = 0; s0 < max_len; s0 += chunk) {
            const int64_t s1 = std::min(max_len, s0 + chunk);
            // A chunk of one step (a streaming call, or a batch whose gate rows fill a chunk by
            // themselves) fuses the input projection into the step: no gate buffer round trip
            // (kChunkFloats). The sums are the same, in the same order.
            const bool fused = s1 - s0 == 1 && !pg;
            // Input projection for every (step, row) of this chunk that is in a sequence.
            // Each thread computes and later reads only its own blocks of the gate buffer,
            // so no barrier is needed between the projection and the steps.
            const float** xr = const_cast<const float**>(my);
            float** gr = my + chunk * B;
            if (!pg) {
                const int64_t n = gate_rows(layer, d, sc, s0, s0, s1, xr, gr);
                if (!fused)
                    K.input_projection(xr, n, Kin, w.w_ih.data(), dir.bias.data(), gr, blocks.begin, blocks.end,
                                       (pass0 + uint64_t(s0 / chunk)) & 1);
            }
            for (int64_t st = s0; st < s1; ++st) {
                if (pg) {  // (one chunk: s0 == 0)
                    // This step's group: done, or computed here if unclaimed, or awaited.
                    const std::atomic<uint8_t>& mine = pg->done[st / pg->steps];
                    while (!mine.load(std::memory_order_acquire))
                        if (!project_group(layer, d, sc, 0, *pg)) wait_for_flag(mine);
                    // The next step's rows may be in the other core's cache: fetch them now.
                    if (st + 1 < s1 && pg->done[(st + 1) / pg->steps].load(std::memory_order_acquire))
                        for (int64_t b = 0; b < B; ++b)
                            if (st + 1 < len(b)) prefetch_floats(sc.g + ((st + 1) * B + b) * gate_row, gate_row);
                }
                const float** g = const_cast<const float**>(my + 2 * chunk * B);
                const float** hp = g + B;
                float** c = my + 2 * chunk * B + 2 * B;
                float** o = c + B;
                float* hcur = sc.h[st & 1];
                float* hnext = sc.h[(st + 1) & 1];
                int64_t act = 0;
                for (int64_t b = 0; b < B; ++b)
                    if (st < len(b)) {
                        g[act] = sc.g + ((st - s0) * B + b) * gate_row;
                        hp[act] = hcur + b * Hq;
                        c[act] = sc.c + b * Hp;
                        o[act] = (P > 0 ? sc.m + b * Hp : hnext + b * Hq);
                        ++act;
                    }
                StepArgs<Wt> step{fused ? nullptr : g, xr, Kin, w.w_ih.data(), dir.bias.data(), hp, R,
                                  w.w_hh.data(), c, o, act};
                step.reverse = (parity0 + uint64_t(st)) & 1;
                K.lstm_step(step, blocks.begin, blocks.end);
                if (P > 0) {
                    sync();  // m complete before the projection reads all of it
                    float** hn = c;  // reuse: c pointers are not needed after the gates
                    for (int64_t j = 0, b = 0; b < B; ++b)
                        if (st < len(b)) hn[j++] = hnext + b * Hq;
                    K.projection(const_cast<const float**>(o), hn, act, H, w.w_hr.data(), pblocks.begin,
                                 pblocks.end, step.reverse);
                }
                if (cols.end > cols.begin)
                    for (int64_t b = 0; b < B; ++b)
                        if (st < len(b))
                            std::memcpy(out_row(time_of(d, st, b), b) + cols.begin, hnext + b * Hq + cols.begin,
                                        size_t(cols.end - cols.begin) * sizeof(float));
                sync();  // h_{t} complete before anyone starts step t+1
            }
        }
        if (tid == 0) {
            for (int64_t b = 0; b < B; ++b) {
                std::memcpy(a.h_n + (idx * SB + SB0 + b) * R, sc.h[len(b) & 1] + b * Hq, size_t(R) * sizeof(float));
                std::memcpy(a.c_n + (idx * SB + SB0 + b) * H, sc.c + b * Hp, size_t(H) * sizeof(float));
            }
        }
    };

    // Initial state into a direction's scratch, before its threads start.
    auto init_state = [&](int64_t layer, int64_t d, const DirScratch& sc) {
        const int64_t idx = layer * D + d;
        for (int64_t b = 0; b < B; ++b) {
            float* h = sc.h[0] + b * Hq;
            std::memset(h, 0, size_t(Hq) * sizeof(float));
            if (a.h0) std::memcpy(h, a.h0 + (idx * SB + SB0 + b) * R, size_t(R) * sizeof(float));
            float* c = sc.c + b * Hp;
            std::memset(c, 0, size_t(Hp) * sizeof(float));
            if (a.c0) std::memcpy(c, a.c0 + (idx * SB + SB0 + b) * H, size_t(H) * sizeof(float));
        }
    };

    for (int64_t layer = 0; layer < L; ++layer) {
        if (parallel_dirs) {
            for (int64_t d = 0; d < D; ++d) init_state(layer, d, scratch[d]);
            parallel_run(2, [&](int tid, int n) {
                for (int64_t d = tid; d < D; d += n) run_direction(layer, d, scratch[d % slots], 0, 1, nullptr, nullptr);
            });
        } else {
            for (int64_t d = 0; d < D; ++d) {
                init_state(layer, d, scratch[0]);
                if (pipelined) {
                    PipeGroups pg(max_len, pipe_steps);
                    parallel_run(2, [&](int tid, int) {
                        if (tid == 0)  // (alone if the pool was busy: it then claims every group)
                            run_direction(layer, d, scratch[0], 0, 1, nullptr, &pg);
                        else
                            while (project_group(layer, d, scratch[0], 1, pg)) {
                            }
                    });
                    continue;
                }
                const int n = std::min<int>(dir_threads, int(threads));
                SpinBarrier bar(n);
                parallel_run(n, [&](int tid, int nt) { run_direction(layer, d, scratch[0], tid, nt, &bar, nullptr); });
            }
        }
    }
    // Outputs past each sequence's end are zero (pad_packed_sequence).
    for (int64_t b = 0; b < B; ++b)
        for (int64_t t = len(b); t < T; ++t)
            std::memset(a.y.data + t * a.y.t_stride + b * a.y.b_stride, 0, size_t(D * R) * sizeof(float));
    // A service thread keeps a small workspace for its next call, but not the memory of
    // one giant call: past kKeepWorkspace it is released (a call that big amortizes it).
    if (ws.floats.size() * sizeof(float) > kKeepWorkspaceBytes) ws.floats = AlignedFloats();
}

}  // namespace lstm_fast
