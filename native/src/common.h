// faceverloss native engine: shared definitions.
//
// Everything under native/src is plain C++17 with no dependency beyond the standard library. The
// kernel translation units (kernels_*.cc) include nothing but this header and <immintrin.h>, so that
// no inline standard-library code is ever compiled with AVX flags and then picked by the linker for
// use on a CPU that lacks them.
#pragma once

#include <stddef.h>
#include <stdint.h>

#if defined(_MSC_VER)
#define FVL_RESTRICT __restrict
#define FVL_INLINE __forceinline
#else
#define FVL_RESTRICT __restrict__
#define FVL_INLINE inline __attribute__((always_inline))
#endif

// x86-64 SIMD kernels (AVX2, AVX-512) are compiled in unless FVL_PORTABLE_ONLY is defined; every
// other architecture gets the portable kernel only.
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(FVL_PORTABLE_ONLY)
#define FVL_X86_64 1
#endif

namespace fvl {

// Alignment of every packing buffer: one cache line, which is also one AVX-512 register.
constexpr size_t kAlign = 64;

// Instruction-set levels, in increasing order. A level is usable only when the CPU and the OS
// (saved register state) both support it.
enum class Isa : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

}  // namespace fvl
