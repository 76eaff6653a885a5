// Vec<Isa>: the few SIMD operations the kernels need, specialised per ISA in
// vec_generic.h, vec_avx2.h and vec_avx512.h. Each header is included only by the
// translation unit compiled for its ISA, and everything lives in an anonymous
// namespace, so no function compiled with AVX flags can be merged into another path.
#pragma once

namespace lstm_fast {
struct Generic {};
struct Avx2 {};
struct Avx512 {};
struct Avx512Bf16 {};  // Avx512 plus AVX512_BF16 (vdpbf16ps), for the bfloat16 matmul mode only
struct Avx512Vnni {};  // Avx512 plus AVX512_VNNI (vpdpbusd), for the int8 kernels only
struct Avx512Bw {};    // Avx512 plus AVX512BW (vpmaddubsw), the int8 kernels where VNNI is missing
}  // namespace lstm_fast
