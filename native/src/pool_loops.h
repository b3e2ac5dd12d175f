// faceverloss native engine: the inner loops of max pooling over 2×2 windows (NHWC), one set per
// instruction set.
//
// The pooling kernels (nn_kernels.cc) hand these loops runs of windows that all have four taps, the
// common case of 2×2 pooling; each loop runs along the channels of a window, contiguous in NHWC, at the
// width of the instruction set its translation unit is built for (pool_loops_{scalar,avx2,avx512}.cc,
// which include pool_loops_impl.h). Only comparisons and selects: every level gives the same bits.
#pragma once

#include "common.h"

namespace fvl {

// A run of `windows` windows of 2×2 pixels of C channels over two input rows r0 and r1 (the row below):
// window k covers the pixels at r0 + k·step and the next one, and the same two of r1. Taps are in scan
// order r0, r0 + C, r1, r1 + C.
struct PoolLoops {
  const char* name;
  // out[k·C + c] = the maximum of window k's taps for channel c, from -inf in scan order (NaN never wins).
  void (*max2x2)(const float* r0, const float* r1, float* out, int64_t windows, int64_t step, int64_t C);
  // The gradient: of each window and channel, the first maximum in scan order (strictly greater; NaN
  // and -inf never win) gets d[k·C + c] and the other taps 0, written at the taps' places in o0 and o1
  // (the dx rows of r0 and r1).
  void (*max2x2_gradient)(const float* r0, const float* r1, const float* d, float* o0, float* o1, int64_t windows,
                          int64_t step, int64_t C);
};

extern const PoolLoops kPoolLoopsScalar;
#if FVL_X86_64
extern const PoolLoops kPoolLoopsAvx2;
extern const PoolLoops kPoolLoopsAvx512;
#endif

// The loops of the active instruction set (gemm.h's active_isa: FACEVERLOSS_DISPATCH and set_dispatch).
const PoolLoops& active_pool_loops();

}  // namespace fvl
