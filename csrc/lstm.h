// lstm_fast C++ core: an LSTM forward pass with torch.nn.LSTM semantics, fp32, CPU.
//
// Equations, per layer and direction, gates in PyTorch's order (i, f, g, o):
//   z   = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          (4H values: i | f | g | o)
//   i   = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
//   c_t = f ⊙ c_{t-1} + i ⊙ g
//   h_t = o ⊙ tanh(c_t)               (with proj_size P > 0: h_t = W_hr (o ⊙ tanh(c_t)), P values)
// R = P if P > 0 else H is the size of h. Layer l > 0 reads the previous layer's
// output, D·R values per step (D = 2 if bidirectional: forward then reverse).
//
// Torch weight layouts (row-major, as torch stores them):
//   weight_ih_l{k}[_reverse]  (4H, I_k)   weight_hh_l{k}[_reverse] (4H, R)
//   bias_ih / bias_hh         (4H)        weight_hr                (P, H)
//
// Packed layout (what the kernels read), built once at load:
//   hidden units are cut into blocks of W = kernels().width units (the SIMD width);
//   for block b and input index k, the 4·W floats [i(W) f(W) g(W) o(W)] of those units
//   are contiguous: packed[(b·K + k)·4W + q·W + j] = weight[q·H + b·W + j][k].
//   One weight load therefore feeds all four gates of W units, and the gate nonlinearity
//   runs in registers right after the dot products (no 4H pre-activation round trip).
//   On AVX2 (Kernels::gate_group = 2) each block is stored as two halves instead, gates
//   (i, f) for every k, then (g, o), each half followed by 2W zeros (group_pad, kernels.h):
//   packed[(2b + q/2)·(2W·K + 2W) + k·2W + (q%2)·W + j] (its tiles read two gate vectors
//   per pass over K; kernels_impl.h, Tile<Avx2>).
//   Units past H (padding) have zero weights and bias, so their c and h stay exactly 0.
//   bfloat16 storage (opt-in) pairs consecutive k in one 32-bit lane instead:
//   packed[((b·Kp + k/2)·4 + q)·2W + 2j + k%2], Kp = ceil(K/2), so one vector load gives
//   the weights of k and k+1 (widened by a shift and a mask); on AVX2 in the same two
//   halves, pairs in place of k.
//   W_hr is packed the same way with one "gate": packed[(b·H + k)·W + j] = W_hr[b·W + j][k].
//
// Sequence lengths follow pack_padded_sequence(enforce_sorted=False) → LSTM →
// pad_packed_sequence(total_length=T): outputs past a sequence's end are 0, h_n/c_n hold
// its last valid step, and the reverse direction starts at the sequence's own end.
// A length of 0 is allowed (torch rejects it): no step runs, h_n = h_0, c_n = c_0.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "kernels.h"

namespace lstm_fast {

struct LstmSpec {
    int64_t input_size = 0;
    int64_t hidden_size = 0;
    int64_t num_layers = 1;
    bool bias = true;
    bool bidirectional = false;
    int64_t proj_size = 0;

    int64_t directions() const { return bidirectional ? 2 : 1; }
    int64_t real_hidden() const { return proj_size > 0 ? proj_size : hidden_size; }
    int64_t layer_input(int64_t layer) const { return layer == 0 ? input_size : real_hidden() * directions(); }
    // Number of torch tensors per (layer, direction): w_ih, w_hh, [b_ih, b_hh], [w_hr].
    int64_t tensors_per_direction() const { return 2 + (bias ? 2 : 0) + (proj_size > 0 ? 1 : 0); }
};

// Where the sequence lives in memory: element (t, b, k) is at data[t*t_stride + b*b_stride + k].
struct SeqView {
    const float* data = nullptr;
    int64_t t_stride = 0;
    int64_t b_stride = 0;
};
struct SeqOut {
    float* data = nullptr;
    int64_t t_stride = 0;
    int64_t b_stride = 0;
};

struct ForwardArgs {
    SeqView x;                        // (T, B, input_size)
    int64_t steps = 0;                // T
    int64_t batch = 0;                // B
    const int64_t* lengths = nullptr; // B entries in [0, T], or nullptr for all T
    const float* h0 = nullptr;        // (L·D, B, R) contiguous, or nullptr for zeros
    const float* c0 = nullptr;        // (L·D, B, H) contiguous, or nullptr for zeros
    SeqOut y;                         // (T, B, D·R)
    float* h_n = nullptr;             // (L·D, B, R) contiguous
    float* c_n = nullptr;             // (L·D, B, H) contiguous
    // The states' layout, when these B rows are rows [state_b0, state_b0 + B) of a larger
    // batch of state_batch (lstm.cpp's batch split): h0[(l·state_batch + state_b0 + b)·R].
    // 0: state_batch = B, state_b0 = 0.
    int64_t state_batch = 0;
    int64_t state_b0 = 0;
};

// 64-byte aligned buffer, zero-filled.
template <class T>
class AlignedBuffer {
  public:
    AlignedBuffer() = default;
    explicit AlignedBuffer(size_t n) : ptr(n ? static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t(64))) : nullptr), count(n) {
        if (n) std::memset(static_cast<void*>(ptr.get()), 0, n * sizeof(T));
    }
    T* data() { return ptr.get(); }
    const T* data() const { return ptr.get(); }
    size_t size() const { return count; }

  private:
    struct Free {
        void operator()(T* p) const { ::operator delete[](p, std::align_val_t(64)); }
    };
    std::unique_ptr<T, Free> ptr;
    size_t count = 0;
};
using AlignedFloats = AlignedBuffer<float>;

// How the weight matrices are stored. Float32 is exact (torch parity); Bfloat16 halves
// the bytes streamed per step (the batch-1 bottleneck) at ~3 significant digits per
// weight: weights are rounded once at load, widened back to float in registers, and
// all arithmetic (h, c, gates, sums) stays float32.
//
// Int8 (opt-in) stores each weight row as int8 with one float scale per output unit and
// quantizes what it multiplies per row and call (dynamic quantization, as in torch's
// quantize_dynamic): integer dot products, one float multiply per output. See QMatrix.
enum class WeightType { Float32, Bfloat16, Int8 };

// What the matrix products multiply. Float32: the float32 inputs (x, h) times the stored
// weights, exactly. Bfloat16 (opt-in, needs Bfloat16 weights): the inputs are rounded to
// bfloat16 too (nearest even), each product is exact in float32 and the sums are float32,
// as in AVX512_BF16's vdpbf16ps (used when the CPU has it; emulated otherwise, with the
// same numbers up to the order of the float32 sums). Gates, c and h stay float32.
// Int8: the only matmul of (and only for) int8 weights.
enum class MatmulType { Float32, Bfloat16, Int8 };

// The weight matrices of one (layer, direction) in the packed layout, stored as Wt
// (float, or uint16_t holding bfloat16).
template <class Wt>
struct PackedMatrices {
    AlignedBuffer<Wt> w_ih;  // packed (nb, I_k, 4W)
    AlignedBuffer<Wt> w_hh;  // packed (nb, R, 4W)
    AlignedBuffer<Wt> w_hr;  // packed (nbp, H, W), empty without projection
};

// One int8 matrix: quads, scales, corrections (QMatrix), and the view the kernels take.
struct QuantBuffer {
    AlignedBuffer<int8_t> w;
    AlignedFloats scale;
    AlignedBuffer<int32_t> wsum128;
    QMatrix view{};  // points into the buffers above (heap memory: stable under moves)
    const QMatrix* data() const { return &view; }
};
template <>
struct PackedMatrices<QMatrix> {
    QuantBuffer w_ih, w_hh, w_hr;
};

// An LSTM with weights packed for the kernels of the ISA chosen at start-up.
// Immutable after construction: forward() is const, allocates its scratch per call
// (reused per thread), and is safe to call from many threads at once.
class LstmModel {
  public:
    // `tensors`: for each layer, for each direction, the torch tensors in the order
    // w_ih, w_hh, [b_ih, b_hh], [w_hr], each row-major with the shapes above.
    // Throws std::invalid_argument on a bad spec or non-finite weights.
    LstmModel(const LstmSpec& spec, const std::vector<const float*>& tensors,
              WeightType weights = WeightType::Float32, MatmulType matmul = MatmulType::Float32);

    // Checks lengths, states and inputs (finite values, sizes), then runs.
    // Throws std::invalid_argument / std::length_error on bad input.
    void forward(const ForwardArgs& args) const;

    const LstmSpec& spec() const { return spec_; }
    int64_t block_width() const { return width_; }
    WeightType weight_type() const { return weights_; }
    MatmulType matmul_type() const { return matmul_; }

  private:
    struct Direction {
        PackedMatrices<float> f32;      // filled for WeightType::Float32
        PackedMatrices<uint16_t> bf16;  // filled for WeightType::Bfloat16
        PackedMatrices<QMatrix> i8;     // filled for WeightType::Int8
        AlignedFloats bias;       // packed (nb, 4W): b_ih + b_hh, always float
    };
    // threads: at most this many (0: get_num_threads()); validated: the caller checked the
    // inputs already (a part of a batch split).
    template <class Wt>
    void run(const ForwardArgs& args, int threads = 0, bool validated = false) const;
    template <class Wt>
    static const PackedMatrices<Wt>& matrices(const Direction& d);

    LstmSpec spec_;
    WeightType weights_;
    MatmulType matmul_;
    int64_t width_;
    int64_t blocks_;       // ceil(H / W)
    int64_t proj_blocks_;  // ceil(P / W)
    std::vector<Direction> dirs_;  // layer-major: index = layer·D + d
    // Steps and input-projection passes run so far (all calls, relaxed): each pass over a
    // matrix visits its blocks in the opposite order of the one before (lstm.cpp). Every
    // call writes them: a cache line of their own, so concurrent callers of one model do
    // not also invalidate the fields above, which every call reads.
    alignas(64) mutable std::atomic<uint64_t> steps_run_{0};
    mutable std::atomic<uint64_t> passes_run_{0};
};

// Throws std::invalid_argument unless all sizes are positive, proj_size < hidden_size,
// and the parameter count stays within max_parameters().
void check_spec(const LstmSpec& spec);
int64_t parameter_count(const LstmSpec& spec);
constexpr int64_t max_parameters() { return int64_t(1) << 31; }  // 8 GiB of fp32
// Largest workspace one call may use; a call that needs more raises instead of paging.
constexpr int64_t max_workspace_bytes() { return int64_t(16) << 30; }

}  // namespace lstm_fast
