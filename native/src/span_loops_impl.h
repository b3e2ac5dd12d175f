// faceverloss native engine: the span loops of span_loops.h, included once per instruction set by
// span_loops_{scalar,avx2,avx512}.cc, each defining FVL_SPAN_LOOPS (the table's name) and FVL_SPAN_NAME.
// Only common.h is included: nothing from the standard library is compiled with the unit's ISA flags.
#include "span_loops.h"

namespace fvl {
namespace {

void prelu_forward(const float* FVL_RESTRICT x, const float* FVL_RESTRICT a, float* FVL_RESTRICT y, int64_t count,
                   int64_t w) {
  for (int64_t s = 0; s < count; ++s, x += w, y += w) {
    // pos + a·neg, with -0 standing in for the part that is absent, is x < 0 ? a·x : x without a
    // branch (NaN and signed zeros included, but for -0 with a negative a, which gives +0): activations
    // change sign at random, and the branch-free loop vectorises (4–5× faster).
    for (int64_t j = 0; j < w; ++j) {
      const float v = x[j];
      const float pos = v < 0.0f ? -0.0f : v;
      const float neg = v < 0.0f ? v : -0.0f;
      y[j] = pos + a[j] * neg;
    }
  }
}

void prelu_backward(const float* FVL_RESTRICT dy, const float* FVL_RESTRICT x, const float* FVL_RESTRICT a,
                    float* FVL_RESTRICT dx, float* FVL_RESTRICT sum, float* FVL_RESTRICT dx_sum, int64_t count,
                    int64_t w) {
  for (int64_t s = 0; s < count; ++s, dy += w, x += w, dx += w) {
    for (int64_t j = 0; j < w; ++j) {
      // Not `v <= 0`: a NaN input takes the negative branch, as TF.js's where(x > 0, …) does. Named
      // selects of values loaded and computed unconditionally (GCC leaves the inline form scalar at SSE2).
      const float v = x[j];
      const float d = dy[j];
      const float slope = a[j];
      const bool pos = v > 0.0f;
      const float factor = pos ? 1.0f : slope;
      const float add = pos ? 0.0f : d * v;
      const float g = d * factor;
      dx[j] = g;
      sum[j] = sum[j] + add;
      dx_sum[j] = dx_sum[j] + g;
    }
  }
}

void shifted_moments(const float* FVL_RESTRICT x, const float* FVL_RESTRICT k, float* FVL_RESTRICT s1,
                     float* FVL_RESTRICT s2, int64_t count, int64_t w) {
  for (int64_t s = 0; s < count; ++s, x += w) {
    for (int64_t j = 0; j < w; ++j) {
      const float d = x[j] - k[j];
      s1[j] += d;
      s2[j] += d * d;
    }
  }
}

void normalize(const float* FVL_RESTRICT x, const float* FVL_RESTRICT mean, const float* FVL_RESTRICT scale,
               const float* FVL_RESTRICT shift, float* FVL_RESTRICT y, int64_t count, int64_t w) {
  for (int64_t s = 0; s < count; ++s, x += w, y += w)
    for (int64_t j = 0; j < w; ++j) y[j] = (x[j] - mean[j]) * scale[j] + shift[j];
}

void gradient_moments(const float* FVL_RESTRICT dy, const float* FVL_RESTRICT x, const float* FVL_RESTRICT mean,
                      const float* FVL_RESTRICT r, float* FVL_RESTRICT s_dy, float* FVL_RESTRICT s_dyx, int64_t count,
                      int64_t w) {
  for (int64_t s = 0; s < count; ++s, dy += w, x += w) {
    for (int64_t j = 0; j < w; ++j) {
      s_dy[j] += dy[j];
      s_dyx[j] += dy[j] * ((x[j] - mean[j]) * r[j]);
    }
  }
}

void affine2(const float* FVL_RESTRICT dy, const float* FVL_RESTRICT x, const float* FVL_RESTRICT a,
             const float* FVL_RESTRICT b, const float* FVL_RESTRICT k, float* FVL_RESTRICT out, int64_t count,
             int64_t w) {
  for (int64_t s = 0; s < count; ++s, dy += w, x += w, out += w)
    for (int64_t j = 0; j < w; ++j) out[j] = a[j] * dy[j] + b[j] * x[j] + k[j];
}

}  // namespace

extern const SpanLoops FVL_SPAN_LOOPS = {
    FVL_SPAN_NAME, prelu_forward, prelu_backward, shifted_moments, normalize, gradient_moments, affine2,
};

}  // namespace fvl
