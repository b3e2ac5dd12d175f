// faceverloss native engine: the ‖x‖ part of the margin-softmax gradient.
//
// Per-row margins and scales that are functions of ‖x_i‖ (MagFace's m(a), AdaFace's margins) reach X
// through the norm as well as through the cosines: dL/dx_i += dL/d‖x_i‖ · x_i/‖x_i‖, where
// dL/d‖x_i‖ = Σ_param dL/d(param_i) · d(param_i)/d‖x_i‖. The slopes come with the spec (m2_dnorm, …);
// the dL/d(param_i) are the per-row outputs of the backward.
#include "margin.h"

namespace fvl {

void add_norm_gradient(MarginProblem& p, const double* x_norm) {
  const MarginConfig& c = p.cfg;
  if (!c.m2_dnorm && !c.m3_dnorm && !c.scale_dnorm) {
    if (p.d_norm)
      for (int64_t i = 0; i < p.B; ++i) p.d_norm[i] = 0.0;
    return;
  }
  const int64_t D = p.D;
  for (int64_t i = 0; i < p.B; ++i) {
    double g = 0.0;
    if (c.m2_dnorm) g += p.d_m2[i] * c.m2_dnorm[i];
    if (c.m3_dnorm) g += p.d_m3[i] * c.m3_dnorm[i];
    if (c.scale_dnorm) g += p.d_scale[i] * c.scale_dnorm[i];
    if (p.d_norm) p.d_norm[i] = g;
    if (g == 0.0 || x_norm[i] == 0.0) continue;
    // Added to the stored fp32 gradient in double, then rounded once more.
    const double k = g / x_norm[i];
    const float* x = p.X + i * D;
    float* out = p.dX + i * D;
    for (int64_t d = 0; d < D; ++d) out[d] = static_cast<float>(double(out[d]) + k * double(x[d]));
  }
}

}  // namespace fvl
