// faceverloss native engine: PReLU, max pooling and depthwise convolution for NHWC float32 tensors
// (see nn_kernels.h).
#include "nn_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "channel_spans.h"
#include "common.h"
#include "pool_loops.h"
#include "span_loops.h"
#include "task_split.h"

namespace fvl {

void prelu_forward(const float* x, const float* alpha, float* y, int64_t rows, int64_t channels) {
  const SpanLoops& loops = active_span_loops();
  const ChannelSpans cs(rows, channels);
  const std::vector<float> slopes = cs.repeat(alpha);
  for_spans(cs, [&](int64_t at, int64_t count, int64_t w) {
    loops.prelu_forward(x + at, slopes.data(), y + at, count, w);
  });
}

void prelu_backward(const float* dy, const float* x, const float* alpha, float* dx, float* dalpha, float* dx_sum,
                    int64_t rows, int64_t channels) {
  const SpanLoops& loops = active_span_loops();
  const ChannelSpans cs(rows, channels);
  const std::vector<float> slopes = cs.repeat(alpha);
  // Both sums in the one pass (the second costs an addition per value, no memory traffic).
  std::vector<double> sums(static_cast<size_t>(channels) * 2);
  span_sums<2>(cs, 64, sums.data(), [&](int64_t at, int64_t count, int64_t w, float* const* acc) {
    loops.prelu_backward(dy + at, x + at, slopes.data(), dx + at, acc[0], acc[1], count, w);
  });
  for (int64_t c = 0; c < channels; ++c) {
    dalpha[c] = static_cast<float>(sums[static_cast<size_t>(c)]);
    if (dx_sum) dx_sum[c] = static_cast<float>(sums[static_cast<size_t>(channels + c)]);
  }
}

void batch_norm_train_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                              float* variance, int64_t rows, int64_t channels, float eps) {
  const SpanLoops& loops = active_span_loops();
  const size_t c_n = static_cast<size_t>(channels);
  const ChannelSpans cs(rows, channels);
  // One pass for both statistics: Σd and Σd² of d = x − k, with k the first row's value of the channel.
  // Shifted by a value from the data, d is of the order of the spread, so Σd²/N − (Σd/N)² loses no more
  // than a digit to cancellation however far the mean lies from zero (unshifted sums of squares would
  // lose them all for a mean many deviations away), and x is read once instead of twice.
  const std::vector<float> first_row = cs.repeat(x);
  std::vector<double> sums(c_n * 2);
  span_sums<2>(cs, 32, sums.data(), [&](int64_t at, int64_t count, int64_t w, float* const* acc) {
    loops.shifted_moments(x + at, first_row.data(), acc[0], acc[1], count, w);
  });
  std::vector<float> m(c_n), scale(c_n), shift(c_n);
  const double n = static_cast<double>(rows);
  for (size_t c = 0; c < c_n; ++c) {
    const double d_mean = sums[c] / n;
    const float var = static_cast<float>(std::max(0.0, sums[c_n + c] / n - d_mean * d_mean));
    m[c] = static_cast<float>(static_cast<double>(x[c]) + d_mean);
    mean[c] = m[c];
    variance[c] = var;
    scale[c] = (gamma ? gamma[c] : 1.0f) / std::sqrt(var + eps);
    shift[c] = beta ? beta[c] : 0.0f;
  }
  const std::vector<float> mu = cs.repeat(m.data()), sc = cs.repeat(scale.data()), sh = cs.repeat(shift.data());
  for_spans(cs, [&](int64_t at, int64_t count, int64_t w) {
    loops.normalize(x + at, mu.data(), sc.data(), sh.data(), y + at, count, w);
  });
}

void batch_norm_train_backward(const float* dy, const float* x, const float* gamma, const float* mean,
                               const float* variance, float* dx, float* dgamma, float* dbeta, int64_t rows,
                               int64_t channels, float eps) {
  const SpanLoops& loops = active_span_loops();
  const size_t c_n = static_cast<size_t>(channels);
  const ChannelSpans cs(rows, channels);
  std::vector<float> inv(c_n);
  for (size_t c = 0; c < c_n; ++c) inv[c] = 1.0f / std::sqrt(variance[c] + eps);
  const std::vector<float> mu = cs.repeat(mean), r = cs.repeat(inv.data());
  std::vector<double> sums(c_n * 2);
  // Σ dy and Σ dy·x̂ in one pass.
  span_sums<2>(cs, 32, sums.data(), [&](int64_t at, int64_t count, int64_t w, float* const* acc) {
    loops.gradient_moments(dy + at, x + at, mu.data(), r.data(), acc[0], acc[1], count, w);
  });
  const double n = static_cast<double>(rows);
  std::vector<float> k_dy(c_n), k_b(c_n), k_x(c_n);
  for (size_t c = 0; c < c_n; ++c) {
    const double sum_dy = sums[c], sum_dyx = sums[c_n + c];
    dbeta[c] = static_cast<float>(sum_dy);
    dgamma[c] = static_cast<float>(sum_dyx);
    // dx = g·r·dy − g·r/N·Σdy − g·r/N·x̂·Σdy·x̂, with x̂ = (x − mean)·r: per channel an affine map of (dy, x).
    const double g = gamma ? gamma[c] : 1.0;
    const double gr = g * inv[c];
    k_dy[c] = static_cast<float>(gr);
    k_x[c] = static_cast<float>(-gr * inv[c] * sum_dyx / n);
    k_b[c] = static_cast<float>(-gr * sum_dy / n + gr * inv[c] * sum_dyx / n * mean[c]);
  }
  const std::vector<float> a = cs.repeat(k_dy.data()), b = cs.repeat(k_x.data()), k = cs.repeat(k_b.data());
  for_spans(cs, [&](int64_t at, int64_t count, int64_t w) {
    loops.affine2(dy + at, x + at, a.data(), b.data(), k.data(), dx + at, count, w);
  });
}

namespace {

// Input columns [lo, hi) of the window of output column ow.
FVL_INLINE void window_columns(const PoolGeometry& g, int64_t ow, int64_t* lo, int64_t* hi) {
  const int64_t w0 = ow * g.stride_w - g.pad_left;
  *lo = std::max<int64_t>(0, w0);
  *hi = std::min(g.in_w, w0 + g.filter_w);
}

// How many windows from output column ow on have two input columns each, every one stride_w columns
// after the one before: a run the pool loops take in one call (2×2 windows, or clipped larger ones). 0
// when window ow does not have two columns.
int64_t two_column_run(const PoolGeometry& g, int64_t ow) {
  int64_t lo, hi;
  window_columns(g, ow, &lo, &hi);
  if (hi - lo != 2) return 0;
  int64_t k = 1;
  for (; ow + k < g.out_w; ++k) {
    int64_t next_lo, next_hi;
    window_columns(g, ow + k, &next_lo, &next_hi);
    if (next_hi - next_lo != 2 || next_lo != lo + k * g.stride_w) break;
  }
  return k;
}

}  // namespace

void max_pool_forward(const PoolGeometry& geometry, const float* x, float* y) {
  const PoolLoops& loops = active_pool_loops();
  const int64_t out_rows = geometry.batch * geometry.out_h;
  const int tasks =
      task_count(out_rows * geometry.out_w * geometry.channels * geometry.filter_h * geometry.filter_w, out_rows);
  run_tasks(tasks, [=, &loops](int t, int) {
    // Copies (captured by value): stores through y could otherwise alias a captured reference, and the
    // channel loops would reload their bound.
    const PoolGeometry g = geometry;
    const int64_t C = g.channels;
    for (int64_t row = split(out_rows, tasks, t), end = split(out_rows, tasks, t + 1); row < end; ++row) {
      const int64_t n = row / g.out_h, oh = row % g.out_h;
      const int64_t h0 = oh * g.stride_h - g.pad_top;
      const int64_t h_lo = std::max<int64_t>(0, h0), h_hi = std::min(g.in_h, h0 + g.filter_h);
      const float* xn = x + n * g.in_h * g.in_w * C;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        int64_t w_lo, w_hi;
        window_columns(g, ow, &w_lo, &w_hi);
        float* FVL_RESTRICT out = y + (row * g.out_w + ow) * C;
        const int64_t run = h_hi - h_lo == 2 ? two_column_run(g, ow) : 0;
        if (run > 0) {
          // Windows of 2×2 taps (or clipped larger ones), the common case.
          const float* r0 = xn + (h_lo * g.in_w + w_lo) * C;
          loops.max2x2(r0, r0 + g.in_w * C, out, run, g.stride_w * C, C);
          ow += run - 1;
          continue;
        }
        for (int64_t c = 0; c < C; ++c) out[c] = -std::numeric_limits<float>::infinity();
        for (int64_t h = h_lo; h < h_hi; ++h) {
          for (int64_t w = w_lo; w < w_hi; ++w) {
            const float* FVL_RESTRICT px = xn + (h * g.in_w + w) * C;
            for (int64_t c = 0; c < C; ++c) out[c] = px[c] > out[c] ? px[c] : out[c];
          }
        }
      }
    }
  });
}

namespace {

// Whether every input pixel lies in at most one window (stride at least the window on both axes).
bool windows_disjoint(const PoolGeometry& g) { return g.stride_h >= g.filter_h && g.stride_w >= g.filter_w; }

// max_pool_backward for disjoint windows: per window and channel, the winning tap in scan order (as
// below), then every tap of the window written, dy at the winner and 0 elsewhere — two vectorised loops
// over the channels, no scatter. Tasks own output rows and, with them, the input rows from their
// windows' first row to the next's; rows and columns no window covers are zeroed first.
void max_pool_backward_disjoint(const PoolGeometry& geometry, const float* dy, const float* x, float* dx) {
  const PoolLoops& loops = active_pool_loops();
  const int64_t out_rows = geometry.batch * geometry.out_h;
  const int tasks = task_count(out_rows * geometry.out_w * geometry.channels * geometry.filter_h * geometry.filter_w, out_rows);
  run_tasks(tasks, [=, &loops](int t, int) {
    // Copies (captured by value): the stores through dx could otherwise alias a captured reference,
    // and the channel loops would reload their bound and stay scalar.
    const PoolGeometry g = geometry;
    const int64_t C = g.channels;
    const bool covered = g.stride_h == g.filter_h && g.stride_w == g.filter_w &&
                         g.out_h * g.stride_h - g.pad_top >= g.in_h && g.out_w * g.stride_w - g.pad_left >= g.in_w;
    std::vector<float> best_v(static_cast<size_t>(C));
    std::vector<int32_t> tap_v(static_cast<size_t>(C));
    std::vector<int64_t> offsets(static_cast<size_t>(g.filter_h * g.filter_w));
    float* FVL_RESTRICT best = best_v.data();
    int32_t* FVL_RESTRICT tap = tap_v.data();
    for (int64_t row = split(out_rows, tasks, t), end = split(out_rows, tasks, t + 1); row < end; ++row) {
      const int64_t n = row / g.out_h, oh = row % g.out_h;
      const int64_t h0 = oh * g.stride_h - g.pad_top;
      const int64_t h_lo = std::max<int64_t>(0, h0), h_hi = std::min(g.in_h, h0 + g.filter_h);
      const float* xn = x + n * g.in_h * g.in_w * C;
      float* dxn = dx + n * g.in_h * g.in_w * C;
      if (!covered) {
        // The input rows this output row owns: up to the next window's first row, or the image's end.
        const int64_t own_hi = oh + 1 == g.out_h ? g.in_h : std::min(g.in_h, h0 + g.stride_h);
        const int64_t own_lo = oh == 0 ? 0 : std::max<int64_t>(0, h0);
        if (own_hi > own_lo) std::fill(dxn + own_lo * g.in_w * C, dxn + own_hi * g.in_w * C, 0.0f);
      }
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        int64_t w_lo, w_hi;
        window_columns(g, ow, &w_lo, &w_hi);
        const float* FVL_RESTRICT d = dy + (row * g.out_w + ow) * C;
        const int64_t run = h_hi - h_lo == 2 ? two_column_run(g, ow) : 0;
        if (run > 0) {
          // Windows of 2×2 taps (or clipped larger ones), the common case.
          const int64_t at = (h_lo * g.in_w + w_lo) * C, below = g.in_w * C;
          loops.max2x2_gradient(xn + at, xn + at + below, d, dxn + at, dxn + at + below, run, g.stride_w * C, C);
          ow += run - 1;
          continue;
        }
        int32_t taps_n = 0;
        for (int64_t h = h_lo; h < h_hi; ++h)
          for (int64_t w = w_lo; w < w_hi; ++w) offsets[static_cast<size_t>(taps_n++)] = (h * g.in_w + w) * C;
        for (int64_t c = 0; c < C; ++c) {
          best[c] = -std::numeric_limits<float>::infinity();
          tap[c] = -1;
        }
        for (int32_t k = 0; k < taps_n; ++k) {
          const float* FVL_RESTRICT px = xn + offsets[static_cast<size_t>(k)];
          // Strictly greater: the first maximum in scan order keeps the gradient; NaN and -inf never win.
          for (int64_t c = 0; c < C; ++c) {
            const float v = px[c], current = best[c];
            const int32_t take = -static_cast<int32_t>(v > current);
            best[c] = std::max(current, v);
            tap[c] = (k & take) | (tap[c] & ~take);
          }
        }
        for (int32_t k = 0; k < taps_n; ++k) {
          float* FVL_RESTRICT out = dxn + offsets[static_cast<size_t>(k)];
          // dy's bits under a mask (a select of dy or 0 becomes a mispredicted branch).
          for (int64_t c = 0; c < C; ++c) {
            uint32_t bits;
            std::memcpy(&bits, d + c, sizeof bits);
            bits &= -static_cast<uint32_t>(tap[c] == k);
            std::memcpy(out + c, &bits, sizeof bits);
          }
        }
      }
    }
  });
}

}  // namespace

void max_pool_backward(const PoolGeometry& g, const float* dy, const float* x, float* dx) {
  if (windows_disjoint(g)) {
    max_pool_backward_disjoint(g, dy, x, dx);
    return;
  }
  // Channels per task block; also the size of the per-window running maximum kept on the stack.
  constexpr int64_t kBlock = 64;
  const int64_t C = g.channels;
  const int64_t blocks = (C + kBlock - 1) / kBlock;
  // Windows overlap only within one image, so tasks own whole (image, channel block) pairs of dx.
  const int64_t units = g.batch * blocks;
  const int tasks = task_count(g.batch * g.out_h * g.out_w * C * g.filter_h * g.filter_w, units);
  run_tasks(tasks, [&](int t, int) {
    // The winner of each channel as its tap number in the window: 32-bit like the values, so the
    // compare-and-select loop vectorises (a 64-bit position next to float compares does not).
    float best[kBlock];
    int32_t tap[kBlock];
    std::vector<int64_t> offsets(static_cast<size_t>(g.filter_h * g.filter_w));
    int64_t* offset = offsets.data();  // input offset of each window tap
    for (int64_t u = split(units, tasks, t), end = split(units, tasks, t + 1); u < end; ++u) {
      const int64_t n = u / blocks, c0 = (u % blocks) * kBlock;
      const int64_t cn = std::min(kBlock, C - c0);
      const float* xn = x + n * g.in_h * g.in_w * C + c0;
      float* dxn = dx + n * g.in_h * g.in_w * C + c0;
      for (int64_t p = 0; p < g.in_h * g.in_w; ++p) std::fill(dxn + p * C, dxn + p * C + cn, 0.0f);
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const int64_t h0 = oh * g.stride_h - g.pad_top;
        const int64_t h_lo = std::max<int64_t>(0, h0), h_hi = std::min(g.in_h, h0 + g.filter_h);
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const int64_t w0 = ow * g.stride_w - g.pad_left;
          const int64_t w_lo = std::max<int64_t>(0, w0), w_hi = std::min(g.in_w, w0 + g.filter_w);
          for (int64_t h = h_lo, k = 0; h < h_hi; ++h)
            for (int64_t w = w_lo; w < w_hi; ++w, ++k) offset[k] = (h * g.in_w + w) * C;
          for (int64_t c = 0; c < cn; ++c) {
            best[c] = -std::numeric_limits<float>::infinity();
            tap[c] = -1;
          }
          int32_t k = 0;
          for (int64_t h = h_lo; h < h_hi; ++h) {
            for (int64_t w = w_lo; w < w_hi; ++w, ++k) {
              const float* FVL_RESTRICT px = xn + (h * g.in_w + w) * C;
              float* FVL_RESTRICT b = best;
              int32_t* FVL_RESTRICT at = tap;
              // Strictly greater: the first maximum in scan order keeps the gradient.
              for (int64_t c = 0; c < cn; ++c) {
                // As masks and a max, which the compiler keeps branch-free (a select it turns into a branch).
                const float v = px[c], current = b[c];
                const int32_t take = -static_cast<int32_t>(v > current);
                b[c] = std::max(current, v);
                at[c] = (k & take) | (at[c] & ~take);
              }
            }
          }
          const float* d = dy + ((n * g.out_h + oh) * g.out_w + ow) * C + c0;
          for (int64_t c = 0; c < cn; ++c)
            if (tap[c] >= 0) dxn[offset[tap[c]] + c] += d[c];
        }
      }
    }
  });
}

namespace {

// Valid filter taps [lo, hi) along one axis for output position o: o·stride − pad + k·dilation ∈ [0, in).
void taps(int64_t o, int64_t stride, int64_t pad, int64_t dilation, int64_t filter, int64_t in, int64_t* lo,
          int64_t* hi) {
  const int64_t base = o * stride - pad;
  int64_t k0 = 0;
  if (base < 0) k0 = (-base + dilation - 1) / dilation;
  int64_t k1 = filter;
  const int64_t last = in - 1 - base;  // k·dilation ≤ last
  if (last < 0) k1 = 0;
  else k1 = std::min(filter, last / dilation + 1);
  *lo = k0;
  *hi = std::max(k0, k1);
}

// Channels summed in registers at a time by the multiplier-1 depthwise loops: a fixed count, so the
// compiler keeps the block's sums in vector registers across the taps and stores them once.
constexpr int64_t kDepthwiseBlock = 16;

// out[c] = Σ over the window taps of in(tap)[c] · w(tap)[c] for c in [c0, c0 + n), the taps in the order
// `tap_at` lists them (it returns false past the last), each sum starting from 0. One block of
// kDepthwiseBlock channels in registers, or (n smaller) a plain loop.
template <int64_t N, class TapAt>
FVL_INLINE void depthwise_sum(float* FVL_RESTRICT out, int64_t n, TapAt tap_at) {
  if (N > 0) {
    float acc[N > 0 ? N : 1] = {};
    const float* px;
    const float* pw;
    for (int k = 0; tap_at(k, &px, &pw); ++k)
      for (int64_t c = 0; c < N; ++c) acc[c] += px[c] * pw[c];
    for (int64_t c = 0; c < N; ++c) out[c] = acc[c];
  } else {
    for (int64_t c = 0; c < n; ++c) out[c] = 0.0f;
    const float* px;
    const float* pw;
    for (int k = 0; tap_at(k, &px, &pw); ++k)
      for (int64_t c = 0; c < n; ++c) out[c] += px[c] * pw[c];
  }
}

}  // namespace

void depthwise_forward(const DepthwiseGeometry& g, const float* x, const float* w, float* y) {
  const int64_t C = g.channels, M = g.multiplier, OC = C * M;
  const int64_t out_rows = g.batch * g.out_h;
  const int tasks = task_count(out_rows * g.out_w * OC * g.filter_h * g.filter_w, out_rows);
  run_tasks(tasks, [&](int t, int) {
    std::vector<const float*> in_taps(static_cast<size_t>(g.filter_h * g.filter_w));
    std::vector<const float*> w_taps(static_cast<size_t>(g.filter_h * g.filter_w));
    for (int64_t row = split(out_rows, tasks, t), end = split(out_rows, tasks, t + 1); row < end; ++row) {
      const int64_t n = row / g.out_h, oh = row % g.out_h;
      int64_t kh0, kh1;
      taps(oh, g.stride_h, g.pad_top, g.dilation_h, g.filter_h, g.in_h, &kh0, &kh1);
      const float* xn = x + n * g.in_h * g.in_w * C;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        int64_t kw0, kw1;
        taps(ow, g.stride_w, g.pad_left, g.dilation_w, g.filter_w, g.in_w, &kw0, &kw1);
        float* FVL_RESTRICT out = y + (row * g.out_w + ow) * OC;
        if (M == 1) {
          // The window's taps in (kh, kw) order, then each block of channels summed over them.
          int count = 0;
          for (int64_t kh = kh0; kh < kh1; ++kh) {
            const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
            for (int64_t kw = kw0; kw < kw1; ++kw, ++count) {
              const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
              in_taps[static_cast<size_t>(count)] = xn + (ih * g.in_w + iw) * C;
              w_taps[static_cast<size_t>(count)] = w + (kh * g.filter_w + kw) * C;
            }
          }
          for (int64_t c0 = 0; c0 < C; c0 += kDepthwiseBlock) {
            const auto tap_at = [&](int k, const float** px, const float** pw) {
              if (k >= count) return false;
              *px = in_taps[static_cast<size_t>(k)] + c0;
              *pw = w_taps[static_cast<size_t>(k)] + c0;
              return true;
            };
            if (c0 + kDepthwiseBlock <= C) depthwise_sum<kDepthwiseBlock>(out + c0, kDepthwiseBlock, tap_at);
            else depthwise_sum<0>(out + c0, C - c0, tap_at);
          }
          continue;
        }
        for (int64_t o = 0; o < OC; ++o) out[o] = 0.0f;
        for (int64_t kh = kh0; kh < kh1; ++kh) {
          const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          for (int64_t kw = kw0; kw < kw1; ++kw) {
            const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
            const float* FVL_RESTRICT px = xn + (ih * g.in_w + iw) * C;
            const float* FVL_RESTRICT pw = w + (kh * g.filter_w + kw) * OC;
            for (int64_t c = 0; c < C; ++c)
              for (int64_t q = 0; q < M; ++q) out[c * M + q] += px[c] * pw[c * M + q];
          }
        }
      }
    }
  });
}

void depthwise_backward_input(const DepthwiseGeometry& g, const float* dy, const float* w, float* dx) {
  const int64_t C = g.channels, M = g.multiplier, OC = C * M;
  if (M == 1) {
    // Gathered per dx pixel: the dy pixels whose windows read it, in the order a scatter over dy pixels
    // in raster order would add them (rows, then columns, ascending: taps descending), each sum starting
    // from 0; tasks own whole rows of dx.
    const int64_t in_rows = g.batch * g.in_h;
    const int tasks = task_count(g.batch * g.out_h * g.out_w * OC * g.filter_h * g.filter_w, in_rows);
    // Per dx column: the (kw, ow) pairs that reach it, kw descending (the same for every row).
    const int64_t fw = g.filter_w;
    std::vector<int64_t> col_kw(static_cast<size_t>(g.in_w * fw)), col_ow(static_cast<size_t>(g.in_w * fw));
    std::vector<int> col_count(static_cast<size_t>(g.in_w), 0);
    for (int64_t iw = 0; iw < g.in_w; ++iw) {
      int& k = col_count[static_cast<size_t>(iw)];
      for (int64_t kw = fw - 1; kw >= 0; --kw) {
        const int64_t sw = iw + g.pad_left - kw * g.dilation_w;  // = ow · stride_w
        if (sw < 0 || sw % g.stride_w != 0 || sw / g.stride_w >= g.out_w) continue;
        col_kw[static_cast<size_t>(iw * fw + k)] = kw;
        col_ow[static_cast<size_t>(iw * fw + k)] = sw / g.stride_w;
        ++k;
      }
    }
    run_tasks(tasks, [&](int t, int) {
      std::vector<const float*> dy_taps(static_cast<size_t>(g.filter_h * g.filter_w));
      std::vector<const float*> w_taps(static_cast<size_t>(g.filter_h * g.filter_w));
      std::vector<int64_t> row_kh(static_cast<size_t>(g.filter_h)), row_oh(static_cast<size_t>(g.filter_h));
      for (int64_t row = split(in_rows, tasks, t), end = split(in_rows, tasks, t + 1); row < end; ++row) {
        const int64_t n = row / g.in_h, ih = row % g.in_h;
        const float* dyn = dy + n * g.out_h * g.out_w * OC;
        int rows_n = 0;
        for (int64_t kh = g.filter_h - 1; kh >= 0; --kh) {
          const int64_t sh = ih + g.pad_top - kh * g.dilation_h;  // = oh · stride_h
          if (sh < 0 || sh % g.stride_h != 0 || sh / g.stride_h >= g.out_h) continue;
          row_kh[static_cast<size_t>(rows_n)] = kh;
          row_oh[static_cast<size_t>(rows_n)] = sh / g.stride_h;
          ++rows_n;
        }
        for (int64_t iw = 0; iw < g.in_w; ++iw) {
          int count = 0;
          const int cols_n = col_count[static_cast<size_t>(iw)];
          for (int r = 0; r < rows_n; ++r) {
            const int64_t kh = row_kh[static_cast<size_t>(r)], oh = row_oh[static_cast<size_t>(r)];
            for (int q = 0; q < cols_n; ++q, ++count) {
              const size_t at = static_cast<size_t>(iw * fw + q);
              dy_taps[static_cast<size_t>(count)] = dyn + (oh * g.out_w + col_ow[at]) * OC;
              w_taps[static_cast<size_t>(count)] = w + (kh * fw + col_kw[at]) * OC;
            }
          }
          float* FVL_RESTRICT out = dx + (row * g.in_w + iw) * C;
          for (int64_t c0 = 0; c0 < C; c0 += kDepthwiseBlock) {
            const auto tap_at = [&](int k, const float** pd, const float** pw) {
              if (k >= count) return false;
              *pd = dy_taps[static_cast<size_t>(k)] + c0;
              *pw = w_taps[static_cast<size_t>(k)] + c0;
              return true;
            };
            if (c0 + kDepthwiseBlock <= C) depthwise_sum<kDepthwiseBlock>(out + c0, kDepthwiseBlock, tap_at);
            else depthwise_sum<0>(out + c0, C - c0, tap_at);
          }
        }
      }
    });
    return;
  }
  // Output windows overlap only within one image: a task owns whole images of dx and scatters into them.
  const int tasks = task_count(g.batch * g.out_h * g.out_w * OC * g.filter_h * g.filter_w, g.batch);
  run_tasks(tasks, [&](int t, int) {
    for (int64_t n = split(g.batch, tasks, t), end = split(g.batch, tasks, t + 1); n < end; ++n) {
      float* dxn = dx + n * g.in_h * g.in_w * C;
      for (int64_t i = 0; i < g.in_h * g.in_w * C; ++i) dxn[i] = 0.0f;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        int64_t kh0, kh1;
        taps(oh, g.stride_h, g.pad_top, g.dilation_h, g.filter_h, g.in_h, &kh0, &kh1);
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          int64_t kw0, kw1;
          taps(ow, g.stride_w, g.pad_left, g.dilation_w, g.filter_w, g.in_w, &kw0, &kw1);
          const float* FVL_RESTRICT d = dy + ((n * g.out_h + oh) * g.out_w + ow) * OC;
          for (int64_t kh = kh0; kh < kh1; ++kh) {
            const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
            for (int64_t kw = kw0; kw < kw1; ++kw) {
              const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
              float* FVL_RESTRICT px = dxn + (ih * g.in_w + iw) * C;
              const float* FVL_RESTRICT pw = w + (kh * g.filter_w + kw) * OC;
              for (int64_t c = 0; c < C; ++c) {
                float s = 0.0f;
                for (int64_t q = 0; q < M; ++q) s += d[c * M + q] * pw[c * M + q];
                px[c] += s;
              }
            }
          }
        }
      }
    }
  });
}

void depthwise_backward_filter(const DepthwiseGeometry& g, const float* x, const float* dy, float* dw) {
  const int64_t C = g.channels, M = g.multiplier, OC = C * M;
  const int64_t taps_n = g.filter_h * g.filter_w * OC;
  const int64_t out_rows = g.batch * g.out_h;
  // Each task sums into its own copy of dw; fewer tasks than elsewhere since each copy is dw-sized.
  const int tasks = std::min(64, task_count(out_rows * g.out_w * taps_n, out_rows));
  std::vector<float> partial(static_cast<size_t>(tasks) * static_cast<size_t>(taps_n), 0.0f);
  run_tasks(tasks, [&](int t, int) {
    float* FVL_RESTRICT acc = partial.data() + static_cast<size_t>(t) * static_cast<size_t>(taps_n);
    const int64_t row0 = split(out_rows, tasks, t), row1 = split(out_rows, tasks, t + 1);
    if (M == 1) {
      // Tap by tap and block by block, the block's sums in registers over all the task's pixels, which
      // still reach each sum in raster order (the order of the loop below).
      for (int64_t kh = 0; kh < g.filter_h; ++kh) {
        for (int64_t kw = 0; kw < g.filter_w; ++kw) {
          // Output columns whose window column kw lies inside the input: iw = ow·stride + off.
          const int64_t off = kw * g.dilation_w - g.pad_left;
          const int64_t ow0 = off >= 0 ? 0 : (-off + g.stride_w - 1) / g.stride_w;
          const int64_t ow1 = g.in_w - 1 - off < 0 ? 0 : std::min(g.out_w, (g.in_w - 1 - off) / g.stride_w + 1);
          if (ow1 <= ow0) continue;
          float* FVL_RESTRICT pa = acc + (kh * g.filter_w + kw) * C;
          const auto pixels = [&](auto add) {
            for (int64_t row = row0; row < row1; ++row) {
              const int64_t n = row / g.out_h, oh = row % g.out_h;
              const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
              if (ih < 0 || ih >= g.in_h) continue;
              const float* xr = x + (n * g.in_h + ih) * g.in_w * C;
              const float* dr = dy + row * g.out_w * C;
              for (int64_t ow = ow0; ow < ow1; ++ow) add(xr + (ow * g.stride_w + off) * C, dr + ow * C);
            }
          };
          int64_t c0 = 0;
          for (; c0 + kDepthwiseBlock <= C; c0 += kDepthwiseBlock) {
            float sum[kDepthwiseBlock];
            for (int64_t c = 0; c < kDepthwiseBlock; ++c) sum[c] = pa[c0 + c];
            pixels([&](const float* FVL_RESTRICT px, const float* FVL_RESTRICT d) {
              for (int64_t c = 0; c < kDepthwiseBlock; ++c) sum[c] += px[c0 + c] * d[c0 + c];
            });
            for (int64_t c = 0; c < kDepthwiseBlock; ++c) pa[c0 + c] = sum[c];
          }
          if (c0 < C) {
            pixels([&](const float* FVL_RESTRICT px, const float* FVL_RESTRICT d) {
              for (int64_t c = c0; c < C; ++c) pa[c] += px[c] * d[c];
            });
          }
        }
      }
      return;
    }
    for (int64_t row = row0, end = row1; row < end; ++row) {
      const int64_t n = row / g.out_h, oh = row % g.out_h;
      int64_t kh0, kh1;
      taps(oh, g.stride_h, g.pad_top, g.dilation_h, g.filter_h, g.in_h, &kh0, &kh1);
      const float* xn = x + n * g.in_h * g.in_w * C;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        int64_t kw0, kw1;
        taps(ow, g.stride_w, g.pad_left, g.dilation_w, g.filter_w, g.in_w, &kw0, &kw1);
        const float* FVL_RESTRICT d = dy + (row * g.out_w + ow) * OC;
        for (int64_t kh = kh0; kh < kh1; ++kh) {
          const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          for (int64_t kw = kw0; kw < kw1; ++kw) {
            const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
            const float* FVL_RESTRICT px = xn + (ih * g.in_w + iw) * C;
            float* FVL_RESTRICT pa = acc + (kh * g.filter_w + kw) * OC;
            if (M == 1) {
              for (int64_t c = 0; c < C; ++c) pa[c] += px[c] * d[c];
            } else {
              for (int64_t c = 0; c < C; ++c)
                for (int64_t q = 0; q < M; ++q) pa[c * M + q] += px[c] * d[c * M + q];
            }
          }
        }
      }
    }
  });
  for (int64_t i = 0; i < taps_n; ++i) {
    double s = 0.0;
    for (int t = 0; t < tasks; ++t) s += partial[static_cast<size_t>(t) * static_cast<size_t>(taps_n) + i];
    dw[i] = static_cast<float>(s);
  }
}

}  // namespace fvl
