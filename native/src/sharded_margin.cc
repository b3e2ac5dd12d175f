#include "sharded_margin.h"

#include <algorithm>
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

// The cosine block of one class chunk holds at most this many floats (8 MB): with it, neither pass keeps
// anything of size B×C, and a shard of millions of classes needs no more memory than its W.
constexpr int64_t kChunkFloats = int64_t(1) << 21;

// Buffers reused from call to call (fresh multi-megabyte allocations page-fault on every step).
struct Workspace {
  std::mutex mu;
  AlignedBuffer xhat;   // B×D
  AlignedBuffer dxhat;  // B×D
  AlignedBuffer s;      // B×chunk: cosines (unscaled dot products), then dL/dcos in place
  AlignedBuffer inv;    // chunk: 1/max(‖w_r‖, eps), or 1 without weight normalisation
  AlignedBuffer dw;     // chunk×D: the chunk's dŴ when dW is not returned
  std::vector<double> xnorm;
};

Workspace& workspace() {
  static Workspace* w = new Workspace();  // never destroyed: may be in use while Node exits
  return *w;
}

int64_t chunk_classes(int64_t B, int64_t C) {
  return std::max<int64_t>(1, std::min<int64_t>(C, std::max<int64_t>(64, kChunkFloats / B)));
}

// ‖x_i‖ and x̂ = x/‖x‖ (or x itself without embedding normalisation).
void normalize_rows(const ShardedMarginProblem& p, Workspace& ws) {
  const int64_t B = p.B, D = p.D;
  float* xhat = ws.xhat.reserve(static_cast<size_t>(B * D));
  ws.xnorm.assign(static_cast<size_t>(B), 0.0);
  for (int64_t i = 0; i < B; ++i) {
    const float* x = p.X + i * D;
    double s = 0;
    for (int64_t d = 0; d < D; ++d) s += double(x[d]) * x[d];
    ws.xnorm[static_cast<size_t>(i)] = std::sqrt(s);
    const double k = p.cfg.normalize_x ? 1.0 / std::max(std::sqrt(s), kNormalizeEps) : 1.0;
    for (int64_t d = 0; d < D; ++d) xhat[i * D + d] = static_cast<float>(x[d] * k);
  }
}

// inv[r] = 1/max(‖w_{c0+r}‖, eps) for the chunk's rows (1 without weight normalisation).
void inverse_norms(const ShardedMarginProblem& p, int64_t c0, int64_t n, float* inv) {
  const bool norm_w = p.cfg.normalize_w != WeightNorm::None;
  const RowSweeps* sweeps = row_sweeps();
  const int64_t D = p.D;
  parallel_for(n, 4096, [&](int64_t b, int64_t e, int, Scratch&) {
    for (int64_t r = b; r < e; ++r) {
      if (!norm_w) {
        inv[r] = 1.0f;
        continue;
      }
      const float* w = p.W + (c0 + r) * D;
      double s = 0;
      if (sweeps) s = sweeps->sum_squares(w, D);
      else
        for (int64_t d = 0; d < D; ++d) s += double(w[d]) * w[d];
      inv[r] = static_cast<float>(1.0 / std::max(std::sqrt(s), kNormalizeEps));
    }
  });
}

// S = x̂·W_chunkᵀ (B×n, before the 1/‖w‖ column scale).
void chunk_cosines(const ShardedMarginProblem& p, const float* xhat, int64_t c0, int64_t n, float* S) {
  SgemmArgs g;
  g.trans_b = true;
  g.m = p.B, g.n = n, g.k = p.D;
  g.a = xhat, g.lda = p.D;
  g.b = p.W + c0 * p.D, g.ldb = p.D;
  g.c = S, g.ldc = n;
  sgemm(g);
}

// The target of an owned row, in double from the fp32 inputs like the fused kernel's.
struct Target {
  double gt_raw = 0, gt = 0;
  TargetValue tv;
  double logit = 0;
};

Target target_of(const ShardedMarginProblem& p, const Workspace& ws, int64_t i) {
  const MarginConfig& c = p.cfg;
  const int64_t D = p.D;
  const float* x = p.X + i * D;
  const float* w = p.W + int64_t(p.labels[i]) * D;
  double dot = 0, ww = 0;
  for (int64_t d = 0; d < D; ++d) dot += double(x[d]) * w[d], ww += double(w[d]) * w[d];
  if (c.normalize_x) dot /= std::max(ws.xnorm[static_cast<size_t>(i)], kNormalizeEps);
  if (c.normalize_w != WeightNorm::None) dot /= std::max(std::sqrt(ww), kNormalizeEps);
  Target t;
  t.gt_raw = dot;
  t.gt = c.has_clamp ? std::min(c.clamp, std::max(-c.clamp, dot)) : dot;
  t.tv = c.target == TargetKind::Sphere ? sphere_target(c, t.gt) : angular_target(c, t.gt, c.m2, c.m3);
  t.logit = c.scale * t.tv.value;
  return t;
}

// Grows every thread's row buffer to n floats (on the calling thread, where bad_alloc can be reported).
void reserve_row_buffers(int64_t n) {
  ThreadPool::Region region(ThreadPool::global());
  for (int t = 0; t < region.size(); ++t) region.scratch(t).buf[Scratch::kUser0].reserve(static_cast<size_t>(n));
}

// One row of pass 1 over a chunk: folds the chunk's negatives into the running (max, sum).
void stats_row(const ShardedMarginProblem& p, const float* srow, const float* inv, int64_t c0, int64_t n,
               int64_t i, float* buf) {
  const MarginConfig& c = p.cfg;
  const float s = static_cast<float>(c.scale);
  const float lim = c.has_clamp ? static_cast<float>(c.clamp) : INFINITY;
  const RowSweeps* sweeps = row_sweeps();
  if (sweeps) sweeps->plain_logits(srow, inv, nullptr, n, s, lim, buf);
  else
    for (int64_t j = 0; j < n; ++j) buf[j] = s * std::min(lim, std::max(-lim, srow[j] * inv[j]));
  const int64_t y = p.labels[i];
  if (y >= c0 && y < c0 + n) buf[y - c0] = -INFINITY;
  float mx = -INFINITY;
  if (sweeps) mx = sweeps->max(buf, n);
  else
    for (int64_t j = 0; j < n; ++j) mx = std::max(mx, buf[j]);
  if (!(mx > -INFINITY)) return;
  // Online softmax: the running sum is rescaled whenever the maximum grows. The shift is an fp32 value
  // (the sweeps take it in fp32), exactly as in the fused kernel.
  const double old_max = p.row_max[i];
  const double new_max = std::max(old_max, double(mx));
  const double kept = old_max > -INFINITY ? p.row_sum[i] * std::exp(old_max - new_max) : 0.0;
  const double added =
      sweeps ? sweeps->sum_exp(buf, n, static_cast<float>(new_max)) : sum_exp_shifted(buf, n, static_cast<float>(new_max));
  p.row_max[i] = new_max;
  p.row_sum[i] = kept + added;
}

// One row of pass 2 over a chunk: dL/dcos over S in place (times the column scale), the target in double.
void backward_row(const ShardedMarginProblem& p, float* srow, const float* inv, int64_t c0, int64_t n, int64_t i,
                  double dcos_target) {
  const MarginConfig& c = p.cfg;
  const float s = static_cast<float>(c.scale);
  const float lim = c.has_clamp ? static_cast<float>(c.clamp) : INFINITY;
  // G = w·exp(logit − lse); the sweep shifts by an fp32 number, and what that rounding drops goes into
  // the weight (as in the fused kernel).
  const double lse = p.lse[i];
  const float shift = static_cast<float>(lse);
  const double rounding = std::isfinite(lse) ? std::exp(double(shift) - lse) : 1.0;
  const float wf = static_cast<float>(p.grad_weight * rounding);
  const int64_t y = p.labels[i];
  const bool owned_here = y >= c0 && y < c0 + n;
  if (owned_here) srow[y - c0] = 0.0f;  // keep the sweep away from the target column
  const RowSweeps* sweeps = row_sweeps();
  if (sweeps) {
    sweeps->plain_backward(srow, inv, nullptr, n, s, lim, shift, wf, nullptr);
  } else {
    for (int64_t j = 0; j < n; ++j) {
      const float raw = srow[j] * inv[j];
      const float x = std::min(lim, std::max(-lim, raw));
      const float g = wf * fast_exp(s * x - shift);
      srow[j] = (raw > lim || raw < -lim) ? 0.0f : g * s * inv[j];
    }
  }
  if (owned_here) srow[y - c0] = static_cast<float>(dcos_target) * inv[y - c0];
}

// The chunk's rows of W: dŴ (in P, already scaled by 1/‖w‖) → the parameter's gradient, then the SGD
// step (or the gradient stays in P when dW is returned). The fused kernel's rule, row by row.
void update_rows(ShardedMarginProblem& p, const float* inv, int64_t c0, int64_t n, float* P) {
  const MarginConfig& c = p.cfg;
  const int64_t D = p.D;
  const RowSweeps* sweeps = row_sweeps();
  parallel_for(n, 64, [&](int64_t b, int64_t e, int, Scratch&) {
    for (int64_t rr = b; rr < e; ++rr) {
      const int64_t r = c0 + rr;
      float* pr = P + rr * D;
      float* wr = p.W + r * D;
      const double iv = inv[rr];
      finish_weight_row(c, p.sgd, sweeps, pr, wr, p.sgd.velocity ? p.sgd.velocity + r * D : nullptr, D, iv,
                        p.dW != nullptr, p.sgd.enabled);
    }
  });
}

// dX from dx̂: the Jacobian of x ↦ x/‖x‖ (linear in dx̂, so each shard may apply it to its part).
void embedding_gradient(const ShardedMarginProblem& p, const Workspace& ws, const float* dxhat) {
  const int64_t D = p.D;
  const float* xhat = ws.xhat.data();
  for (int64_t i = 0; i < p.B; ++i)
    normalization_gradient_row(p.cfg.normalize_x, dxhat + i * D, xhat + i * D, ws.xnorm[static_cast<size_t>(i)], D,
                               p.dX + i * D);
}

}  // namespace

void sharded_margin_stats(ShardedMarginProblem& p) {
  Workspace& ws = workspace();
  std::lock_guard<std::mutex> lock(ws.mu);
  const int64_t B = p.B, C = p.C;
  prefer_huge_pages(p.W, static_cast<size_t>(C * p.D) * sizeof(float));  // see margin_softmax()
  normalize_rows(p, ws);
  for (int64_t i = 0; i < B; ++i) p.row_max[i] = -INFINITY, p.row_sum[i] = 0.0, p.target_logit[i] = 0.0;
  if (C > 0) {
    const int64_t nc = chunk_classes(B, C);
    float* S = ws.s.reserve(static_cast<size_t>(B * nc));
    float* inv = ws.inv.reserve(static_cast<size_t>(nc));
    reserve_row_buffers(nc);
    for (int64_t c0 = 0; c0 < C; c0 += nc) {
      const int64_t n = std::min(nc, C - c0);
      inverse_norms(p, c0, n, inv);
      chunk_cosines(p, ws.xhat.data(), c0, n, S);
      parallel_for(B, 4, [&](int64_t b, int64_t e, int, Scratch& scratch) {
        float* buf = scratch.buf[Scratch::kUser0].data();
        for (int64_t i = b; i < e; ++i) stats_row(p, S + i * n, inv, c0, n, i, buf);
      });
    }
  }
  // The owner of a row's class adds its target logit; the shift stays an fp32 value.
  for (int64_t i = 0; i < B; ++i) {
    if (p.labels[i] < 0) continue;
    const double logit = target_of(p, ws, i).logit;
    const double old_max = p.row_max[i];
    const double m = static_cast<float>(std::max(old_max, logit));
    const double kept = old_max > -INFINITY ? p.row_sum[i] * std::exp(old_max - m) : 0.0;
    p.row_max[i] = m;
    p.row_sum[i] = kept + std::exp(logit - m);
    p.target_logit[i] = logit;
  }
}

void sharded_margin_backward(ShardedMarginProblem& p) {
  Workspace& ws = workspace();
  std::lock_guard<std::mutex> lock(ws.mu);
  const MarginConfig& c = p.cfg;
  const int64_t B = p.B, D = p.D, C = p.C;
  if (p.sgd.enabled && p.sgd.velocity) prefer_huge_pages(p.sgd.velocity, static_cast<size_t>(C * D) * sizeof(float));
  normalize_rows(p, ws);
  float* dxhat = ws.dxhat.reserve(static_cast<size_t>(B * D));
  std::fill(dxhat, dxhat + B * D, 0.0f);
  // dL/dcos of the owned targets, in double: G_y = w·(p_y − 1) through φ′ (1 straight through).
  std::vector<double> dcos_target(static_cast<size_t>(B), 0.0);
  for (int64_t i = 0; i < B; ++i) {
    if (p.labels[i] < 0) continue;
    const Target t = target_of(p, ws, i);
    const double gy = p.grad_weight * (std::exp(t.logit - p.lse[i]) - 1.0);
    double d = gy * c.scale * (c.straight_through ? 1.0 : t.tv.dcos);
    if (c.has_clamp && (t.gt_raw > c.clamp || t.gt_raw < -c.clamp)) d = 0.0;
    dcos_target[static_cast<size_t>(i)] = d;
  }
  if (C > 0) {
    const int64_t nc = chunk_classes(B, C);
    float* S = ws.s.reserve(static_cast<size_t>(B * nc));
    float* inv = ws.inv.reserve(static_cast<size_t>(nc));
    float* dw_scratch = p.dW ? nullptr : ws.dw.reserve(static_cast<size_t>(nc * D));
    const float* xhat = ws.xhat.data();
    for (int64_t c0 = 0; c0 < C; c0 += nc) {
      const int64_t n = std::min(nc, C - c0);
      inverse_norms(p, c0, n, inv);
      chunk_cosines(p, xhat, c0, n, S);
      parallel_for(B, 4, [&](int64_t b, int64_t e, int, Scratch&) {
        for (int64_t i = b; i < e; ++i) backward_row(p, S + i * n, inv, c0, n, i, dcos_target[static_cast<size_t>(i)]);
      });
      // dx̂ += G·W_chunk, with the chunk's rows as they were before this step.
      SgemmArgs gx;
      gx.m = B, gx.n = D, gx.k = n;
      gx.a = S, gx.lda = n;
      gx.b = p.W + c0 * D, gx.ldb = D;
      gx.beta = 1.0f;
      gx.c = dxhat, gx.ldc = D;
      sgemm(gx);
      // dŴ = Gᵀ·x̂ for the chunk's rows, then their step.
      float* P = p.dW ? p.dW + c0 * D : dw_scratch;
      SgemmArgs gw;
      gw.trans_a = true;
      gw.m = n, gw.n = D, gw.k = B;
      gw.a = S, gw.lda = n;
      gw.b = xhat, gw.ldb = D;
      gw.c = P, gw.ldc = D;
      sgemm(gw);
      update_rows(p, inv, c0, n, P);
    }
  }
  embedding_gradient(p, ws, dxhat);
}

}  // namespace fvl
