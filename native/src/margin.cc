#include "margin.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

#include "gemm.h"
#include "huge_pages.h"
#include "margin_math.h"
#include "margin_simd.h"
#include "parallel_for.h"
#include "threadpool.h"
#include "weight_rows.h"

namespace fvl {

namespace {

// -log(1e-30): DistCrossEntropy's ceiling on a row's loss.
constexpr double kDistCeCeiling = 69.07755278982137;

// Weight rows per class chunk of the sub-centre forward and backward: the chunk's B×rows buffer of
// cosines, then of dL/dcos spread onto the chosen sub-centres, is the only per-class buffer besides S.
constexpr int64_t kChunkRows = 8192;

// Per-row state carried from the forward pass to the backward pass.
struct RowState {
  double gt_raw = 0, gt = 0;  // target cosine (double precision), before and after the clamp
  TargetValue tv;             // φ and its derivatives
  double m2 = 0, m3 = 0, s = 1;
  double tau = 0;             // hard-negative threshold
  int64_t hard = 0;           // number of hard negatives
  double lse = 0;             // log-sum-exp (over negatives for softplus-pair)
  double max = 0, sum = 0;    // its max and sum of exp(logit − max)
  double logit_y = 0;
  double w = 0;               // CE family: dL/dce_i (the batch weight)
  double dz = 0;              // softplus-pair: dL/dz_i
  double dm2 = 0;             // dL/dm2 of the row
};

// Buffers reused from call to call (fresh multi-megabyte allocations page-fault on every step).
struct Workspace {
  std::mutex mu;
  AlignedBuffer s;        // B×C: cosines (unscaled dot products for K = 1), then dL/dcos in place
  AlignedBuffer xhat;     // B×D
  AlignedBuffer dxhat;    // B×D
  AlignedBuffer inv;      // C·K: 1/max(‖w_r‖, eps), or 1 without weight normalisation
  AlignedBuffer chunk;    // B×(chunk rows): sub-centre expansion
  AlignedBuffer xpack;    // x̂ packed as the GEMM's B operand of dŴ = Gᵀ·x̂
  AlignedBuffer argsub;   // B×C bytes: chosen sub-centre
  std::vector<RowState> rows;
  std::vector<double> xnorm;
  std::vector<double> wsq;  // ‖w_j‖² from the cosine product (one weight row per class)
};

// Phase timings on stderr when FACEVERLOSS_PROFILE=1 (for tuning; off by default).
struct Profile {
  bool on = std::getenv("FACEVERLOSS_PROFILE") != nullptr;
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::now();
  void mark(const char* what) {
    if (!on) return;
    const auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "margin %-18s %8.2f ms\n", what, std::chrono::duration<double, std::milli>(now - t).count());
    t = now;
  }
};

Workspace& workspace() {
  static Workspace* w = new Workspace();  // never destroyed: may be in use while Node exits
  return *w;
}

double row_value(const double* row, double shared, int64_t i) { return row ? row[i] : shared; }

// A cosine recomputed in double precision from the fp32 inputs (clamped like the others).
double precise_cos(const MarginProblem& p, const Workspace& ws, const uint8_t* argsub, int64_t i, int64_t j) {
  const MarginConfig& c = p.cfg;
  const int64_t D = p.D, K = c.sub_centers;
  const int64_t r = j * K + (K > 1 ? argsub[i * p.C + j] : 0);
  const float* x = p.X + i * D;
  const float* w = p.W + r * D;
  double dot = 0, ww = 0;
  for (int64_t d = 0; d < D; ++d) dot += double(x[d]) * w[d], ww += double(w[d]) * w[d];
  if (c.normalize_x) dot /= std::max(ws.xnorm[static_cast<size_t>(i)], kNormalizeEps);
  if (c.normalize_w != WeightNorm::None) dot /= std::max(std::sqrt(ww), kNormalizeEps);
  return c.has_clamp ? std::min(c.clamp, std::max(-c.clamp, dot)) : dot;
}

// Per-element transform of a negative cosine (before the scale): value and derivative w.r.t. cos.
struct NegativeFn {
  const MarginConfig& c;
  double tau;      // hard threshold of the row
  double target;   // φ of the row (ArcNegFace)
  const MarginProblem* p = nullptr;
  const Workspace* ws = nullptr;
  const uint8_t* argsub = nullptr;
  int64_t i = 0;

  FVL_INLINE float plain(float x, int64_t j, float* d) const {
    if (c.angle_map == AngleMapKind::Cos) {
      *d = 1.0f;
      return x;
    }
    // Linear and quadratic maps go through θ = acos(cos), whose slope 1/sin θ is ill-conditioned near
    // |cos| = 1 in fp32: take those few cosines again in double.
    const double xc = std::fabs(x) > 0.999f ? precise_cos(*p, *ws, argsub, i, j) : double(x);
    double dv = 0;
    const double v = plain_value(c.angle_map, xc, &dv);
    *d = static_cast<float>(dv);
    return static_cast<float>(v);
  }

  // `hard` reports whether the entry counts as a hard negative.
  FVL_INLINE float operator()(float x, int64_t j, float* d, bool* hard) const {
    *hard = false;
    switch (c.negatives) {
      case NegativeKind::Plain:
        return plain(x, j, d);
      case NegativeKind::HardLinear:
        if (x > tau) {
          *hard = true;
          *d = static_cast<float>(c.hard_a);
          return static_cast<float>(c.hard_a * x + c.hard_b);
        }
        return plain(x, j, d);
      case NegativeKind::Curricular:
        if (x > tau) {
          *hard = true;
          *d = static_cast<float>(c.curricular_t + 2.0 * x);
          return static_cast<float>(x * (c.curricular_t + x));
        }
        return plain(x, j, d);
      case NegativeKind::ArcNeg: {
        const double diff = x - target;
        const double r = c.arcneg_alpha * std::exp(-(diff * diff) / c.arcneg_sigma);
        *d = static_cast<float>(r);
        return static_cast<float>(r * x + r - 1.0);
      }
      case NegativeKind::Circle: {
        const double an = std::max(x + c.circle_neg_m, 0.0);
        *d = static_cast<float>(an);
        return static_cast<float>(an * (x - c.circle_neg_m));
      }
      case NegativeKind::Filter:
        if (x > c.filter_above) {
          *d = 0.0f;
          return 0.0f;
        }
        return plain(x, j, d);
    }
    return plain(x, j, d);
  }
};

FVL_INLINE float clamp_cos(const MarginConfig& c, float x) {
  if (!c.has_clamp) return x;
  const float b = static_cast<float>(c.clamp);
  return std::min(b, std::max(-b, x));
}

// Row norms, x̂, 1/‖w‖ (but see cosines()) and the double-precision target cosines.
void prepare(MarginProblem& p, Workspace& ws) {
  const MarginConfig& cfg = p.cfg;
  const int64_t B = p.B, D = p.D, K = cfg.sub_centers, N = p.C * K;
  float* xhat = ws.xhat.reserve(static_cast<size_t>(B * D));
  float* inv = ws.inv.reserve(static_cast<size_t>(N));
  ws.rows.assign(static_cast<size_t>(B), RowState());
  ws.xnorm.assign(static_cast<size_t>(B), 0.0);
  // Rows are independent here and below: a thread per range of rows.
  parallel_for(B, 16, [&](int64_t b, int64_t e, int, Scratch&) {
    for (int64_t i = b; i < e; ++i) {
      const float* x = p.X + i * D;
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += double(x[d]) * x[d];
      const double n = std::sqrt(s);
      ws.xnorm[i] = n;
      const double k = cfg.normalize_x ? 1.0 / std::max(n, kNormalizeEps) : 1.0;
      for (int64_t d = 0; d < D; ++d) xhat[i * D + d] = static_cast<float>(x[d] * k);
    }
  });
  const bool norm_w = cfg.normalize_w != WeightNorm::None;
  const RowSweeps* sweeps = row_sweeps();
  // With one weight row per class, cosines() has the norms summed while the product packs W.
  if (!(norm_w && K == 1)) parallel_for(N, 4096, [&](int64_t b, int64_t e, int, Scratch&) {
    for (int64_t r = b; r < e; ++r) {
      if (!norm_w) {
        inv[r] = 1.0f;
        continue;
      }
      const float* w = p.W + r * D;
      double s = 0;
      if (sweeps) s = sweeps->sum_squares(w, D);
      else
        for (int64_t d = 0; d < D; ++d) s += double(w[d]) * w[d];
      inv[r] = static_cast<float>(1.0 / std::max(std::sqrt(s), kNormalizeEps));
    }
  });
  // Target cosines in double: the margin's θ and 1/sin θ are ill-conditioned near |cos| = 1.
  parallel_for(B, 16, [&](int64_t b, int64_t e, int, Scratch&) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t y = p.labels[i];
      const float* x = p.X + i * D;
      const double kx = cfg.normalize_x ? 1.0 / std::max(ws.xnorm[i], kNormalizeEps) : 1.0;
      double best = -INFINITY;
      for (int64_t k = 0; k < K; ++k) {
        const float* w = p.W + (y * K + k) * D;
        double dot = 0, ww = 0;
        for (int64_t d = 0; d < D; ++d) {
          dot += double(x[d]) * w[d];
          ww += double(w[d]) * w[d];
        }
        const double kw = norm_w ? 1.0 / std::max(std::sqrt(ww), kNormalizeEps) : 1.0;
        best = std::max(best, dot * kx * kw);
      }
      RowState& rs = ws.rows[static_cast<size_t>(i)];
      if (p.target_cos) best = p.target_cos[i];
      rs.gt_raw = best;
      rs.gt = cfg.has_clamp ? std::min(cfg.clamp, std::max(-cfg.clamp, best)) : best;
    }
  });
}

// S = cosines before the clamp: x̂·Wᵀ (K = 1: left unscaled, the 1/‖w‖ is applied where S is read);
// for K > 1 the max over each class's sub-centres, scaled, with the chosen sub-centre in argsub.
void cosines(MarginProblem& p, Workspace& ws, float* S, uint8_t* argsub) {
  const int64_t B = p.B, D = p.D, C = p.C, K = p.cfg.sub_centers;
  const float* xhat = ws.xhat.data();
  if (K == 1) {
    SgemmArgs g;
    g.trans_b = true;
    g.m = B, g.n = C, g.k = D;
    g.a = xhat, g.lda = D;
    g.b = p.W, g.ldb = D;
    g.c = S, g.ldc = C;
    // 1/‖w_j‖ (prepare() left it to here): the product sums the squares of each row of W as it packs
    // it, which saves a pass over W.
    const bool norm_w = p.cfg.normalize_w != WeightNorm::None;
    if (norm_w) {
      ws.wsq.resize(static_cast<size_t>(C));
      g.b_sumsq = ws.wsq.data();
    }
    sgemm(g);
    if (norm_w) {
      float* inv = ws.inv.data();
      parallel_for(C, 4096, [&](int64_t b, int64_t e, int, Scratch&) {
        for (int64_t r = b; r < e; ++r)
          inv[r] = static_cast<float>(1.0 / std::max(std::sqrt(ws.wsq[static_cast<size_t>(r)]), kNormalizeEps));
      });
    }
    return;
  }
  const int64_t cc = std::max<int64_t>(1, kChunkRows / K);
  float* tmp = ws.chunk.reserve(static_cast<size_t>(B * cc * K));
  const float* inv = ws.inv.data();
  for (int64_t c0 = 0; c0 < C; c0 += cc) {
    const int64_t n = std::min(cc, C - c0);
    SgemmArgs g;
    g.trans_b = true;
    g.m = B, g.n = n * K, g.k = D;
    g.a = xhat, g.lda = D;
    g.b = p.W + c0 * K * D, g.ldb = D;
    g.c = tmp, g.ldc = n * K;
    sgemm(g);
    parallel_for(B, 16, [&](int64_t b, int64_t e, int, Scratch&) {
      for (int64_t i = b; i < e; ++i) {
        const float* t = tmp + i * n * K;
        for (int64_t j = 0; j < n; ++j) {
          const int64_t r0 = (c0 + j) * K;
          float best = t[j * K] * inv[r0];
          int kb = 0;
          for (int64_t k = 1; k < K; ++k) {
            const float v = t[j * K + k] * inv[r0 + k];
            if (v > best) best = v, kb = static_cast<int>(k);
          }
          S[i * C + c0 + j] = best;
          argsub[i * C + c0 + j] = static_cast<uint8_t>(kb);
        }
      }
    });
  }
}

// Column scale applied where S is read: 1/‖w_j‖ for K = 1, nothing for sub-centres (already applied).
FVL_INLINE const float* column_scale(const MarginProblem& p, Workspace& ws) {
  return p.cfg.sub_centers == 1 ? ws.inv.data() : nullptr;
}

// Per-row margin set-up: hard threshold, adaptive margin, target transform, scale.
void row_setup(const MarginProblem& p, const float* srow, const float* cs, int64_t i, RowState& rs) {
  const MarginConfig& c = p.cfg;
  const int64_t C = p.C, y = p.labels[i];
  const bool hard_kind = c.negatives == NegativeKind::HardLinear || c.negatives == NegativeKind::Curricular;
  if (hard_kind) rs.tau = raw_angular(c.angle_map, rs.gt, c.th_m1, c.th_m2, c.th_m3).value;
  rs.m2 = c.target == TargetKind::Angular ? row_value(c.m2_row, c.m2, i) : 0.0;
  rs.m3 = c.target == TargetKind::Angular ? row_value(c.m3_row, c.m3, i) : 0.0;
  rs.hard = 0;
  if (hard_kind || c.adaptive) {
    double sum = 0;
    int64_t count = 0;
    for (int64_t j = 0; j < C; ++j) {
      if (j == y) continue;
      const float x = clamp_cos(c, cs ? srow[j] * cs[j] : srow[j]);
      // The threshold test is in double like the oracle's, on the fp32 cosine.
      if (double(x) > rs.tau) {
        ++count;
        sum += c.ad_source_raw ? double(x) : c.hard_a * x + c.hard_b;
      }
    }
    rs.hard = count;
    if (c.negatives == NegativeKind::HardLinear && c.adaptive)
      rs.m2 = c.ad_m0 + (count > 0 ? c.ad_m1 * sum / double(count) : 0.0);
  }
  switch (c.target) {
    case TargetKind::Angular:
      rs.tv = angular_target(c, rs.gt, rs.m2, rs.m3);
      break;
    case TargetKind::Sphere:
      rs.tv = sphere_target(c, rs.gt);
      break;
    case TargetKind::Circle: {
      const double ap = std::max(1.0 + c.circle_target_m - rs.gt, 0.0);
      rs.tv = {ap * (rs.gt - (1.0 - c.circle_target_m)), ap, 0.0, 0.0};
      break;
    }
  }
  rs.s = row_value(c.scale_row, c.scale, i);
}

// Forward over one row: logits into `buf` (length C), their log-sum-exp into rs.
void row_forward(const MarginProblem& p, const Workspace& ws, const uint8_t* argsub, const float* srow, const float* cs,
                 int64_t i, RowState& rs, float* buf) {
  const MarginConfig& c = p.cfg;
  const int64_t C = p.C, y = p.labels[i];
  row_setup(p, srow, cs, i, rs);
  const NegativeFn neg{c, rs.tau, rs.tv.value, &p, &ws, argsub, i};
  const float s = static_cast<float>(rs.s);
  const float* bias = p.bias;
  const RowSweeps* sweeps = row_sweeps();
  if (c.negatives == NegativeKind::Plain && c.angle_map == AngleMapKind::Cos) {
    // The common case (Softmax, NormFace, CosFace, ArcFace…).
    const float b = c.has_clamp ? static_cast<float>(c.clamp) : INFINITY;
    if (sweeps) sweeps->plain_logits(srow, cs, bias, C, s, b, buf);
    else
      for (int64_t j = 0; j < C; ++j) {
        const float x = cs ? srow[j] * cs[j] : srow[j];
        buf[j] = s * std::min(b, std::max(-b, x)) + (bias ? bias[j] : 0.0f);
      }
  } else {
    for (int64_t j = 0; j < C; ++j) {
      const float x = clamp_cos(c, cs ? srow[j] * cs[j] : srow[j]);
      float d;
      bool hard;
      buf[j] = s * neg(x, j, &d, &hard) + (bias ? bias[j] : 0.0f);
    }
  }
  rs.logit_y = rs.s * rs.tv.value + (bias ? bias[y] : 0.0);
  // Negatives only first (softplus-pair needs their log-sum-exp alone), then the target in double.
  buf[y] = -INFINITY;
  float mx = -INFINITY;
  if (sweeps) mx = sweeps->max(buf, C);
  else
    for (int64_t j = 0; j < C; ++j) mx = std::max(mx, buf[j]);
  const bool pair = c.loss == LossKind::SoftplusPair;
  // The sweeps take their shift in fp32, so the shift is rounded once here and the very same value goes
  // into the log-sum-exp. Shifting the negatives by fp32(m) but adding m back would give every p_j a
  // relative error of up to |m|·2⁻²⁴, so Σp ≠ 1 and dL/dcos (Σ_j p_j − 1 cancels) loses digits: at
  // QAMFace's logits (≈ 200) that was 1e-5 per p_j and 7e-3 of grads.X on a near-tied row.
  const double m = static_cast<float>(pair ? double(mx) : std::max(double(mx), rs.logit_y));
  double sum = 0;
  if (mx > -INFINITY) {
    if (sweeps) sum = sweeps->sum_exp(buf, C, static_cast<float>(m));
    else
      sum = sum_exp_shifted(buf, C, static_cast<float>(m));
  }
  if (!pair) sum += std::exp(rs.logit_y - m);
  buf[y] = static_cast<float>(rs.logit_y);
  rs.max = m;
  rs.sum = sum;
  rs.lse = sum > 0 ? m + std::log(sum) : -INFINITY;
}

// Backward over one row: dL/dlogit → dL/dcos (over S in place, times the column scale), per-row
// parameter gradients, and dL/dlogit itself in `buf` (for dBias).
void row_backward(MarginProblem& p, const Workspace& ws, const uint8_t* argsub, float* srow, const float* cs,
                  int64_t i, RowState& rs, float* buf) {
  const MarginConfig& c = p.cfg;
  const int64_t C = p.C, y = p.labels[i];
  const NegativeFn neg{c, rs.tau, rs.tv.value, &p, &ws, argsub, i};
  const float s = static_cast<float>(rs.s);
  const float* bias = p.bias;
  const bool pair = c.loss == LossKind::SoftplusPair;
  // CE family: G = w·exp(logit − lse) − w·[j = y]; softplus-pair: G = dz·exp(logit − max)/sum.
  // The sweep shifts by an fp32 number; what rounding it drops, exp(shift − lse), goes into the weight so
  // the negatives' G agree with the target's (taken in double) — see row_forward.
  const double exact_shift = pair ? rs.max : rs.lse;
  const float shift = static_cast<float>(exact_shift);
  const double rounding = std::isfinite(exact_shift) ? std::exp(double(shift) - exact_shift) : 1.0;
  const float wf = static_cast<float>((pair ? (rs.sum > 0 ? rs.dz / rs.sum : 0.0) : rs.w) * rounding);
  const float lim = c.has_clamp ? static_cast<float>(c.clamp) : INFINITY;
  // The target column is handled in double after the sweep; keep the sweep away from it.
  srow[y] = 0.0f;
  double ds = 0;
  const RowSweeps* sweeps = row_sweeps();
  if (sweeps && c.negatives == NegativeKind::Plain && c.angle_map == AngleMapKind::Cos) {
    ds = sweeps->plain_backward(srow, cs, bias, C, s, lim, shift, wf, buf);
  } else if (c.negatives == NegativeKind::Plain && c.angle_map == AngleMapKind::Cos) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= C; j += 8) {
      for (int t = 0; t < 8; ++t) {
        const float raw = cs ? srow[j + t] * cs[j + t] : srow[j + t];
        const float x = std::min(lim, std::max(-lim, raw));
        const float g = wf * fast_exp(s * x + (bias ? bias[j + t] : 0.0f) - shift);
        acc[t] += g * x;
        const float dc = (raw > lim || raw < -lim) ? 0.0f : g * s;
        buf[j + t] = g;
        srow[j + t] = cs ? dc * cs[j + t] : dc;
      }
    }
    for (; j < C; ++j) {
      const float raw = cs ? srow[j] * cs[j] : srow[j];
      const float x = std::min(lim, std::max(-lim, raw));
      const float g = wf * fast_exp(s * x + (bias ? bias[j] : 0.0f) - shift);
      acc[0] += g * x;
      const float dc = (raw > lim || raw < -lim) ? 0.0f : g * s;
      buf[j] = g;
      srow[j] = cs ? dc * cs[j] : dc;
    }
    for (float a : acc) ds += a;  // the zeroed target column contributed g·0
  } else {
    for (int64_t j = 0; j < C; ++j) {
      const float raw = cs ? srow[j] * cs[j] : srow[j];
      const float x = clamp_cos(c, raw);
      float d;
      bool hard;
      const float v = neg(x, j, &d, &hard);
      const float g = j == y ? 0.0f : wf * fast_exp(s * v + (bias ? bias[j] : 0.0f) - shift);
      ds += double(g) * v;
      const float dc = (raw > lim || raw < -lim) ? 0.0f : g * s * d;
      buf[j] = g;
      srow[j] = cs ? dc * cs[j] : dc;
    }
  }
  // The target entry, in double.
  const double gy = pair ? -rs.dz : rs.w * (std::exp(rs.logit_y - rs.lse) - 1.0);
  ds += gy * rs.tv.value;
  const bool straight = c.straight_through;
  double dplain = 1.0;
  if (straight) plain_value(c.angle_map, rs.gt, &dplain);
  double dcos_y = gy * rs.s * (straight ? dplain : rs.tv.dcos);
  if (c.has_clamp && (rs.gt_raw > c.clamp || rs.gt_raw < -c.clamp)) dcos_y = 0.0;
  buf[y] = static_cast<float>(gy);
  rs.dm2 = straight ? 0.0 : gy * rs.s * rs.tv.dm2;
  const double dm3 = straight ? 0.0 : gy * rs.s * rs.tv.dm3;
  if (p.d_m2) p.d_m2[i] = rs.dm2;
  if (p.d_m3) p.d_m3[i] = dm3;
  if (p.d_scale) p.d_scale[i] = ds;
  srow[y] = static_cast<float>(dcos_y) * (cs ? cs[y] : 1.0f);
}

// The gradient w.r.t. weight rows [r0, r0 + nr), from dL/dcos in `a` (B×nr, row stride lda, already
// scaled by 1/‖w_r‖): dŴ = aᵀ·x̂, the normalisation Jacobian, then dW is written out or the SGD step is
// applied to W directly. It goes a block of rows at a time, each block's dŴ computed with the GEMM's
// building blocks into the thread's own scratch (or straight into dW) and stepped while it is still in
// L2, so the gradient of the chunk never travels to memory and back. The sums over the batch run in the
// same order as sgemm()'s, and no block depends on the thread that takes it.
void weight_backward(MarginProblem& p, Workspace& ws, const float* a, int64_t lda, int64_t r0, int64_t nr) {
  const MarginConfig& c = p.cfg;
  const int64_t B = p.B, D = p.D;
  const SgemmKernel& ker = active_kernel();
  const int64_t MR = ker.mr, NR = ker.nr;
  const int64_t kc_blk = depth_block(ker, B);
  const int64_t mc_blk = round_up(ker.mc, MR);
  const int64_t d_panels = round_up(D, NR);
  const int64_t blocks = ceil_div(nr, mc_blk);
  const float* xhat = ws.xhat.data();
  const float* inv = ws.inv.data();
  // x̂ is the B operand of every block: packed once, all depth blocks, before the threads start.
  float* xpack = ws.xpack.reserve(static_cast<size_t>(d_panels * B));
  for (int64_t pc = 0; pc < B; pc += kc_blk)
    pack_b(ker, xhat, D, false, pc, std::min(kc_blk, B - pc), 0, D, xpack + d_panels * pc);

  const bool write_w = p.sgd.enabled || p.write_normalized_w;
  const RowSweeps* sweeps = row_sweeps();
  ThreadPool::Region region(ThreadPool::global());
  for (int t = 0; t < region.size(); ++t) {
    Scratch& s = region.scratch(t);
    s.buf[Scratch::kPackA].reserve(static_cast<size_t>(mc_blk * kc_blk));
    s.buf[Scratch::kTile].reserve(static_cast<size_t>(MR * NR));
    if (!p.dW) s.buf[Scratch::kUser0].reserve(static_cast<size_t>(mc_blk * D));
  }
  auto block = [&](int task, int thread) {
    Scratch& s = region.scratch(thread);
    const int64_t b0 = task * mc_blk, n = std::min(mc_blk, nr - b0);
    float* P = p.dW ? p.dW + (r0 + b0) * D : s.buf[Scratch::kUser0].data();
    float* pa = s.buf[Scratch::kPackA].data();
    float* tile = s.buf[Scratch::kTile].data();
    // The rows of W (and of the momentum) that the update reads next are fetched during the last
    // product, which leaves the memory bus idle.
    Prefetch rows;
    if (write_w || c.normalize_w == WeightNorm::Functional) rows.add(p.W + (r0 + b0) * D, n, D, D);
    if (write_w && p.sgd.enabled && p.sgd.velocity) rows.add(p.sgd.velocity + (r0 + b0) * D, n, D, D);
    for (int64_t pc = 0; pc < B; pc += kc_blk) {
      const int64_t kc = std::min(kc_blk, B - pc);
      pack_a(ker, a, lda, true, b0, n, pc, kc, pa);
      macro_kernel(ker, n, D, kc, pa, xpack + d_panels * pc, 1.0f, pc == 0 ? 0.0f : 1.0f, P, D, tile,
                   pc + kc >= B ? &rows : nullptr);
    }
    // P_r = (1/‖w_r‖)·dŴ_r; turn it into the gradient w.r.t. the parameter, then maybe step.
    for (int64_t rr = 0; rr < n; ++rr) {
      const int64_t r = r0 + b0 + rr;
      float* pr = P + rr * D;
      float* wr = p.W + r * D;
      const double iv = inv[r];
      finish_weight_row(c, p.sgd, sweeps, pr, wr, p.sgd.velocity ? p.sgd.velocity + r * D : nullptr, D, iv,
                        p.dW != nullptr, write_w);
    }
  };
  if (blocks == 1) block(0, 0);
  else region.run(static_cast<int>(blocks), [&](int task, int thread) { block(task, thread); });
}

}  // namespace

void margin_cosines(const MarginProblem& pc, float* cos, double* target) {
  MarginProblem p = pc;
  Workspace& ws = workspace();
  std::lock_guard<std::mutex> lock(ws.mu);
  prepare(p, ws);
  if (target)
    for (int64_t i = 0; i < p.B; ++i) target[i] = ws.rows[static_cast<size_t>(i)].gt;
  if (!cos) return;
  float* S = cos;
  uint8_t* argsub = reinterpret_cast<uint8_t*>(ws.argsub.reserve(static_cast<size_t>(p.B * p.C / 4 + 16)));
  cosines(p, ws, S, argsub);
  const float* cs = column_scale(p, ws);
  const int64_t C = p.C;
  parallel_for(p.B, 8, [&](int64_t b, int64_t e, int, Scratch&) {
    for (int64_t i = b; i < e; ++i) {
      float* row = S + i * C;
      for (int64_t j = 0; j < C; ++j) row[j] = clamp_cos(p.cfg, cs ? row[j] * cs[j] : row[j]);
      row[p.labels[i]] = static_cast<float>(ws.rows[static_cast<size_t>(i)].gt);
    }
  });
}

void copy_rows(const float* src, float* dst, const int32_t* rows, int64_t n, int64_t width, bool scatter) {
  parallel_for(n, std::max<int64_t>(1, 65536 / width), [&](int64_t b, int64_t e, int, Scratch&) {
    for (int64_t k = b; k < e; ++k) {
      const int64_t r = rows[k];
      if (scatter) std::memcpy(dst + r * width, src + k * width, static_cast<size_t>(width) * sizeof(float));
      else std::memcpy(dst + k * width, src + r * width, static_cast<size_t>(width) * sizeof(float));
    }
  });
}

void margin_softmax(MarginProblem& p) {
  Workspace& ws = workspace();
  std::lock_guard<std::mutex> lock(ws.mu);
  const MarginConfig& c = p.cfg;
  const int64_t B = p.B, D = p.D, C = p.C, K = c.sub_centers;
  Profile prof;
  // W is swept three times per call and its momentum once: on huge pages those sweeps stop missing the
  // TLB at every 4 KiB page.
  const size_t w_bytes = static_cast<size_t>(C * K * D) * sizeof(float);
  prefer_huge_pages(p.W, w_bytes);
  if (p.sgd.enabled && p.sgd.velocity) prefer_huge_pages(p.sgd.velocity, w_bytes);
  prepare(p, ws);
  float* S = ws.s.reserve(static_cast<size_t>(B * C));
  uint8_t* argsub =
      K > 1 ? reinterpret_cast<uint8_t*>(ws.argsub.reserve(static_cast<size_t>(B * C / 4 + 16))) : nullptr;
  prof.mark("prepare");
  cosines(p, ws, S, argsub);
  prof.mark("cosines");
  const float* cs = column_scale(p, ws);
  const bool need_mask = c.negatives == NegativeKind::HardLinear && c.adaptive && c.ad_gradient;

  // Per-thread row buffers (C floats each).
  ThreadPool& pool = ThreadPool::global();
  {
    ThreadPool::Region region(pool);
    for (int t = 0; t < region.size(); ++t) {
      region.scratch(t).buf[Scratch::kUser0].reserve(static_cast<size_t>(C));
      if (p.bias && p.dBias) region.scratch(t).buf[Scratch::kUser1].reserve(static_cast<size_t>(C));
    }
  }

  // Optional outputs of the forward: clamped cosines.
  if (p.cos) {
    parallel_for(B, 8, [&](int64_t b, int64_t e, int, Scratch&) {
      for (int64_t i = b; i < e; ++i) {
        const float* srow = S + i * C;
        float* out = p.cos + i * C;
        for (int64_t j = 0; j < C; ++j) out[j] = clamp_cos(c, cs ? srow[j] * cs[j] : srow[j]);
        out[p.labels[i]] = static_cast<float>(ws.rows[static_cast<size_t>(i)].gt);
      }
    });
  }

  // dL/dlogit of a row needs the loss's weight of that row. For the plain cross-entropies it is 1/B,
  // known now, so each row's backward follows its forward at once, while the row of S is still in L2:
  // one read of S from memory instead of two. Focal loss weighs rows by the batch's loss, softplus-pair
  // by a row's own pair term, and NPCFace's adaptive margin needs S before the backward overwrites it:
  // those run the backward as a second pass, after the loss.
  const bool backward_in_forward = !need_mask && (c.loss == LossKind::Ce || c.loss == LossKind::DistCe);
  if (backward_in_forward)
    for (auto& rs : ws.rows) rs.w = 1.0 / double(B);
  std::vector<float> dbias_acc;
  const bool want_dbias = p.bias && p.dBias;
  const int pool_size = pool.size();
  if (want_dbias) dbias_acc.assign(static_cast<size_t>(C) * pool_size, 0.0f);
  std::vector<uint8_t> hard_mask;
  // Backward of the margin for row i, over its row of S in place.
  auto backward_row = [&](int64_t i, int thread, float* buf) {
    RowState& rs = ws.rows[static_cast<size_t>(i)];
    float* srow = S + i * C;
    row_backward(p, ws, argsub, srow, cs, i, rs, buf);
    if (want_dbias) {
      float* dbias = dbias_acc.data() + static_cast<size_t>(thread) * C;
      for (int64_t j = 0; j < C; ++j) dbias[j] += buf[j];
    }
    // NPCFace with a differentiable adaptive margin: m_i = m0 + m1·mean(a·cos + b) over hard negatives.
    if (need_mask && rs.hard > 0) {
      const double k = rs.dm2 * c.ad_m1 * (c.ad_source_raw ? 1.0 : c.hard_a) / double(rs.hard);
      const uint8_t* mask = hard_mask.data() + i * C;
      for (int64_t j = 0; j < C; ++j)
        if (mask[j]) srow[j] += static_cast<float>(k) * (cs ? cs[j] : 1.0f);
    }
  };

  // Forward: per-row margins and log-sum-exp.
  parallel_for(B, 4, [&](int64_t b, int64_t e, int thread, Scratch& scratch) {
    float* buf = scratch.buf[Scratch::kUser0].data();
    for (int64_t i = b; i < e; ++i) {
      RowState& rs = ws.rows[static_cast<size_t>(i)];
      row_forward(p, ws, argsub, S + i * C, cs, i, rs, buf);
      if (p.logits) std::memcpy(p.logits + i * C, buf, static_cast<size_t>(C) * sizeof(float));
      if (p.row_margin) p.row_margin[i] = rs.m2;
      if (backward_in_forward) backward_row(i, thread, buf);
    }
  });

  prof.mark("forward rows");
  // Loss over the batch.
  double ce = 0, dist = 0, pair_loss = 0;
  for (int64_t i = 0; i < B; ++i) {
    RowState& rs = ws.rows[static_cast<size_t>(i)];
    const double row_ce = rs.lse - rs.logit_y;
    ce += row_ce;
    dist += std::min(row_ce, kDistCeCeiling);
    if (c.loss == LossKind::SoftplusPair) {
      const double z = rs.lse - rs.logit_y;  // lse over negatives
      if (p.pair) p.pair[i] = z;
      const bool linear = z > c.softplus_threshold;
      pair_loss += linear ? z : std::log1p(std::exp(z));
      rs.dz = (linear ? 1.0 : 1.0 / (1.0 + std::exp(-z))) / double(B);
    }
  }
  ce /= double(B);
  dist /= double(B);
  double dce = 1.0;
  p.ce = ce;
  p.focal = 0;
  switch (c.loss) {
    case LossKind::Ce:
      p.loss = ce;
      break;
    case LossKind::DistCe:
      p.loss = dist;
      break;
    case LossKind::Focal: {
      const double q = 1.0 - std::exp(-ce), g = c.focal_gamma;
      p.loss = std::pow(q, g) * ce;
      dce = std::pow(q, g) + (g == 0 ? 0.0 : g * std::pow(q, g - 1) * std::exp(-ce) * ce);
      p.focal = p.loss;
      break;
    }
    case LossKind::SoftplusPair:
      p.loss = pair_loss / double(B);
      break;
  }
  const double w = dce / double(B);
  for (auto& rs : ws.rows) rs.w = w;

  prof.mark("loss");
  if (need_mask) {
    // Hard entries of the adaptive margin, found before S is overwritten.
    hard_mask.assign(static_cast<size_t>(B * C), 0);
    parallel_for(B, 4, [&](int64_t b, int64_t e, int, Scratch&) {
      for (int64_t i = b; i < e; ++i) {
        const RowState& rs = ws.rows[static_cast<size_t>(i)];
        const float* srow = S + i * C;
        for (int64_t j = 0; j < C; ++j) {
          const float raw = cs ? srow[j] * cs[j] : srow[j];
          const bool inside = !c.has_clamp || (raw <= c.clamp && raw >= -c.clamp);
          hard_mask[static_cast<size_t>(i * C + j)] =
              j != p.labels[i] && double(clamp_cos(c, raw)) > rs.tau && inside;
        }
      }
    });
  }
  if (!backward_in_forward) {
    parallel_for(B, 4, [&](int64_t b, int64_t e, int thread, Scratch& scratch) {
      float* buf = scratch.buf[Scratch::kUser0].data();
      for (int64_t i = b; i < e; ++i) backward_row(i, thread, buf);
    });
  }
  if (want_dbias) {
    for (int64_t j = 0; j < C; ++j) {
      double s = 0;
      for (int t = 0; t < pool_size; ++t) s += dbias_acc[static_cast<size_t>(t) * C + j];
      p.dBias[j] = static_cast<float>(s);
    }
  }

  prof.mark("backward rows");
  // Backward through the geometry, chunk by chunk of weight rows.
  float* dxhat = ws.dxhat.reserve(static_cast<size_t>(B * D));
  const float* xhat = ws.xhat.data();
  const float* inv = ws.inv.data();
  int64_t chunk_rows = kChunkRows;
  if (const char* e = std::getenv("FVL_TUNE_MARGIN_CHUNK")) chunk_rows = std::max(64, std::atoi(e));
  if (K == 1) {
    SgemmArgs g;
    g.m = B, g.n = D, g.k = C;
    g.a = S, g.lda = C;
    g.b = p.W, g.ldb = D;
    g.c = dxhat, g.ldc = D;
    sgemm(g);
  } else {
    std::fill(dxhat, dxhat + B * D, 0.0f);
  }
  prof.mark("dx gemm");
  // One weight row per class reads dL/dcos straight from S, so nothing needs a chunk buffer: all classes
  // go in one sweep of row blocks (one x̂ packing, one tail where a thread waits for the last block).
  const int64_t cc = K == 1 ? C : std::max<int64_t>(1, chunk_rows / K);
  float* expand = K > 1 ? ws.chunk.reserve(static_cast<size_t>(B * cc * K)) : nullptr;
  for (int64_t c0 = 0; c0 < C; c0 += cc) {
    const int64_t n = std::min(cc, C - c0);
    const int64_t r0 = c0 * K, nr = n * K;
    const float* a;
    int64_t lda;
    if (K == 1) {
      a = S + c0;
      lda = C;
    } else {
      // Spread dL/dcos onto the chosen sub-centre of each class, scaled by 1/‖w_r‖.
      parallel_for(B, 16, [&](int64_t b, int64_t e, int, Scratch&) {
        for (int64_t i = b; i < e; ++i) {
          float* t = expand + i * nr;
          std::fill(t, t + nr, 0.0f);
          for (int64_t j = 0; j < n; ++j) {
            const int64_t k = argsub[i * C + c0 + j];
            t[j * K + k] = S[i * C + c0 + j] * inv[r0 + j * K + k];
          }
        }
      });
      // Sub-centres are chosen on the fp32 cosines (a near-tie may differ from the fp64 oracle's choice).
      SgemmArgs g;
      g.m = B, g.n = D, g.k = nr;
      g.a = expand, g.lda = nr;
      g.b = p.W + r0 * D, g.ldb = D;
      g.beta = 1.0f;
      g.c = dxhat, g.ldc = D;
      sgemm(g);
      a = expand;
      lda = nr;
    }
    weight_backward(p, ws, a, lda, r0, nr);
    prof.mark("dw gemm + update (chunk)");
  }

  // dX from dx̂: the Jacobian of x ↦ x/‖x‖, row by row.
  parallel_for(B, 16, [&](int64_t b, int64_t e, int, Scratch&) {
    for (int64_t i = b; i < e; ++i)
      normalization_gradient_row(c.normalize_x, dxhat + i * D, xhat + i * D, ws.xnorm[static_cast<size_t>(i)], D,
                                 p.dX + i * D);
  });
  prof.mark("dX");
  if (p.x_norm)
    for (int64_t i = 0; i < B; ++i) p.x_norm[i] = ws.xnorm[static_cast<size_t>(i)];
  add_norm_gradient(p, ws.xnorm.data());
}

}  // namespace fvl
