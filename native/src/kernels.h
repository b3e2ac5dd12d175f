// faceverloss native engine: the micro-kernel table.
//
// A micro-kernel multiplies one packed MR×kc panel of A by one packed kc×NR panel of B and merges the
// MR×NR result into C. Everything else (blocking for the caches, packing, threading, edges) is done
// once, in gemm.cc, for every instruction set; a kernel file only says how to do that inner product
// fast. Packed layouts (k-major, so each step of the k loop reads consecutive memory):
//
//   A panel: a[k*MR + i] = op(A)(i0 + i, k0 + k)        rows past the edge are zero
//   B panel: b[k*NR + j] = op(B)(k0 + k, j0 + j)        columns past the edge are zero
//
// Panels are 64-byte aligned and NR is a multiple of the vector width, so B loads are aligned.
#pragma once

#include "common.h"

namespace fvl {

// C[i*ldc + j] = alpha * sum_k a[k*MR + i] * b[k*NR + j] + beta * C[i*ldc + j], for the full MR×NR
// tile. beta == 0 means C is write-only: its old contents are never read (they may be NaN).
typedef void (*SgemmMicroKernel)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                 float alpha, float beta);

// The order in which the macro-kernel sweeps the micro-panels of a packed block.
enum class PanelOrder : int {
  // B micro-panel outermost: its kc·NR floats stay in L1 while the A micro-panels stream past it from L2.
  KeepB = 0,
  // A micro-panel outermost: its MR·kc floats stay in L1 while the B micro-panels stream past it from
  // L2, which the hardware prefetcher follows well (two full lines per k step). For kernels whose B
  // panel does not fit in L1 at their depth.
  KeepA = 1,
};

// Packing comes in two shapes, depending on how the operand is stored:
//
// pack_t: the W-wide strip is stored as w rows along k (src[p*ld + k]), so packing is a transpose:
//   dst[k*W + p] = src[p*ld + k], zero for w ≤ p < W. One micro-panel per call.
// pack_n: the block is stored as kc rows of n elements (src[k*ld + p]), so packing is a copy into
//   ceil(n/W) micro-panels: panel q gets dst[q*W*kc + k*W + r] = src[k*ld + q*W + r], zero past n.
//   Walking k in the outer loop reads each source row once, front to back.
//
// nullptr selects the portable version of either.
typedef void (*PackTransposeFn)(float* dst, const float* src, int64_t ld, int W, int w, int64_t kc);
typedef void (*PackCopyFn)(float* dst, const float* src, int64_t ld, int W, int64_t n, int64_t kc);

// The peak probe: `iterations` rounds of twelve independent multiply-add chains on full vectors of the
// kernel's instruction set (no memory traffic, enough chains to cover the FMA latency on two pipes).
// Returns the flops done (2 per lane per multiply-add); `sink` receives a value that depends on every
// chain, so the compiler cannot drop them.
typedef double (*FmaProbeFn)(int64_t iterations, float* sink);

struct SgemmKernel {
  const char* name;  // "avx512", "avx2", "scalar": also the dispatch level reported to JavaScript
  Isa isa;
  int mr, nr;        // register tile
  int kc, mc, nc;    // default cache blocking (elements): a micro-panel in L1 (see PanelOrder), mc×kc A block in L2
  SgemmMicroKernel ukr;
  PackTransposeFn pack_t;
  PackCopyFn pack_n;
  FmaProbeFn fma_probe;
  PanelOrder order;
};

extern const SgemmKernel kSgemmScalar;
#if FVL_X86_64
extern const SgemmKernel kSgemmAvx2;
extern const SgemmKernel kSgemmAvx512;
#endif

}  // namespace fvl
