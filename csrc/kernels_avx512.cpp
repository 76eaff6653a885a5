// The avx512 kernel table: kernels_impl.h instantiated under this file's compile flags
// (see CMakeLists.txt). Nothing else belongs here.
#include "vec_avx512.h"
#include "kernels_impl.h"

namespace lstm_fast {
Kernels make_kernels_avx512() { return make_kernels<Avx512>("avx512"); }
}  // namespace lstm_fast
