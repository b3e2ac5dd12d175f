// faceverloss native engine: the inner loops of the per-channel layer kernels (PReLU, batch
// normalisation), one set per instruction set.
//
// Each loop runs along one span of channels-last values (channel_spans.h), per-channel values already
// repeated over the span, so it is a plain loop over arrays that the compiler vectorises at the width of
// the instruction set its translation unit is built for (span_loops_{scalar,avx2,avx512}.cc, which
// include span_loops_impl.h). The AVX units are compiled with -ffp-contract=off and the x86-64 baseline
// has no multiply-add: none is fused, so every level gives the same bits.
#pragma once

#include "common.h"

namespace fvl {

// Each loop runs over `count` consecutive spans of `w` values; per-channel arrays (a, k, mean, …) and
// sums hold one span: element j of every span uses, and adds into, their element j.
struct SpanLoops {
  const char* name;
  // y = x < 0 ? a·x : x.
  void (*prelu_forward)(const float* x, const float* a, float* y, int64_t count, int64_t w);
  // dx = x > 0 ? dy : dy·a;  sum += x > 0 ? 0 : dy·x;  dx_sum += dx.
  void (*prelu_backward)(const float* dy, const float* x, const float* a, float* dx, float* sum, float* dx_sum,
                         int64_t count, int64_t w);
  // d = x − k;  s1 += d;  s2 += d·d.
  void (*shifted_moments)(const float* x, const float* k, float* s1, float* s2, int64_t count, int64_t w);
  // y = (x − mean)·scale + shift.
  void (*normalize)(const float* x, const float* mean, const float* scale, const float* shift, float* y,
                    int64_t count, int64_t w);
  // s_dy += dy;  s_dyx += dy·((x − mean)·r).
  void (*gradient_moments)(const float* dy, const float* x, const float* mean, const float* r, float* s_dy,
                           float* s_dyx, int64_t count, int64_t w);
  // out = a·dy + b·x + k.
  void (*affine2)(const float* dy, const float* x, const float* a, const float* b, const float* k, float* out,
                  int64_t count, int64_t w);
};

extern const SpanLoops kSpanLoopsScalar;
#if FVL_X86_64
extern const SpanLoops kSpanLoopsAvx2;
extern const SpanLoops kSpanLoopsAvx512;
#endif

// The loops of the active instruction set (gemm.h's active_isa: FACEVERLOSS_DISPATCH and set_dispatch).
const SpanLoops& active_span_loops();

}  // namespace fvl
