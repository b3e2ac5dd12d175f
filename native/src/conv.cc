// faceverloss native engine: the convolution driver (see conv.h). It picks the tiles of the active
// instruction set, packs the filter for them, splits pixels between pool tasks and runs the epilogue.
#include "conv.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <vector>

#include "gemm.h"
#include "task_split.h"
#include "threadpool.h"

#if FVL_X86_64
#include <xmmintrin.h>
#endif

namespace fvl {

namespace {

// The tiles for a product whose vectors run along `channels`. Eight channels or fewer fill an AVX2
// vector but only half an AVX-512 one, and the 8-wide tiles hold fewer accumulators per pixel: on the
// LeNet++ layers they run 10–25 % faster, so an AVX-512 machine uses them there.
const ConvKernels& conv_kernels_for(int64_t channels) {
#if FVL_X86_64
  switch (active_isa()) {
    case Isa::Avx512: return channels <= kConvAvx2.width ? kConvAvx2 : kConvAvx512;
    case Isa::Avx2: return kConvAvx2;
    default: break;
  }
#endif
  (void)channels;
  return kConvScalar;
}

// Multiply-adds per task below which waking another thread costs more than it saves.
constexpr int64_t kConvTaskGrain = int64_t{1} << 18;

// Tasks for `units` independent rows of `work_per_unit` multiply-adds each.
int conv_tasks(int64_t units, int64_t work_per_unit) {
  const int64_t by_work = (units * work_per_unit + kConvTaskGrain - 1) / kConvTaskGrain;
  return static_cast<int>(std::max<int64_t>(1, std::min({by_work, units, kMaxTasks})));
}

// n zeros to pack a filter into. Reused between calls (the JavaScript thread runs one kernel at a time):
// fresh zeroed pages on every call would cost more than the small convolutions themselves. Cache-line
// aligned: the tiles load whole vectors of it, and a vector split across two lines costs two loads.
float* packed_filter(int64_t n) {
  static AlignedBuffer buffer;
  float* p = buffer.reserve(static_cast<size_t>(n));
  std::fill(p, p + n, 0.0f);
  return p;
}

// Where the input lands in a padded copy: value (iy, ix) at (top + iy·step_h, left + ix·step_w) of an
// h × w grid; values that land outside it are never read by any window and are dropped.
struct Placement {
  int64_t h, w, top, left, step_h, step_w;
};

// to[i·row + j] = from[j·c + i] for j < n, i < c: n pixels of c channels into c planes. Blocks of 4 × 4
// go through SSE registers (every x86-64 CPU has them); this copy is a sixth of a small layer's time.
void transpose_pixels(const float* FVL_RESTRICT from, int64_t n, int64_t c, float* FVL_RESTRICT to, int64_t row) {
  int64_t j0 = 0;
#if FVL_X86_64
  if (c % 4 == 0) {
    for (; j0 + 4 <= n; j0 += 4) {
      for (int64_t i = 0; i < c; i += 4) {
        __m128 r0 = _mm_loadu_ps(from + (j0 + 0) * c + i), r1 = _mm_loadu_ps(from + (j0 + 1) * c + i);
        __m128 r2 = _mm_loadu_ps(from + (j0 + 2) * c + i), r3 = _mm_loadu_ps(from + (j0 + 3) * c + i);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(to + (i + 0) * row + j0, r0);
        _mm_storeu_ps(to + (i + 1) * row + j0, r1);
        _mm_storeu_ps(to + (i + 2) * row + j0, r2);
        _mm_storeu_ps(to + (i + 3) * row + j0, r3);
      }
    }
  }
#endif
  for (int64_t i = 0; i < c; ++i)
    for (int64_t j = j0; j < n; ++j) to[i * row + j] = from[j * c + i];
}

// A zero-padded (and, with steps > 1, zero-interleaved) copy of x [batch][in_h][in_w][c]: rows of at.w·c
// floats (NHWC, PaddedInput) or, with row > 0, rows of c planes of `row` floats (PlanarInput). Either the
// whole batch is written at once on the pool, into `buffer` (reused across calls; all()), or each task
// writes the images it then reads into its own thread's room (images(), ThreadRooms), memory it has just
// used and still holds in cache: a batch-sized copy is a fresh stretch of cold lines for every image.
class Padding {
 public:
  Padding(const float* x, int64_t batch, int64_t in_h, int64_t in_w, int64_t c, const Placement& at, int64_t row,
          std::vector<float>& buffer)
      : x_(x), batch_(batch), in_h_(in_h), in_w_(in_w), c_(c), at_(at), row_(row), line_(row > 0 ? c * row : at.w * c),
        buffer_(&buffer) {}
  // Floats of one padded image.
  int64_t image_floats() const { return at_.h * line_; }
  // Views of a padded copy at `data` (image 0 of it first).
  PaddedInput nhwc(const float* data) const { return {data, at_.h, at_.w}; }
  PlanarInput planar(const float* data) const { return {data, at_.h, c_, row_}; }

  // Writes the padded images [b0, b1) to `to`, image b0 first.
  void images(int64_t b0, int64_t b1, float* to) const {
    for (int64_t r = b0 * at_.h; r < b1 * at_.h; ++r) write_row(r, to + (r - b0 * at_.h) * line_);
  }
  // Writes every image into the buffer, rows split between pool tasks, and returns it.
  const float* all() const {
    const int64_t rows = batch_ * at_.h;
    if (static_cast<int64_t>(buffer_->size()) < rows * line_) buffer_->resize(static_cast<size_t>(rows * line_));
    float* out = buffer_->data();
    const int tasks = task_count(rows * line_, rows);
    run_tasks(tasks, [&](int t, int) {
      for (int64_t r = split(rows, tasks, t), end = split(rows, tasks, t + 1); r < end; ++r)
        write_row(r, out + r * line_);
    });
    return out;
  }

 private:
  // Writes padded row r (b·at.h + py) to dst.
  void write_row(int64_t r, float* dst) const {
    const int64_t b = r / at_.h, py = r - b * at_.h;
    const int64_t iy = (py - at_.top) / at_.step_h;
    if (py < at_.top || iy * at_.step_h != py - at_.top || iy >= in_h_) {
      std::fill(dst, dst + line_, 0.0f);
      return;
    }
    const float* src = x_ + (b * in_h_ + iy) * in_w_ * c_;
    if (row_ > 0 && at_.step_w == 1) {
      // Per channel plane, between zeros: the columns ix with 0 <= left + ix < w, every c-th input value.
      const int64_t ix0 = std::max<int64_t>(0, -at_.left), ix1 = std::max(ix0, std::min(in_w_, at_.w - at_.left));
      const int64_t from = at_.left + ix0, n = ix1 - ix0;
      std::fill(dst, dst + line_, 0.0f);
      transpose_pixels(src + ix0 * c_, n, c_, dst + from, row_);
      return;
    }
    if (row_ > 0) {
      std::fill(dst, dst + line_, 0.0f);
      for (int64_t ix = 0; ix < in_w_; ++ix) {
        const int64_t px = at_.left + ix * at_.step_w;
        if (px < 0 || px >= at_.w) continue;
        for (int64_t i = 0; i < c_; ++i) dst[i * row_ + px] = src[ix * c_ + i];
      }
      return;
    }
    if (at_.step_w == 1) {
      // One contiguous run, the columns ix with 0 <= left + ix < w, between zeros.
      const int64_t ix0 = std::max<int64_t>(0, -at_.left), ix1 = std::max(ix0, std::min(in_w_, at_.w - at_.left));
      const int64_t from = (at_.left + ix0) * c_, to = from + (ix1 - ix0) * c_;
      std::fill(dst, dst + from, 0.0f);
      std::copy(src + ix0 * c_, src + ix1 * c_, dst + from);
      std::fill(dst + to, dst + line_, 0.0f);
      return;
    }
    std::fill(dst, dst + line_, 0.0f);
    for (int64_t ix = 0; ix < in_w_; ++ix) {
      const int64_t px = at_.left + ix * at_.step_w;
      if (px < 0 || px >= at_.w) continue;
      std::copy(src + ix * c_, src + (ix + 1) * c_, dst + px * c_);
    }
  }

  const float* x_;
  int64_t batch_, in_h_, in_w_, c_;
  Placement at_;
  int64_t row_, line_;
  std::vector<float>* buffer_;
};

int64_t round_to(int64_t n, int64_t w) { return (n + w - 1) / w * w; }

// Room for `floats` per pool thread, thread t's at t·stride (stride: floats rounded up to whole cache
// lines), reused across calls (the JavaScript thread runs one kernel at a time).
struct ThreadRooms {
  float* data;
  int64_t stride;
  float* of(int thread) const { return data + thread * stride; }
};

ThreadRooms thread_rooms(int threads, int64_t floats) {
  static AlignedBuffer rooms;
  const int64_t stride = round_to(floats, 16);
  return {rooms.reserve(static_cast<size_t>(threads * stride)), stride};
}

// Whether the padded copy of an NHWC input is the input itself.
bool pads_nothing(const Placement& at, int64_t in_h, int64_t in_w) {
  return at.top == 0 && at.left == 0 && at.step_h == 1 && at.step_w == 1 && at.h == in_h && at.w == in_w;
}

// Images from which the products pad their input image by image inside their own tasks (tasks then take
// whole images); smaller batches pad all images on the pool first and split pixels finer.
constexpr int64_t kPadByImages = 8;

// Images per forward task when tasks take whole images: enough output pixels that the short last tile of
// each task costs little (a 7×7 image takes four tiles and a short one).
int64_t images_per_task(int64_t pixels_per_image) {
  constexpr int64_t kTaskPixels = 192;
  return (kTaskPixels + pixels_per_image - 1) / pixels_per_image;
}

// Rows and columns a window sweep reads: (out − 1)·stride + (filter − 1)·dilation + 1.
int64_t span(int64_t out, int64_t stride, int64_t filter, int64_t dilation) {
  return (out - 1) * stride + (filter - 1) * dilation + 1;
}

// Where g's input lands in the padded copy its windows read.
Placement window_placement(const ConvGeometry& g) {
  return {span(g.out_h, g.stride_h, g.filter_h, g.dilation_h),
          span(g.out_w, g.stride_w, g.filter_w, g.dilation_w),
          g.pad_top,
          g.pad_left,
          1,
          1};
}
void apply_epilogue(const ConvEpilogue& e, float* y, int64_t rows, int64_t channels) {
  if (!e.bias && e.activation == ConvActivation::Linear) return;
  for (int64_t r = 0; r < rows; ++r) {
    float* FVL_RESTRICT row = y + r * channels;
    if (e.bias) {
      if (e.bias_len == 1) {
        for (int64_t c = 0; c < channels; ++c) row[c] += e.bias[0];
      } else {
        for (int64_t c = 0; c < channels; ++c) row[c] += e.bias[c];
      }
    }
    switch (e.activation) {
      case ConvActivation::Linear: break;
      case ConvActivation::Relu:
        // x < 0 ? 0 : x keeps NaN, as TF.js's max(x, 0) does.
        for (int64_t c = 0; c < channels; ++c) row[c] = row[c] < 0.0f ? 0.0f : row[c];
        break;
      case ConvActivation::Relu6:
        for (int64_t c = 0; c < channels; ++c) row[c] = row[c] < 0.0f ? 0.0f : (row[c] > 6.0f ? 6.0f : row[c]);
        break;
      case ConvActivation::LeakyRelu:
        for (int64_t c = 0; c < channels; ++c) row[c] = row[c] < 0.0f ? e.leaky_alpha * row[c] : row[c];
        break;
      case ConvActivation::Prelu:
        if (e.alpha_len == 1) {
          for (int64_t c = 0; c < channels; ++c) row[c] = row[c] < 0.0f ? e.alpha[0] * row[c] : row[c];
        } else {
          for (int64_t c = 0; c < channels; ++c) row[c] = row[c] < 0.0f ? e.alpha[c] * row[c] : row[c];
        }
        break;
    }
  }
}

// y = conv(x, w) on padded input, then the epilogue per task while its rows are in cache. `pad` writes the
// padded input; when it is null, `in` (the input itself) is read as is.
void forward_padded(const ConvKernels& k, const ConvGeometry& g, const PaddedInput& in, const Padding* pad,
                    const float* wp, int64_t ocp, const ConvEpilogue* epilogue, float* y) {
  const int64_t K = g.filter_h * g.filter_w * g.in_c;
  const int64_t per_image = g.out_h * g.out_w;
  // Pixels [p0, p1) of the images at `from` into y_from (the same images' output).
  const auto compute = [&](const PaddedInput& from, float* y_from, int64_t p0, int64_t p1) {
    k.forward(g, from, wp, ocp, y_from, p0, p1);
    if (epilogue) apply_epilogue(*epilogue, y_from + p0 * g.out_c, p1 - p0, g.out_c);
  };
  if (pad && g.batch >= kPadByImages) {
    const int64_t group = images_per_task(per_image), groups = (g.batch + group - 1) / group;
    const int tasks = conv_tasks(groups, group * per_image * K * g.out_c);
    ThreadPool::Region region(ThreadPool::global());
    const ThreadRooms rooms = thread_rooms(region.size(), group * pad->image_floats());
    region.run(tasks, [&](int t, int thread) {
      const int64_t b0 = std::min(g.batch, split(groups, tasks, t) * group);
      const int64_t b1 = std::min(g.batch, split(groups, tasks, t + 1) * group);
      for (int64_t c0 = b0; c0 < b1; c0 += group) {
        const int64_t c1 = std::min(b1, c0 + group);
        pad->images(c0, c1, rooms.of(thread));
        compute(pad->nhwc(rooms.of(thread)), y + c0 * per_image * g.out_c, 0, (c1 - c0) * per_image);
      }
    });
    return;
  }
  const PaddedInput from = pad ? pad->nhwc(pad->all()) : in;
  const int64_t pixels = g.batch * per_image;
  // Tasks take whole runs of kTilePixels pixels, a multiple of every tile height.
  constexpr int64_t kTilePixels = 48;
  const int64_t runs = (pixels + kTilePixels - 1) / kTilePixels;
  const int tasks = conv_tasks(runs, kTilePixels * K * g.out_c);
  run_tasks(tasks, [&](int t, int) {
    const int64_t p0 = std::min(pixels, split(runs, tasks, t) * kTilePixels);
    const int64_t p1 = std::min(pixels, split(runs, tasks, t + 1) * kTilePixels);
    if (p0 < p1) compute(from, y, p0, p1);
  });
}

// The planar copy of g's input (placed by `at`) for tiles with vectors of `width` output pixels (written
// by `pad`), and where each tap row k (fy, fx, input channel) reads from a vector's origin.
struct PlanarTaps {
  Padding pad;
  const int64_t* offsets;
};

PlanarTaps planar_taps(const ConvGeometry& g, const float* x, int64_t x_h, int64_t x_w, const Placement& at,
                       int64_t width) {
  const int64_t segs = (g.out_w + width - 1) / width;
  // A row's last vector reads up to segs·width − out_w columns past at.w: they are zeros.
  const int64_t row = at.w + segs * width - g.out_w;
  static std::vector<float> buffer;
  const Padding pad(x, g.batch, x_h, x_w, g.in_c, at, row, buffer);
  static std::vector<int64_t> offsets;
  offsets.resize(static_cast<size_t>(g.filter_h * g.filter_w * g.in_c));
  for (int64_t fy = 0, k = 0; fy < g.filter_h; ++fy)
    for (int64_t fx = 0; fx < g.filter_w; ++fx)
      for (int64_t i = 0; i < g.in_c; ++i, ++k)
        offsets[static_cast<size_t>(k)] = (fy * g.dilation_h * g.in_c + i) * row + fx * g.dilation_w;
  return {pad, offsets.data()};
}

// Whether a forward product runs with vectors along output pixels (conv_tiles.h): with a unit horizontal
// stride and rows that fill most of their pixel vectors, for one tile of output channels (8 on AVX-512:
// half a vector along the channels), or two when a tile has enough taps to pay for its transposing store
// or the input has too few channels for the tiles along the channels (measured on the LeNet++ and
// resnet-lite layers: 16 channels of 14×14 with 5×5 taps run 10 % faster, of 28×28 with 3×3 no faster).
bool along_pixels(const ConvKernels& k, const ConvGeometry& g) {
  if (k.width == 1 || g.stride_w != 1) return false;
  const int64_t K = g.filter_h * g.filter_w * g.in_c;
  const bool channels_fit = g.out_c <= k.pixels_mr || (g.out_c <= 2 * k.pixels_mr && (K >= 192 || g.in_c <= 4));
  if (!channels_fit) return false;
  const int64_t lanes = round_to(g.out_w, k.width);
  return 4 * g.out_w >= 3 * lanes;
}

// y = conv(x, w) with vectors along output pixels. `filter(k, o)` reads the filter at tap row k (fy, fx,
// input channel) and output channel o; `at` places the input in its padded copy.
template <class Filter>
void forward_pixels(const ConvKernels& k, const ConvGeometry& g, const float* x, int64_t x_h, int64_t x_w,
                    const Placement& at, Filter filter, const ConvEpilogue* epilogue, float* y) {
  const int64_t W = k.width, MR = k.pixels_mr, NV = k.pixels_nv;
  const int64_t K = g.filter_h * g.filter_w * g.in_c;
  const int64_t segs = (g.out_w + W - 1) / W;
  const PlanarTaps taps = planar_taps(g, x, x_h, x_w, at, W);
  const int64_t* offsets = taps.offsets;
  const int64_t blocks = (g.out_c + MR - 1) / MR;
  float* packed = packed_filter(blocks * K * MR);
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t kk = 0; kk < K; ++kk)
      for (int64_t m = 0; m < MR && b * MR + m < g.out_c; ++m)
        packed[(b * K + kk) * MR + m] = filter(kk, b * MR + m);
  // Vectors run in pixel order, so a task's pixels are one range.
  const int64_t vectors = g.batch * g.out_h * segs;
  const auto first_pixel = [&](int64_t v) {
    return v >= vectors ? g.batch * g.out_h * g.out_w : v / segs * g.out_w + v % segs * W;
  };
  // The tiles add the bias as they store; the activation follows per task.
  static std::vector<float> bias;
  ConvEpilogue activation;
  if (epilogue) {
    activation = *epilogue;
    activation.bias = nullptr;
    if (epilogue->bias) {
      bias.assign(static_cast<size_t>(blocks * MR), 0.0f);
      for (int64_t o = 0; o < g.out_c; ++o) bias[static_cast<size_t>(o)] = epilogue->bias[epilogue->bias_len == 1 ? 0 : o];
    }
  }
  const float* tile_bias = epilogue && epilogue->bias ? bias.data() : nullptr;
  // Vectors [v0, v1) of the images at `from` into y_from (the same images' output).
  const auto compute = [&](const PlanarInput& from, float* y_from, int64_t v0, int64_t v1) {
    k.forward_pixels(g, from, offsets, packed, tile_bias, y_from, v0, v1);
    const int64_t p0 = first_pixel(v0), p1 = first_pixel(v1);
    if (epilogue) apply_epilogue(activation, y_from + p0 * g.out_c, p1 - p0, g.out_c);
  };
  const int64_t per_image = g.out_h * segs;
  if (g.batch >= kPadByImages) {
    // Groups of images whose vectors fill whole tiles (up to NV images).
    const int64_t group = NV / std::gcd(per_image, NV), groups = (g.batch + group - 1) / group;
    const int tasks = conv_tasks(groups, group * per_image * W * K * g.out_c);
    ThreadPool::Region region(ThreadPool::global());
    const ThreadRooms rooms = thread_rooms(region.size(), group * taps.pad.image_floats());
    region.run(tasks, [&](int t, int thread) {
      const int64_t b0 = std::min(g.batch, split(groups, tasks, t) * group);
      const int64_t b1 = std::min(g.batch, split(groups, tasks, t + 1) * group);
      for (int64_t c0 = b0; c0 < b1; c0 += group) {
        const int64_t c1 = std::min(b1, c0 + group);
        taps.pad.images(c0, c1, rooms.of(thread));
        compute(taps.pad.planar(rooms.of(thread)), y + c0 * g.out_h * g.out_w * g.out_c, 0, (c1 - c0) * per_image);
      }
    });
    return;
  }
  const PlanarInput in = taps.pad.planar(taps.pad.all());
  // Tasks take whole tiles of NV vectors.
  const int64_t tiles = (vectors + NV - 1) / NV;
  const int tasks = conv_tasks(tiles, NV * W * K * g.out_c);
  run_tasks(tasks, [&](int t, int) {
    const int64_t v0 = std::min(vectors, split(tiles, tasks, t) * NV);
    const int64_t v1 = std::min(vectors, split(tiles, tasks, t + 1) * NV);
    if (v0 < v1) compute(in, y, v0, v1);
  });
}

}  // namespace

void conv_forward(const ConvGeometry& g, const float* x, const float* w, const ConvEpilogue& epilogue, float* y) {
  const ConvKernels& wide = conv_kernels_for(int64_t{1} << 20);
  if (along_pixels(wide, g)) {
    const auto filter = [&](int64_t k, int64_t o) { return w[k * g.out_c + o]; };
    forward_pixels(wide, g, x, g.in_h, g.in_w, window_placement(g), filter, &epilogue, y);
    return;
  }
  const ConvKernels& k = conv_kernels_for(g.out_c);
  const int64_t K = g.filter_h * g.filter_w * g.in_c;
  const int64_t ocp = round_to(g.out_c, k.width);
  // [taps·in_c][ocp]: the filter's own layout padded to whole vectors, and copied even when out_c fills
  // them, into an aligned buffer.
  float* wp = packed_filter(K * ocp);
  for (int64_t r = 0; r < K; ++r) std::copy(w + r * g.out_c, w + (r + 1) * g.out_c, wp + r * ocp);
  const Placement at = window_placement(g);
  if (pads_nothing(at, g.in_h, g.in_w)) {
    forward_padded(k, g, {x, g.in_h, g.in_w}, nullptr, wp, ocp, &epilogue, y);
    return;
  }
  static std::vector<float> buffer;
  const Padding pad(x, g.batch, g.in_h, g.in_w, g.in_c, at, 0, buffer);
  forward_padded(k, g, {}, &pad, wp, ocp, &epilogue, y);
}

namespace {

// Input channels up to which conv_backward_input takes the columns path below.
constexpr int64_t kColumnsMaxInC = 4;
// Most floats of the column buffer of the columns path; images are taken in chunks that fit.
constexpr int64_t kColumnsMaxFloats = int64_t{1} << 21;

// to[i] += from[i] for i < n (n ≤ kColumnsMaxInC), unrolled for the usual counts.
FVL_INLINE void add_channels(float* FVL_RESTRICT to, const float* FVL_RESTRICT from, int64_t n) {
  switch (n) {
    case 1: to[0] += from[0]; return;
    case 3: to[0] += from[0]; to[1] += from[1]; to[2] += from[2]; return;
    default:
      for (int64_t i = 0; i < n; ++i) to[i] += from[i];
  }
}

// dx for an input of few channels (an image's 1 or 3): the forward-style product of conv_backward_input
// would run vectors along those few channels, mostly empty, over a zero-interleaved dy when strided.
// Instead, per dy pixel, the column of every tap's input-channel values, col[p][tap·in_c + i] =
// Σ_o dy[p, o]·w[tap, i, o], is one 1×1 convolution whose vectors run along taps × in_c; each column
// is then added into the input pixel its tap reads (images apart, so tasks own whole images of dx).
void backward_input_by_columns(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  const int64_t taps = g.filter_h * g.filter_w;
  const int64_t cols = taps * g.in_c;
  const ConvKernels& k = conv_kernels_for(cols);
  const int64_t colp = round_to(cols, k.width);
  // The filter as [out_c][taps · in_c], padded to colp columns.
  float* packed = packed_filter(g.out_c * colp);
  for (int64_t r = 0; r < cols; ++r)
    for (int64_t o = 0; o < g.out_c; ++o) packed[o * colp + r] = w[r * g.out_c + o];
  const int64_t per_image = g.out_h * g.out_w;
  const int64_t chunk = std::max<int64_t>(1, kColumnsMaxFloats / (per_image * cols));
  static std::vector<float> columns;
  if (static_cast<int64_t>(columns.size()) < chunk * per_image * cols)
    columns.resize(static_cast<size_t>(chunk * per_image * cols));
  const int64_t image = g.in_h * g.in_w * g.in_c;
  for (int64_t b0 = 0; b0 < g.batch; b0 += chunk) {
    const int64_t nb = std::min(chunk, g.batch - b0);
    ConvGeometry t{};
    t.batch = nb;
    t.in_h = t.out_h = g.out_h;
    t.in_w = t.out_w = g.out_w;
    t.in_c = g.out_c;
    t.out_c = cols;
    t.filter_h = t.filter_w = t.stride_h = t.stride_w = t.dilation_h = t.dilation_w = 1;
    const PaddedInput in{dy + b0 * per_image * g.out_c, g.out_h, g.out_w};
    forward_padded(k, t, in, nullptr, packed, colp, nullptr, columns.data());
    const float* col = columns.data();
    const int tasks = task_count(nb * per_image * cols, nb);
    run_tasks(tasks, [&](int task, int) {
      for (int64_t b = split(nb, tasks, task), end = split(nb, tasks, task + 1); b < end; ++b) {
        float* dxb = dx + (b0 + b) * image;
        std::fill(dxb, dxb + image, 0.0f);
        const float* cb = col + b * per_image * cols;
        for (int64_t oy = 0; oy < g.out_h; ++oy) {
          for (int64_t ox = 0; ox < g.out_w; ++ox) {
            const float* c = cb + (oy * g.out_w + ox) * cols;
            for (int64_t fy = 0; fy < g.filter_h; ++fy) {
              const int64_t iy = oy * g.stride_h - g.pad_top + fy * g.dilation_h;
              if (iy < 0 || iy >= g.in_h) continue;
              for (int64_t fx = 0; fx < g.filter_w; ++fx) {
                const int64_t ix = ox * g.stride_w - g.pad_left + fx * g.dilation_w;
                if (ix < 0 || ix >= g.in_w) continue;
                add_channels(dxb + (iy * g.in_w + ix) * g.in_c, c + (fy * g.filter_w + fx) * g.in_c, g.in_c);
              }
            }
          }
        }
      }
    });
  }
}

}  // namespace

void conv_backward_input(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  if (g.in_c <= kColumnsMaxInC) {
    backward_input_by_columns(g, dy, w, dx);
    return;
  }
  const ConvKernels& k = conv_kernels_for(g.in_c);
  // dx = a stride-1 convolution of dy, zero-interleaved by the stride and padded so that tap f' = F−1−f of
  // dx pixel i lands on the dy pixel that read i through tap f, with the filter rotated by 180° and
  // in/out channels swapped.
  ConvGeometry t{};
  t.batch = g.batch;
  t.in_h = g.in_h + (g.filter_h - 1) * g.dilation_h;
  t.in_w = g.in_w + (g.filter_w - 1) * g.dilation_w;
  t.in_c = g.out_c;
  t.out_h = g.in_h;
  t.out_w = g.in_w;
  t.out_c = g.in_c;
  t.filter_h = g.filter_h;
  t.filter_w = g.filter_w;
  t.stride_h = t.stride_w = 1;
  t.dilation_h = g.dilation_h;
  t.dilation_w = g.dilation_w;
  const Placement at{t.in_h,
                     t.in_w,
                     (g.filter_h - 1) * g.dilation_h - g.pad_top,
                     (g.filter_w - 1) * g.dilation_w - g.pad_left,
                     g.stride_h,
                     g.stride_w};
  const int64_t taps = g.filter_h * g.filter_w;
  const ConvKernels& wide = conv_kernels_for(int64_t{1} << 20);
  if (along_pixels(wide, t)) {
    // Tap row k = (tap, o) of the rotated filter reads w[taps − 1 − tap][i][o].
    const auto filter = [&](int64_t kk, int64_t i) {
      const int64_t tap = kk / g.out_c, o = kk - tap * g.out_c;
      return w[((taps - 1 - tap) * g.in_c + i) * g.out_c + o];
    };
    forward_pixels(wide, t, dy, g.out_h, g.out_w, at, filter, nullptr, dx);
    return;
  }
  static std::vector<float> buffer;
  const Padding pad(dy, g.batch, g.out_h, g.out_w, g.out_c, at, 0, buffer);
  const int64_t icp = round_to(g.in_c, k.width);
  float* packed = packed_filter(taps * g.out_c * icp);
  for (int64_t tap = 0; tap < taps; ++tap) {
    const float* from = w + (taps - 1 - tap) * g.in_c * g.out_c;  // the tap rotated by 180°
    float* to = packed + tap * g.out_c * icp;
    for (int64_t i = 0; i < g.in_c; ++i)
      for (int64_t o = 0; o < g.out_c; ++o) to[o * icp + i] = from[i * g.out_c + o];
  }
  forward_padded(k, t, {}, &pad, packed, icp, nullptr, dx);
}

namespace {

// Whether the filter gradient runs with vectors along output pixels: a unit horizontal stride, an input
// of few channels (whose window rows are too short for the vectors along rows), few output channels and
// rows that fill most of their pixel vectors.
bool filter_along_pixels(const ConvKernels& k, const ConvGeometry& g) {
  if (k.width == 1 || g.stride_w != 1 || g.in_c > 4 || g.out_c > 16) return false;
  return 4 * g.out_w >= 3 * round_to(g.out_w, k.width);
}

// dw with vectors along output pixels, partial sums over fixed ranges of output rows as in
// conv_backward_filter.
void backward_filter_pixels(const ConvKernels& k, const ConvGeometry& g, const float* x, const float* dy,
                            float* dw) {
  const int64_t K = g.filter_h * g.filter_w * g.in_c;
  const int64_t rows = g.batch * g.out_h;
  const int64_t pixels = rows * g.out_w;
  const int64_t part_size = K * g.out_c;
  const int64_t parts =
      std::max<int64_t>(1, std::min({int64_t{32}, pixels / 256, rows, (int64_t{1} << 22) / part_size}));
  static std::vector<float> partial;
  if (static_cast<int64_t>(partial.size()) < parts * part_size) partial.resize(static_cast<size_t>(parts * part_size));
  const PlanarTaps taps = planar_taps(g, x, g.in_h, g.in_w, window_placement(g), k.width);
  // dy by planes too (conv.h): each task transposes its own rows, SSE blocks of four channels at a time,
  // into its thread's room after its padded images when it pads its own, else into a batch-sized copy.
  const int64_t dy_row = round_to(g.out_w, k.width);
  const int64_t dy_plane_floats = g.out_c * dy_row;  // per output row
  const auto transpose_dy = [&](int64_t r0, int64_t r1, float* to) {
    for (int64_t r = r0; r < r1; ++r, to += dy_plane_floats) {
      transpose_pixels(dy + r * g.out_w * g.out_c, g.out_w, g.out_c, to, dy_row);
      for (int64_t o = 0; o < g.out_c; ++o) std::fill(to + o * dy_row + g.out_w, to + (o + 1) * dy_row, 0.0f);
    }
  };
  // Parts of whole images pad their own images, into their thread's room.
  const bool by_images = g.batch >= kPadByImages && g.batch >= parts;
  const PlanarInput in = taps.pad.planar(by_images ? nullptr : taps.pad.all());
  const size_t acc_floats = static_cast<size_t>(part_size * k.width);
  ThreadPool::Region region(ThreadPool::global());
  for (int th = 0; th < region.size(); ++th) region.scratch(th).buf[Scratch::kUser1].reserve(acc_floats);
  const int64_t most_images = (g.batch + parts - 1) / parts;
  const int64_t images_floats = by_images ? round_to(most_images * taps.pad.image_floats(), 16) : 0;
  const ThreadRooms rooms =
      thread_rooms(region.size(), by_images ? images_floats + most_images * g.out_h * dy_plane_floats : 0);
  static std::vector<float> dy_planes;
  if (!by_images && static_cast<int64_t>(dy_planes.size()) < rows * dy_plane_floats)
    dy_planes.resize(static_cast<size_t>(rows * dy_plane_floats));
  region.run(static_cast<int>(parts), [&](int t, int thread) {
    const int n = static_cast<int>(parts);
    float* part = partial.data() + static_cast<size_t>(t) * static_cast<size_t>(part_size);
    float* vec_acc = region.scratch(thread).buf[Scratch::kUser1].data();
    if (!by_images) {
      const int64_t r0 = split(rows, n, t), r1 = split(rows, n, t + 1);
      transpose_dy(r0, r1, dy_planes.data() + r0 * dy_plane_floats);
      k.filter_pixels(g, in, taps.offsets, dy_planes.data(), dy_row, part, r0, r1, vec_acc);
      return;
    }
    // The part's images, padded and with dy transposed, as rows from 0.
    const int64_t b0 = split(g.batch, n, t), b1 = split(g.batch, n, t + 1);
    taps.pad.images(b0, b1, rooms.of(thread));
    float* dyp = rooms.of(thread) + images_floats;
    transpose_dy(b0 * g.out_h, b1 * g.out_h, dyp);
    k.filter_pixels(g, taps.pad.planar(rooms.of(thread)), taps.offsets, dyp, dy_row, part, 0, (b1 - b0) * g.out_h,
                    vec_acc);
  });
  const int sum_tasks = task_count(part_size * parts, K);
  region.run(sum_tasks, [&](int task, int) {
    for (int64_t e = split(K, sum_tasks, task) * g.out_c, end = split(K, sum_tasks, task + 1) * g.out_c; e < end;
         ++e) {
      float s = 0.0f;
      for (int64_t part = 0; part < parts; ++part) s += partial[static_cast<size_t>(part * part_size + e)];
      dw[e] = s;
    }
  });
}

}  // namespace

void conv_backward_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  const ConvKernels& wide = conv_kernels_for(int64_t{1} << 20);
  if (filter_along_pixels(wide, g)) {
    backward_filter_pixels(wide, g, x, dy, dw);
    return;
  }
  const int64_t taps = g.filter_h * g.filter_w;
  const int64_t K = taps * g.in_c;
  const int64_t run = g.filter_w * g.in_c;  // one filter row, contiguous in the input at unit dilation
  const int64_t pixels = g.batch * g.out_h * g.out_w;
  // Vectors along the window rows when the output channels are few and the rows long enough to fill
  // vectors (see conv_tiles.h); along the output channels otherwise.
  const ConvKernels& by_rows = conv_kernels_for(run);
  const bool along_rows = g.dilation_w == 1 && g.out_c <= 16 && run >= 2 * by_rows.width;
  const ConvKernels& k = along_rows ? by_rows : conv_kernels_for(g.out_c);
  // Each partial sum is laid out [K][ocp] (along the output channels) or [fh][out_c][runp] (along rows).
  const int64_t ocp = round_to(g.out_c, k.width);
  const int64_t runp = round_to(run, k.rows_block);
  const int64_t part_size = along_rows ? g.filter_h * g.out_c * runp : K * ocp;
  // A fixed number of partial sums for the problem (never for the pool): at least 256 pixels each (enough
  // of them to share out evenly on small layers), at most 32, together within about 16 MiB; added in a
  // fixed order.
  const int64_t parts = std::max<int64_t>(1, std::min({int64_t{32}, pixels / 256, (int64_t{1} << 22) / part_size}));
  static std::vector<float> partial;
  if (static_cast<int64_t>(partial.size()) < parts * part_size) partial.resize(static_cast<size_t>(parts * part_size));
  const Placement at = window_placement(g);
  const bool as_is = pads_nothing(at, g.in_h, g.in_w);
  static std::vector<float> buffer;
  std::optional<Padding> pad;
  if (!as_is) pad.emplace(x, g.batch, g.in_h, g.in_w, g.in_c, at, 0, buffer);
  // Parts of whole images pad their own images, into their thread's room.
  const bool by_images = pad && g.batch >= kPadByImages && g.batch >= parts;
  const PaddedInput in = as_is ? PaddedInput{x, g.in_h, g.in_w} : pad->nhwc(by_images ? nullptr : pad->all());
  const int64_t per_image = g.out_h * g.out_w;
  const size_t scratch_bytes = kConvPixelBlock * sizeof(const float*) + kConvPixelBlock * ocp * sizeof(float);
  ThreadPool::Region region(ThreadPool::global());
  for (int th = 0; th < region.size(); ++th) region.scratch(th).buf[Scratch::kUser0].reserve(scratch_bytes / sizeof(float));
  const int64_t most_images = (g.batch + parts - 1) / parts;
  const ThreadRooms rooms = thread_rooms(region.size(), by_images ? most_images * pad->image_floats() : 0);
  region.run(static_cast<int>(parts), [&](int t, int thread) {
    const int n = static_cast<int>(parts);
    int64_t p0 = split(pixels, n, t), p1 = split(pixels, n, t + 1);
    PaddedInput from = in;
    if (by_images) {
      // Pixels from the part's first image, read from its own padded copy.
      const int64_t b0 = split(g.batch, n, t), b1 = split(g.batch, n, t + 1);
      pad->images(b0, b1, rooms.of(thread));
      from = pad->nhwc(rooms.of(thread));
      p0 = b0 * per_image;
      p1 = b1 * per_image;
    }
    float* acc = partial.data() + static_cast<size_t>(t) * static_cast<size_t>(part_size);
    std::fill(acc, acc + part_size, 0.0f);  // each task clears its own part, on its own thread
    void* scratch = region.scratch(thread).buf[Scratch::kUser0].data();
    if (p0 == p1) return;
    const int64_t first = by_images ? p0 : 0;  // pixel 0 of `from`
    if (along_rows) {
      k.filter_rows(g, from, dy + first * g.out_c, runp, acc, p0 - first, p1 - first, scratch);
    } else {
      k.backward_filter(g, from, dy + first * g.out_c, ocp, acc, p0 - first, p1 - first, scratch);
    }
  });
  // The sum over partials, filter rows split between tasks (each element still adds its parts in order).
  const int sum_tasks = task_count(K * g.out_c * parts, K);
  region.run(sum_tasks, [&](int task, int) {
    for (int64_t r = split(K, sum_tasks, task), end = split(K, sum_tasks, task + 1); r < end; ++r) {
      // Filter row r = fy·run + t (t = fx·in_c + i).
      const int64_t fy = r / run, t = r - fy * run;
      for (int64_t o = 0; o < g.out_c; ++o) {
        const int64_t at = along_rows ? (fy * g.out_c + o) * runp + t : r * ocp + o;
        float s = 0.0f;
        for (int64_t part = 0; part < parts; ++part) s += partial[static_cast<size_t>(part * part_size + at)];
        dw[r * g.out_c + o] = s;
      }
    }
  });
}

}  // namespace fvl
