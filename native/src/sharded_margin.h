// faceverloss native engine: the margin softmax over one shard of the classes, in two passes around the
// collectives of a model-parallel head (src/parallel/sharded-step.ts runs them).
//
// Each process holds a contiguous slice of W. For the whole (all-gathered) batch:
//
//   pass 1 (stats)    class chunk by chunk: cosines x̂·Ŵ_chunkᵀ, logits, and a running (online) row
//                     max and sum of exp(logit − max) over this shard's negatives; the rank that owns a
//                     row's class adds the target logit, computed in double. No B×C buffer is kept.
//   (collectives)     all-reduce MAX of the row maxima, all-reduce SUM of the rescaled sums → the
//                     global log-sum-exp of every row.
//   pass 2 (backward) the same cosines again, dL/dlogit from the global log-sum-exp, dx̂ += G·W_chunk
//                     and dŴ = Gᵀ·x̂ chunk by chunk, the SGD step on the chunk's rows (W's gradient never
//                     leaves the process), and this shard's part of dL/dX.
//
// The margins are those that change only the target logit (ArcFace, CosFace, Combined, SphereFace's ψ,
// NormFace, Softmax): plain negatives on the cosine map, one row of W per class, shared (not per-row)
// margin and scale. The arithmetic is the fused kernel's (margin.cc) step by step, so a sharded step
// reproduces a one-process step to rounding.
#pragma once

#include "common.h"
#include "margin.h"

namespace fvl {

struct ShardedMarginProblem {
  int64_t B = 0, D = 0, C = 0;     // C: classes of this shard (as sampled); may be 0
  const float* X = nullptr;        // B×D, the whole batch
  float* W = nullptr;              // C×D, this shard's rows (stepped in place by SGD in pass 2)
  const int32_t* labels = nullptr; // B: the class as an index into this shard, or −1 when another owns it
  MarginConfig cfg;                // geometry, target, scale; negatives are plain, the map is cos

  // Pass 1 outputs (B each): the shard's row maximum (−inf when it has no entry for the row), the sum
  // of exp(logit − max) over its entries, and the target logit where it owns the row (0 elsewhere).
  double* row_max = nullptr;
  double* row_sum = nullptr;
  double* target_logit = nullptr;

  // Pass 2 inputs and outputs.
  const double* lse = nullptr;     // B: global log-sum-exp per row
  double grad_weight = 0.0;        // dL/dce_i, the same for every row (1/B for the mean cross-entropy)
  SgdConfig sgd;                   // the step applied to W's rows inside the backward
  float* dX = nullptr;             // B×D: this shard's part of dL/dX (required)
  float* dW = nullptr;             // C×D: dL/dW instead of the step (optional, not with sgd)
};

// Pass 1. Arguments are trusted (the binding checks them). Throws std::bad_alloc.
void sharded_margin_stats(ShardedMarginProblem& p);

// Pass 2. Arguments are trusted (the binding checks them). Throws std::bad_alloc.
void sharded_margin_backward(ShardedMarginProblem& p);

}  // namespace fvl
