// faceverloss native engine: vectorised row sweeps of the margin-softmax operator (margin_simd.cc for
// AVX-512, margin_simd_avx2.cc for AVX2 + FMA).
//
// margin.cc asks row_sweeps() for the table matching the active dispatch level and keeps portable loops
// for everything else (and for every other architecture, where the table is null).
#pragma once

#include "common.h"

#if FVL_X86_64 && (defined(__GNUC__) || defined(__clang__))
#define FVL_MARGIN_SIMD 1
#else
#define FVL_MARGIN_SIMD 0
#endif

namespace fvl {

// The common row sweeps (plain negatives on the cosine map), one implementation per instruction set.
struct RowSweeps {
  // buf[j] = s·clamp(srow[j]·cs[j]) + bias[j] (cs, bias optional).
  void (*plain_logits)(const float* srow, const float* cs, const float* bias, int64_t C, float s, float clamp,
                       float* buf);
  // max_j v[j].
  float (*max)(const float* v, int64_t n);
  // Σ_j exp(v[j] − shift).
  double (*sum_exp)(const float* v, int64_t n, float shift);
  // g_j = w·exp(s·cos_j + bias_j − shift); srow[j] ← g_j·s·cs[j] inside the clamp, 0 outside; g_j into
  // g_out (optional). Returns Σ_j g_j·cos_j.
  double (*plain_backward)(float* srow, const float* cs, const float* bias, int64_t C, float s, float clamp,
                           float shift, float w, float* g_out);
  // Σ v[j]².
  double (*sum_squares)(const float* v, int64_t n);
  // w·p and w·w (fp32 lanes, summed in double).
  void (*dot_pair)(const float* w, const float* p, int64_t n, double* wp, double* ww);
  // One SGD row: param = w·pk; g' = g − proj·w + wd·param; v = μ·v + g' (when v is given);
  // w = param − lr·v. `proj` folds in the projection of the weight-normalisation Jacobian, so the
  // gradient row is read once.
  void (*sgd_row)(const float* g, float* w, float* v, int64_t n, float pk, float lr, float mu, float wd,
                  float proj);
};

#if FVL_MARGIN_SIMD
extern const RowSweeps kRowSweepsAvx512;
extern const RowSweeps kRowSweepsAvx2;
#endif

}  // namespace fvl
