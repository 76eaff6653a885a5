// The avx2 kernel table: kernels_impl.h instantiated under this file's compile flags
// (see CMakeLists.txt). Nothing else belongs here.
#include "vec_avx2.h"
#include "kernels_impl.h"

namespace lstm_fast {
Kernels make_kernels_avx2() { return make_kernels<Avx2>("avx2"); }
}  // namespace lstm_fast
