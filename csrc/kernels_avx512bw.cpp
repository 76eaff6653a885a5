// The int8 kernels with AVX512BW but no AVX512_VNNI: kernels_impl.h's int8 kernels
// instantiated under this file's flags (-mavx512bw, see CMakeLists.txt). cpu.cpp installs
// them on AVX-512 CPUs that report AVX512BW and not AVX512_VNNI. Nothing else belongs here.
#include "vec_avx512bw.h"
#include "kernels_impl.h"

namespace lstm_fast {
GemmKernels<QMatrix> make_int8_avx512bw() { return make_int8<Avx512Bw>(); }
}  // namespace lstm_fast
