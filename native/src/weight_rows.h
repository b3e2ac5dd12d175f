// faceverloss native engine: the last step of a weight row's backward, shared by the fused and the
// sharded margin kernels, and the row sweeps both use.
#pragma once

#include <cmath>
#include <cstdint>

#include "gemm.h"
#include "margin.h"
#include "margin_math.h"
#include "margin_simd.h"

namespace fvl {

// The vectorised row sweeps for the GEMM's dispatch level (so FACEVERLOSS_DISPATCH and setDispatch()
// steer both), or null for the portable loops.
inline const RowSweeps* row_sweeps() {
#if FVL_MARGIN_SIMD
  switch (active_isa()) {
    case Isa::Avx512:
      return &kRowSweepsAvx512;
    case Isa::Avx2:
      return &kRowSweepsAvx2;
    default:
      return nullptr;
  }
#else
  return nullptr;
#endif
}

// pr holds P_r = (1/‖w_r‖)·dŴ_r for the weight row wr (iv = 1/max(‖w_r‖, eps)). It becomes the gradient
// w.r.t. the parameter — the Jacobian of w ↦ w/‖w‖, or the overwrite scaling — and then, when write_w,
// the row is stepped by SGD (momentum row v or null, weight decay) or, without SGD, normalised in place.
// returns_dw: P is returned as dW, so the projection must be applied to it rather than folded into the step.
inline void finish_weight_row(const MarginConfig& c, const SgdConfig& sgd, const RowSweeps* sweeps, float* pr,
                              float* wr, float* v, int64_t D, double iv, bool returns_dw, bool write_w) {
  // With the SGD step in SIMD and dW not returned, the projection rides along with the update.
  float proj = 0.0f;
  if (c.normalize_w == WeightNorm::Functional) {
    double dot = 0, ww = 0;
    if (sweeps) sweeps->dot_pair(wr, pr, D, &dot, &ww);
    else
      for (int64_t d = 0; d < D; ++d) dot += double(wr[d]) * pr[d], ww += double(wr[d]) * wr[d];
    if (std::sqrt(ww) > kNormalizeEps) {
      const float k = static_cast<float>(dot * iv * iv);
      if (sweeps && sgd.enabled && !returns_dw) proj = k;
      else
        for (int64_t d = 0; d < D; ++d) pr[d] -= k * wr[d];
    }
  } else if (c.normalize_w == WeightNorm::Overwrite) {
    const float k = static_cast<float>(1.0 / iv);
    for (int64_t d = 0; d < D; ++d) pr[d] *= k;
  }
  if (!write_w) return;
  // The parameter as the gradient sees it: ŵ for overwrite geometry, w otherwise.
  const float pk = c.normalize_w == WeightNorm::Overwrite ? static_cast<float>(iv) : 1.0f;
  if (!sgd.enabled) {
    for (int64_t d = 0; d < D; ++d) wr[d] *= pk;
    return;
  }
  const float lr = static_cast<float>(sgd.lr), mu = static_cast<float>(sgd.momentum),
              wd = static_cast<float>(sgd.weight_decay);
  if (sweeps) {
    sweeps->sgd_row(pr, wr, v, D, pk, lr, mu, wd, proj);
    return;
  }
  for (int64_t d = 0; d < D; ++d) {
    const float param = wr[d] * pk;
    float gd = pr[d] + wd * param;
    if (v) {
      v[d] = mu * v[d] + gd;
      gd = v[d];
    }
    wr[d] = param - lr * gd;
  }
}

}  // namespace fvl
