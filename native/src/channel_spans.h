// faceverloss native engine: per-channel loops over channels-last rows, in long spans.
//
// A loop over one row of C channels is too short to vectorise well when C is small (LeNet++'s 8 or 16
// channels: a vector iteration or two and a remainder per row, loop overhead on every row). These
// helpers view rows × C values as spans of whole rows, each at least kMinSpan values long, and repeat
// per-channel values over a span, so that inner loops run along a long span whatever C is: value j of a
// span belongs to channel j mod C.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common.h"
#include "task_split.h"

namespace fvl {

// Values per span at least: a few vectors of the widest instruction set.
constexpr int64_t kMinSpan = 64;

class ChannelSpans {
 public:
  ChannelSpans(int64_t rows, int64_t channels)
      : rows_(rows),
        channels_(channels),
        rows_per_span_(std::max<int64_t>(1, (kMinSpan + channels - 1) / channels)),
        span_(rows_per_span_ * channels),
        spans_((rows + rows_per_span_ - 1) / rows_per_span_) {}

  int64_t channels() const { return channels_; }
  int64_t rows_per_span() const { return rows_per_span_; }
  // Values in a full span.
  int64_t span() const { return span_; }
  int64_t spans() const { return spans_; }
  // Values in span s (the last one may hold fewer rows).
  int64_t length(int64_t s) const { return std::min(rows_ - s * rows_per_span_, rows_per_span_) * channels_; }
  // Tasks for a pass over all values: a split that depends on the shape only (see task_split.h).
  int tasks() const { return task_count(rows_ * channels_, spans_); }

  // The C values of v repeated over one span.
  std::vector<float> repeat(const float* v) const {
    std::vector<float> out(static_cast<size_t>(span_));
    for (int64_t j = 0; j < span_; ++j) out[static_cast<size_t>(j)] = v[j % channels_];
    return out;
  }

 private:
  int64_t rows_, channels_, rows_per_span_, span_, spans_;
};

// Calls fn(offset, count, width) for spans [s0, s1): `count` consecutive spans of `width` values from
// `offset` — the full spans in one call (the loop over them runs inside fn, not around a call per span),
// then a partial last span alone.
template <class F>
void each_run(const ChannelSpans& cs, int64_t s0, int64_t s1, F& fn) {
  if (s1 <= s0) return;
  const bool partial = cs.length(s1 - 1) < cs.span();
  const int64_t full_end = partial ? s1 - 1 : s1;
  if (full_end > s0) fn(s0 * cs.span(), full_end - s0, cs.span());
  if (partial) fn((s1 - 1) * cs.span(), int64_t{1}, cs.length(s1 - 1));
}

// fn(offset, count, width) over every span (see each_run), on the thread pool; tasks own consecutive spans.
template <class F>
void for_spans(const ChannelSpans& cs, F fn) {
  const int tasks = cs.tasks();
  run_tasks(tasks, [&](int t, int) { each_run(cs, split(cs.spans(), tasks, t), split(cs.spans(), tasks, t + 1), fn); });
}

// Per-channel sums of `Streams` quantities, out[q·C + c] for stream q: fn(offset, count, width, acc) adds,
// for each of `count` spans of `width` values from `offset`, the value of stream q for element j of the
// span into acc[q][j]. Sums run in float over blocks of about `block_rows` rows (a vectorised loop;
// short enough to lose no more than float rounding), in double across blocks, one set of partial sums
// per task; tasks, then the lanes of each channel, are added in a fixed order, so the result depends on
// the shape only, never on the number of threads.
template <int Streams, class F>
void span_sums(const ChannelSpans& cs, int64_t block_rows, double* out, F fn) {
  const int tasks = cs.tasks();
  const size_t span = static_cast<size_t>(cs.span());
  const int64_t block = std::max<int64_t>(1, block_rows / cs.rows_per_span());
  std::vector<double> partial(static_cast<size_t>(tasks) * Streams * span, 0.0);
  run_tasks(tasks, [&](int t, int) {
    std::vector<float> sums(Streams * span);
    float* acc[Streams];
    for (int q = 0; q < Streams; ++q) acc[q] = sums.data() + q * span;
    const auto run = [&](int64_t offset, int64_t count, int64_t width) { fn(offset, count, width, acc); };
    double* FVL_RESTRICT total = partial.data() + static_cast<size_t>(t) * Streams * span;
    for (int64_t s0 = split(cs.spans(), tasks, t), end = split(cs.spans(), tasks, t + 1); s0 < end; s0 += block) {
      std::fill(sums.begin(), sums.end(), 0.0f);
      each_run(cs, s0, std::min(end, s0 + block), run);
      const float* FVL_RESTRICT block_sums = sums.data();
      for (size_t i = 0; i < Streams * span; ++i) total[i] += static_cast<double>(block_sums[i]);
    }
  });
  const int64_t C = cs.channels();
  for (int q = 0; q < Streams; ++q) {
    for (int64_t c = 0; c < C; ++c) {
      double s = 0.0;
      for (int t = 0; t < tasks; ++t) {
        const double* lanes = partial.data() + (static_cast<size_t>(t) * Streams + q) * span;
        for (int64_t j = c; j < cs.span(); j += C) s += lanes[j];
      }
      out[q * C + c] = s;
    }
  }
}

}  // namespace fvl
