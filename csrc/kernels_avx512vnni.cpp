// The int8 kernels with AVX512_VNNI: kernels_impl.h's int8 kernels instantiated under
// this file's flags (-mavx512vnni, see CMakeLists.txt). cpu.cpp installs them only on
// CPUs that report AVX512_VNNI. Nothing else belongs here.
#include "vec_avx512vnni.h"
#include "kernels_impl.h"

namespace lstm_fast {
GemmKernels<QMatrix> make_int8_avx512vnni() { return make_int8<Avx512Vnni>(); }
}  // namespace lstm_fast
