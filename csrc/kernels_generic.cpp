// The generic kernel table: kernels_impl.h instantiated under this file's compile flags
// (see CMakeLists.txt). Nothing else belongs here.
#include "vec_generic.h"
#include "kernels_impl.h"

namespace lstm_fast {
Kernels make_kernels_generic() { return make_kernels<Generic>("generic"); }
}  // namespace lstm_fast
