// faceverloss native engine: vectorised row sweeps of the margin-softmax operator (see margin_simd.cc).
//
// Available when FVL_MARGIN_AVX512 is 1 (x86-64 with GCC or Clang); margin.cc calls them only while the
// active dispatch level is AVX-512 and keeps portable loops for everything else.
#pragma once

#include "common.h"

#if FVL_X86_64 && (defined(__GNUC__) || defined(__clang__))
#define FVL_MARGIN_AVX512 1
#else
#define FVL_MARGIN_AVX512 0
#endif

#if FVL_MARGIN_AVX512
namespace fvl {

// buf[j] = s·clamp(srow[j]·cs[j]) + bias[j] (cs, bias optional).
void plain_logits_avx512(const float* srow, const float* cs, const float* bias, int64_t C, float s, float clamp,
                         float* buf);
// max_j v[j].
float max_avx512(const float* v, int64_t n);
// Σ_j exp(v[j] − shift).
double sum_exp_avx512(const float* v, int64_t n, float shift);
// g_j = w·exp(s·cos_j + bias_j − shift); srow[j] ← g_j·s·cs[j] inside the clamp, 0 outside; g_j into
// g_out (optional). Returns Σ_j g_j·cos_j.
double plain_backward_avx512(float* srow, const float* cs, const float* bias, int64_t C, float s, float clamp,
                             float shift, float w, float* g_out);
// Σ v[j]².
double sum_squares_avx512(const float* v, int64_t n);
// w·p and w·w (fp32 lanes, summed in double).
void dot_pair_avx512(const float* w, const float* p, int64_t n, double* wp, double* ww);
// One SGD row: param = w·pk; g' = g − proj·w + wd·param; v = μ·v + g' (when v is given); w = param − lr·v.
// `proj` folds in the projection of the weight-normalisation Jacobian, so the gradient row is read once.
void sgd_row_avx512(const float* g, float* w, float* v, int64_t n, float pk, float lr, float mu, float wd,
                    float proj);

}  // namespace fvl
#endif
