// faceverloss native engine: the fused margin-softmax operator (fp32), forward and backward.
//
// The same computation as src/margin/reference.ts (the fp64 oracle), organised for speed and memory:
//
//   1. x̂ = x/‖x‖ (B×D, small) and 1/‖w_r‖ for every weight row; W itself is never copied.
//   2. S = x̂·Wᵀ with the packed GEMM; cos = S·(1/‖w‖) is applied on the fly (max over sub-centres
//      for K > 1, through a class-chunk buffer). S is the only B×C buffer and is reused across calls.
//   3. Per row: the margin, the logits and their log-sum-exp (rows are independent: parallel).
//   4. The loss is reduced over the batch (the focal weight needs the batch mean first).
//   5. Per row again: dL/dlogit → dL/dcos, written over S in place, plus dL/dm2, dL/dm3, dL/ds.
//   6. Class chunk by class chunk: dx̂ += G·W, then block of weight rows by block: dŴ = Gᵀ·x̂, the
//      normalisation Jacobians, and dW written out or an SGD step applied to the block's rows of W
//      directly, while the block's gradient is still in cache.
//
// Target cosines are recomputed in double precision from the fp32 inputs, so rows whose target lies
// within 1e-6 of ±1 get θ and sin θ without the cancellation of 1 − cos² in fp32.
#pragma once

#include "common.h"

namespace fvl {

enum class AngleMapKind : int { Cos = 0, Linear = 1, Quadratic = 2 };
enum class TargetKind : int { Angular = 0, Sphere = 1, Circle = 2 };
enum class FallbackKind : int { None = 0, Easy = 1, Thmm = 2, Am = 3, AboveMargin = 4, Clip = 5 };
enum class NegativeKind : int { Plain = 0, HardLinear = 1, Curricular = 2, ArcNeg = 3, Circle = 4, Filter = 5 };
enum class LossKind : int { Ce = 0, DistCe = 1, Focal = 2, SoftplusPair = 3 };
enum class WeightNorm : int { None = 0, Functional = 1, Overwrite = 2 };

// Everything after the cosines (src/margin/spec.ts MarginSpec) plus the geometry flags.
struct MarginConfig {
  // Geometry.
  bool normalize_x = true;
  WeightNorm normalize_w = WeightNorm::Functional;
  int64_t sub_centers = 1;
  bool has_clamp = false;
  double clamp = 1.0;

  AngleMapKind angle_map = AngleMapKind::Cos;

  // Target.
  TargetKind target = TargetKind::Angular;
  double m1 = 1.0;
  double m2 = 0.0, m3 = 0.0;                            // shared values…
  const double* m2_row = nullptr;                       // …or per row (length B)
  const double* m3_row = nullptr;
  FallbackKind fallback = FallbackKind::None;
  double fallback_margin = 0.0;
  double clip_eps = 1e-3;
  double sphere_m = 4.0, sphere_lambda = 0.0, sphere_pi = 3.14159265;
  double circle_target_m = 0.25;

  // Negatives.
  NegativeKind negatives = NegativeKind::Plain;
  double hard_a = 1.0, hard_b = 0.0;                    // hard-linear
  double th_m1 = 1.0, th_m2 = 0.0, th_m3 = 0.0;         // hard threshold
  bool adaptive = false;                                // NPCFace adaptive target margin
  double ad_m0 = 0.0, ad_m1 = 0.0;
  bool ad_source_raw = false, ad_gradient = false;
  double curricular_t = 0.0;
  double arcneg_alpha = 1.2, arcneg_sigma = 2.0;
  double circle_neg_m = 0.25;
  double filter_above = 1.0;

  // Scale.
  double scale = 1.0;
  const double* scale_row = nullptr;

  // Per-row parameters that depend on ‖x_i‖ (MagFace's margin, AdaFace's): their slopes d(param)/d‖x_i‖
  // (length B each, optional). The backward chains dL/d(param) through ‖x‖ into dX with them.
  const double* m2_dnorm = nullptr;
  const double* m3_dnorm = nullptr;
  const double* scale_dnorm = nullptr;

  // Loss.
  LossKind loss = LossKind::Ce;
  double focal_gamma = 0.0;
  double softplus_threshold = 20.0;

  bool straight_through = false;
};

// SGD with momentum and L2 weight decay, applied to W inside the backward (PyTorch's rule):
//   g ← dW + wd·W;  v ← μ·v + g (v ← g at the first step when `first`);  W ← W − lr·v.
struct SgdConfig {
  bool enabled = false;
  double lr = 0.0, momentum = 0.0, weight_decay = 0.0;
  float* velocity = nullptr;  // N×D, owned by the caller; required when momentum ≠ 0
  bool first = false;         // velocity is initialised to g (PyTorch's first step)
};

struct MarginProblem {
  int64_t B = 0, D = 0, C = 0;  // W has C·K rows
  const float* X = nullptr;     // B×D
  float* W = nullptr;           // C·K×D (written only by SGD or overwrite normalisation)
  const int32_t* labels = nullptr;
  const float* bias = nullptr;  // C, optional
  // Target cosines before the clamp (B), when the caller has them in higher precision than the fp32
  // inputs allow (fp64 data); computed in double from X and W otherwise.
  const double* target_cos = nullptr;
  MarginConfig cfg;
  SgdConfig sgd;
  bool write_normalized_w = false;  // overwrite W with its normalised rows (overwrite geometry)

  // Outputs (all optional except dX).
  float* dX = nullptr;       // B×D, dL/dX (including the ‖x‖ chain of per-row parameters)
  float* dW = nullptr;       // C·K×D
  float* dBias = nullptr;    // C
  float* logits = nullptr;   // B×C
  float* cos = nullptr;      // B×C, clamped cosines
  double* d_m2 = nullptr;    // B
  double* d_m3 = nullptr;    // B
  double* d_scale = nullptr; // B
  double* row_margin = nullptr;  // B: m2 actually used
  double* pair = nullptr;    // B: softplus-pair z_i
  double* x_norm = nullptr;  // B: ‖x_i‖
  double* d_norm = nullptr;  // B: dL/d‖x_i‖ through the per-row parameters that depend on it
  // Scalars.
  double loss = 0.0, ce = 0.0, focal = 0.0;
};

// Runs forward and backward. Arguments are trusted (the binding validates them). Throws std::bad_alloc.
void margin_softmax(MarginProblem& p);

// The ‖x‖ part of the gradient (margin_norm.cc): dL/d‖x_i‖ = Σ dL/d(param_i)·d(param_i)/d‖x_i‖ over the
// per-row parameters with slopes, added to dX as dL/d‖x_i‖ · x_i/‖x_i‖. Needs d_m2, d_m3 and d_scale
// wherever the matching slope is given; `x_norm` are the row norms (B).
void add_norm_gradient(MarginProblem& p, const double* x_norm);

// Only the geometry: clamped cosines (B×C) and, in `target`, the double-precision target cosines.
// Either output may be null.
void margin_cosines(const MarginProblem& p, float* cos, double* target);

// Row gather (dst[k] = src[rows[k]]) or scatter (dst[rows[k]] = src[k]) of `width`-float rows, on the
// pool. Indices are trusted.
void copy_rows(const float* src, float* dst, const int32_t* rows, int64_t n, int64_t width, bool scatter);

}  // namespace fvl
