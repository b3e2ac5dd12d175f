// faceverloss native engine: element-wise, pooling and depthwise layers of CNN backbones (NHWC, float32).
//
// These replace TF.js cpu kernels whose generic JavaScript loops dominate a training step of a small
// network: PReLU (forward, and its gradient for x and alpha in one pass), max pooling (forward and
// gradient) and depthwise convolution (forward and both gradients). Each runs on the process thread
// pool; the inner loops run along channels, contiguous in NHWC, so the compiler vectorises them
// without ISA flags.
#pragma once

#include <cstdint>

namespace fvl {

// y = x < 0 ? alpha[c] * x : x over `rows` rows of `channels` values (alpha has `channels` entries).
void prelu_forward(const float* x, const float* alpha, float* y, int64_t rows, int64_t channels);

// The PReLU gradient, with TF.js's semantics (mask = x > 0):
//   dx = mask ? dy : dy * alpha[c],  dalpha[c] = Σ over rows of (mask ? 0 : dy * x),
// and, when dx_sum is not null, dx_sum[c] = Σ over rows of dx (the bias gradient of the layer below,
// taken while dx is in registers instead of in a second pass over it).
// The sums are taken in float over blocks of 64 rows, in double across blocks, tasks added in a fixed
// order (the result does not depend on the number of threads).
void prelu_backward(const float* dy, const float* x, const float* alpha, float* dx, float* dalpha, float* dx_sum,
                    int64_t rows, int64_t channels);

// Batch normalisation in training mode over `rows` rows of `channels` values (NHWC flattened: the
// statistics of channel c run over every row). mean and variance (biased, as TF.js's moments) are written
// per channel, then y = (x − mean) · gamma / sqrt(variance + eps) + beta (gamma, beta may be null: 1, 0).
// Both statistics come from one pass over x (sums of x − k, k the first row: see the .cc); sums run in
// float over short blocks of rows, in double across blocks, added in a fixed order.
void batch_norm_train_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                              float* variance, int64_t rows, int64_t channels, float eps);

// Its gradient, every path included (through the batch mean and variance): with x̂ = (x − mean)·r,
// r = 1/sqrt(variance + eps), N = rows,
//   dbeta = Σ dy,  dgamma = Σ dy·x̂,  dx = gamma·r/N · (N·dy − dbeta − x̂·dgamma).
void batch_norm_train_backward(const float* dy, const float* x, const float* gamma, const float* mean,
                               const float* variance, float* dx, float* dgamma, float* dbeta, int64_t rows,
                               int64_t channels, float eps);

// Geometry of a 2-D pooling window over an NHWC tensor (TF.js computePool2DInfo, dilation 1).
struct PoolGeometry {
  int64_t batch, in_h, in_w, channels;
  int64_t out_h, out_w;
  int64_t filter_h, filter_w;
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_left;
};

// y = the maximum of each window (padding counts as -inf, NaN never wins; an empty window gives -inf).
void max_pool_forward(const PoolGeometry& g, const float* x, float* y);

// dx = dy routed to the first maximum of each window in scan order (rows, then columns), as TF.js's
// maxPoolPositions picks it, summed where windows overlap; 0 where no window's maximum lies (dx is
// overwritten).
void max_pool_backward(const PoolGeometry& g, const float* dy, const float* x, float* dx);

// Geometry of an NHWC depthwise convolution (TF.js computeConv2DInfo with depthwise = true): filter
// [filter_h, filter_w, channels, multiplier], output channel c * multiplier + q.
struct DepthwiseGeometry {
  int64_t batch, in_h, in_w, channels, multiplier;
  int64_t out_h, out_w;
  int64_t filter_h, filter_w;
  int64_t stride_h, stride_w;
  int64_t dilation_h, dilation_w;
  int64_t pad_top, pad_left;
};

// y = depthwise convolution of x with w (zero padding).
void depthwise_forward(const DepthwiseGeometry& g, const float* x, const float* w, float* y);

// dx = the gradient for x of the convolution above, given dy (dx is overwritten).
void depthwise_backward_input(const DepthwiseGeometry& g, const float* dy, const float* w, float* dx);

// dw = the gradient for w, given x and dy (dw is overwritten). Sums run per block of output rows in
// float, blocks added in double in a fixed order.
void depthwise_backward_filter(const DepthwiseGeometry& g, const float* x, const float* dy, float* dw);

}  // namespace fvl
