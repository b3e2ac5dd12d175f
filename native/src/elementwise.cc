// faceverloss native engine: element-wise arithmetic and axis reductions (see elementwise.h).
#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "channel_spans.h"
#include "common.h"
#include "task_split.h"

namespace fvl {

namespace {

// The operations, as TF.js computes them: in double, rounded to float on store. For +, -, * and /
// of two floats that equals the float operation itself, which the compiler vectorises.
struct AddOp {
  static FVL_INLINE float f(float a, float b) { return a + b; }
};
struct SubOp {
  static FVL_INLINE float f(float a, float b) { return a - b; }
};
struct MulOp {
  static FVL_INLINE float f(float a, float b) { return a * b; }
};
struct DivOp {
  static FVL_INLINE float f(float a, float b) { return a / b; }
};
struct SquaredDifferenceOp {
  static FVL_INLINE float f(float a, float b) {
    const double d = static_cast<double>(a) - static_cast<double>(b);
    return static_cast<float>(d * d);
  }
};

// How an operand lines up with the output: one value per element, per column, or one for all.
enum Kind { kFull, kRow, kScalar };

// y[0..len) from operands already positioned at the first element (kRow: at column 0).
template <class Op, Kind KA, Kind KB>
FVL_INLINE void run_span(const float* FVL_RESTRICT a, const float* FVL_RESTRICT b, float* FVL_RESTRICT y,
                         int64_t len) {
  const float a0 = a[0], b0 = b[0];
  for (int64_t j = 0; j < len; ++j) y[j] = Op::f(KA == kScalar ? a0 : a[j], KB == kScalar ? b0 : b[j]);
}

// Elements [i0, i1) of y; both bounds are multiples of `channels` when an operand is kRow.
template <class Op, Kind KA, Kind KB>
void run_range(const float* a, const float* b, float* y, int64_t i0, int64_t i1, int64_t channels) {
  if (KA == kRow || KB == kRow) {
    for (int64_t r = i0; r < i1; r += channels) {
      run_span<Op, KA, KB>(KA == kFull ? a + r : a, KB == kFull ? b + r : b, y + r, channels);
    }
  } else {
    run_span<Op, KA, KB>(KA == kFull ? a + i0 : a, KB == kFull ? b + i0 : b, y + i0, i1 - i0);
  }
}

template <class Op, Kind KA, Kind KB>
void run_binary(const float* a, const float* b, float* y, int64_t n, int64_t channels) {
  // Tasks own whole rows when a row operand needs them aligned, else blocks of one grain.
  const bool rows = KA == kRow || KB == kRow;
  const int64_t unit = rows ? channels : std::min<int64_t>(kTaskGrain, n);
  const int64_t units = (n + unit - 1) / unit;
  const int tasks = task_count(n, units);
  run_tasks(tasks, [&](int t, int) {
    const int64_t i0 = split(units, tasks, t) * unit;
    const int64_t i1 = std::min(n, split(units, tasks, t + 1) * unit);
    run_range<Op, KA, KB>(a, b, y, i0, i1, channels);
  });
}

template <class Op, Kind KA>
void dispatch_b(Kind kb, const float* a, const float* b, float* y, int64_t n, int64_t channels) {
  switch (kb) {
    case kFull: return run_binary<Op, KA, kFull>(a, b, y, n, channels);
    case kRow: return run_binary<Op, KA, kRow>(a, b, y, n, channels);
    case kScalar: return run_binary<Op, KA, kScalar>(a, b, y, n, channels);
  }
}

template <class Op>
void dispatch_a(Kind ka, Kind kb, const float* a, const float* b, float* y, int64_t n, int64_t channels) {
  switch (ka) {
    case kFull: return dispatch_b<Op, kFull>(kb, a, b, y, n, channels);
    case kRow: return dispatch_b<Op, kRow>(kb, a, b, y, n, channels);
    case kScalar: return dispatch_b<Op, kScalar>(kb, a, b, y, n, channels);
  }
}

// The kind of an operand holding `period` values (1, n or channels, as the binding checks). Where two
// kinds coincide (n == channels, or channels == 1) the cheaper loop is taken; they give equal results.
Kind kind_of(int64_t period, int64_t n) {
  if (period == 1) return kScalar;
  if (period == n) return kFull;
  return kRow;
}

// Sum of x[r0..r1), in double with eight chains (latency hidden) added in a fixed order.
double span_sum(const float* x, int64_t r0, int64_t r1) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t r = r0;
  for (; r + 8 <= r1; r += 8)
    for (int j = 0; j < 8; ++j) s[j] += static_cast<double>(x[r + j]);
  for (int j = 0; r < r1; ++r, ++j) s[j] += static_cast<double>(x[r]);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

}  // namespace

void binary(BinaryOp op, const float* a, int64_t a_period, const float* b, int64_t b_period, float* y, int64_t n,
            int64_t channels) {
  if (n <= 0) return;
  const Kind ka = kind_of(a_period, n), kb = kind_of(b_period, n);
  switch (op) {
    case BinaryOp::Add: return dispatch_a<AddOp>(ka, kb, a, b, y, n, channels);
    case BinaryOp::Sub: return dispatch_a<SubOp>(ka, kb, a, b, y, n, channels);
    case BinaryOp::Mul: return dispatch_a<MulOp>(ka, kb, a, b, y, n, channels);
    case BinaryOp::Div: return dispatch_a<DivOp>(ka, kb, a, b, y, n, channels);
    case BinaryOp::SquaredDifference: return dispatch_a<SquaredDifferenceOp>(ka, kb, a, b, y, n, channels);
  }
}

void reduce_sum(const float* x, float* y, int64_t outer, int64_t reduce, int64_t inner, bool mean) {
  if (outer <= 0 || inner <= 0) return;
  const double count = static_cast<double>(reduce);
  // Each output row o is summed in `chunks` pieces of the reduced axis, one partial row of doubles
  // each, added in chunk order. The chunk count depends on the shape only.
  const int64_t per_row = std::max<int64_t>(1, reduce * inner);
  const int64_t by_work = (per_row + kTaskGrain - 1) / kTaskGrain;
  const int64_t chunks = std::max<int64_t>(1, std::min({by_work, reduce, std::max<int64_t>(1, kMaxTasks / outer)}));
  const int64_t units = outer * chunks;
  const size_t k = static_cast<size_t>(inner);
  std::vector<double> partial(static_cast<size_t>(units) * k, 0.0);
  const int tasks = task_count(outer * reduce * inner, units);
  run_tasks(tasks, [&](int t, int) {
    for (int64_t u = split(units, tasks, t), end = split(units, tasks, t + 1); u < end; ++u) {
      const int64_t o = u / chunks, ch = u % chunks;
      const int64_t r0 = reduce * ch / chunks, r1 = reduce * (ch + 1) / chunks;
      const float* xo = x + o * reduce * inner;
      double* FVL_RESTRICT acc = partial.data() + static_cast<size_t>(u) * k;
      if (inner == 1) {
        acc[0] = span_sum(xo, r0, r1);
        continue;
      }
      int64_t r = r0;
      if (inner < kMinSpan) {
        // Few columns (a bias gradient over 8 or 16 channels): rows in spans of whole rows, so that the
        // loop runs along at least kMinSpan values; lane j sums column j mod inner, and the lanes fold
        // into the columns in a fixed order.
        const int64_t span_rows = (kMinSpan + inner - 1) / inner, w = span_rows * inner;
        double lanes[2 * kMinSpan] = {};  // w < kMinSpan + inner
        for (; r + span_rows <= r1; r += span_rows) {
          const float* FVL_RESTRICT xr = xo + r * inner;
          for (int64_t j = 0; j < w; ++j) lanes[j] += static_cast<double>(xr[j]);
        }
        for (int64_t q = 0; q < span_rows; ++q)
          for (int64_t c = 0; c < inner; ++c) acc[c] += lanes[q * inner + c];
      }
      for (; r < r1; ++r) {
        const float* FVL_RESTRICT xr = xo + r * inner;
        for (int64_t c = 0; c < inner; ++c) acc[c] += static_cast<double>(xr[c]);
      }
    }
  });
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < inner; ++c) {
      double s = 0.0;
      for (int64_t ch = 0; ch < chunks; ++ch) s += partial[static_cast<size_t>(o * chunks + ch) * k + c];
      y[o * inner + c] = static_cast<float>(mean ? s / count : s);
    }
  }
}

void momentum_update(const float* acc, const float* grad, const float* value, float m, float c, float* new_acc,
                     float* new_value, int64_t n) {
  if (n <= 0) return;
  const int64_t unit = std::min<int64_t>(kTaskGrain, n);
  const int64_t units = (n + unit - 1) / unit;
  const int tasks = task_count(n, units);
  run_tasks(tasks, [=](int t, int) {
    const int64_t i0 = split(units, tasks, t) * unit, i1 = std::min(n, split(units, tasks, t + 1) * unit);
    const float* FVL_RESTRICT a = acc;
    const float* FVL_RESTRICT g = grad;
    const float* FVL_RESTRICT v = value;
    float* FVL_RESTRICT na = new_acc;
    float* FVL_RESTRICT nv = new_value;
    for (int64_t i = i0; i < i1; ++i) {
      // Each product rounded before its sum, as TF.js's separate Mul and Add round it. (This unit is
      // built for the baseline ISA, which on x86-64 has no multiply-add to contract them into.)
      const float scaled_acc = m * a[i];
      const float next = scaled_acc + g[i];
      const float step = c * next;
      na[i] = next;
      nv[i] = step + v[i];
    }
  });
}

void batch_norm(const float* x, float* y, int64_t n, int64_t channels, const BatchNormParams& p) {
  if (n <= 0 || channels <= 0) return;
  // Per-channel terms in double, computed once; the element formula keeps TF.js's order of operations.
  const size_t c_n = static_cast<size_t>(channels);
  std::vector<double> mean(c_n), scale(c_n), offset(c_n), root(c_n);
  for (size_t c = 0; c < c_n; ++c) {
    mean[c] = p.mean[p.mean_one ? 0 : c];
    scale[c] = p.scale[p.scale_one ? 0 : c];
    offset[c] = p.offset[p.offset_one ? 0 : c];
    root[c] = std::sqrt(static_cast<double>(p.variance[p.variance_one ? 0 : c]) + p.epsilon);
  }
  const int64_t rows = n / channels;
  const int tasks = task_count(n, rows);
  run_tasks(tasks, [&](int t, int) {
    for (int64_t r = split(rows, tasks, t), end = split(rows, tasks, t + 1); r < end; ++r) {
      const float* FVL_RESTRICT xr = x + r * channels;
      float* FVL_RESTRICT yr = y + r * channels;
      for (int64_t c = 0; c < channels; ++c) {
        yr[c] = static_cast<float>(offset[c] + (static_cast<double>(xr[c]) - mean[c]) * scale[c] / root[c]);
      }
    }
  });
}

}  // namespace fvl
