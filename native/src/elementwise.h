// faceverloss native engine: element-wise arithmetic and axis reductions over float32 tensors.
//
// These replace TF.js cpu kernels that a training step calls hundreds of times: binary arithmetic
// (its generic version computes broadcast indices per element), sums or means over a block of axes
// (its generic version transposes the tensor first unless the axes are innermost) and batch
// normalisation with given statistics (a modulo per parameter and element). Only the
// layouts that batch normalisation, biases and pooling produce are covered; the TypeScript side
// sends everything else to TF.js. Work runs on the process thread pool once it is large enough to
// pay for waking threads.
#pragma once

#include <cstdint>

namespace fvl {

// y = a op b, with TF.js's float32 results (each is the exact result rounded once to float).
enum class BinaryOp : int { Add = 0, Sub = 1, Mul = 2, Div = 3, SquaredDifference = 4 };

// y[i] = a[i'] op b[i''] for i in [0, n), where y is n / channels rows of `channels` values and each
// operand holds `period` values: n (one per element), channels (one per column, repeated for every
// row) or 1 (one for all). A period equal to `channels` requires n to be a multiple of channels.
void binary(BinaryOp op, const float* a, int64_t a_period, const float* b, int64_t b_period, float* y, int64_t n,
            int64_t channels);

// x viewed as [outer, reduce, inner] (row-major): y[o * inner + k] = Σ_r x[(o * reduce + r) * inner + k],
// divided by `reduce` when `mean` is set. Sums are taken in double (fewer than 64 columns in lanes
// along spans of whole rows) in an order fixed by the shape alone, so results do not depend on the
// number of threads; each result is rounded once to float.
void reduce_sum(const float* x, float* y, int64_t outer, int64_t reduce, int64_t inner, bool mean);

// The step of SGD with momentum as TF.js's MomentumOptimizer takes it, each operation rounded to float:
//   new_acc = m·acc + grad,  new_value = c·new_acc + value  (c = −learning rate),
// over n elements; outputs must not overlap the inputs.
void momentum_update(const float* acc, const float* grad, const float* value, float m, float c, float* new_acc,
                     float* new_value, int64_t n);

// Batch normalisation with given statistics, as TF.js's FusedBatchNorm computes it in double:
//   y[i] = offset[c] + (x[i] - mean[c]) * scale[c] / sqrt(variance[c] + epsilon),  c = i mod channels,
// over n elements (a multiple of channels). Each parameter holds `channels` values, or 1 for all.
struct BatchNormParams {
  const float* mean;
  const float* variance;
  const float* scale;
  const float* offset;
  bool mean_one, variance_one, scale_one, offset_one;  // the parameter holds one value for all channels
  double epsilon;
};
void batch_norm(const float* x, float* y, int64_t n, int64_t channels, const BatchNormParams& p);

}  // namespace fvl
