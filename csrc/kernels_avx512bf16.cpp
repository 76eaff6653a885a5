// The bfloat16 matmul kernels with AVX512_BF16: kernels_impl.h's dot-mode kernels
// instantiated under this file's flags (-mavx512bf16, see CMakeLists.txt). cpu.cpp
// installs them only on CPUs that report AVX512_BF16. Nothing else belongs here.
#include "vec_avx512bf16.h"
#include "kernels_impl.h"

namespace lstm_fast {
GemmKernels<bf16_t> make_bf16dot_avx512bf16() { return make_bf16dot<Avx512Bf16>(); }
}  // namespace lstm_fast
