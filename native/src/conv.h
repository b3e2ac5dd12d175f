// faceverloss native engine: 2-D convolutions of NHWC float32 tensors as implicit GEMMs.
//
// No patch matrix is ever materialised. Each kernel holds a register tile of its output (a few pixels ×
// a few vectors of channels) and walks the filter taps itself, broadcasting input values straight
// from a zero-padded copy of the NHWC input, so the inner loops have no bounds checks. The three
// products of a convolution layer are
//
//   forward        y[p, o]   = Σ_{tap, i} x[p ⊕ tap, i] · w[tap, i, o]        tile: pixels × out channels
//   input grad     dx[q, i]  = Σ_{tap, o} dy[q ⊖ tap, o] · w[tap, i, o]       tile: pixels × in channels
//   filter grad    dw[tap, i, o] = Σ_p x[p ⊕ tap, i] · dy[p, o]                 tile: (tap, i) rows × out channels
//
// where p ⊕ tap is the input pixel that tap reads for output pixel p (stride, dilation and padding
// applied) and q ⊖ tap the output pixel, if any, that reads input pixel q through tap. The input
// gradient is itself a forward convolution: of dy, zero-padded (and for strides > 1 zero-interleaved),
// with the filter rotated by 180° and its channel axes swapped. Vectors run along channels, contiguous
// in NHWC, except where the channels are too few to fill them: then the forward (and so the input
// gradient) and the filter gradient of a few-channel input run their vectors along the output pixels
// of a row, over a padded copy laid out by channel planes (PlanarInput), and the filter gradient of
// short channel counts along the window rows. The tiles are written once per instruction set (conv_tiles.h, compiled into conv_avx512.cc,
// conv_avx2.cc and conv_scalar.cc); conv.cc pads, packs the filter, splits the work between threads and
// applies the bias and activation while a tile's rows are still in cache.
#pragma once

#include "common.h"

namespace fvl {

// Sizes of one NHWC convolution, as TF.js's computeConv2DInfo reports them. Filter [fh, fw, in_c, out_c].
struct ConvGeometry {
  int64_t batch, in_h, in_w, in_c;
  int64_t out_h, out_w, out_c;
  int64_t filter_h, filter_w;
  int64_t stride_h, stride_w;
  int64_t dilation_h, dilation_w;
  int64_t pad_top, pad_left;
};

// Element-wise step after the forward product, per output channel o.
enum class ConvActivation : int { Linear = 0, Relu = 1, Prelu = 2, LeakyRelu = 3, Relu6 = 4 };

struct ConvEpilogue {
  const float* bias = nullptr;   // out_c values, or one value broadcast when bias_len == 1; may be null
  int64_t bias_len = 0;
  ConvActivation activation = ConvActivation::Linear;
  const float* alpha = nullptr;  // PReLU weights: out_c values, or one (alpha_len == 1)
  int64_t alpha_len = 0;
  float leaky_alpha = 0.2f;
};

// y = epilogue(conv(x, w)), y: [batch, out_h, out_w, out_c] (overwritten).
void conv_forward(const ConvGeometry& g, const float* x, const float* w, const ConvEpilogue& epilogue, float* y);

// dx = the gradient for x given dy (dx: [batch, in_h, in_w, in_c], overwritten).
void conv_backward_input(const ConvGeometry& g, const float* dy, const float* w, float* dx);

// dw = the gradient for w given x and dy (dw: [fh, fw, in_c, out_c], overwritten). Partial sums are taken
// over fixed blocks of output pixels and added in a fixed order: the result does not depend on the
// number of threads.
void conv_backward_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw);

// --- The per-instruction-set tiles (conv_tiles.h) -------------------------------------------------

// An NHWC input with its zero padding written out: [batch][h][w][in_c], window origins at
// (oy·stride_h, ox·stride_w) with no further offset.
struct PaddedInput {
  const float* data;
  int64_t h, w;
};

// An NHWC input zero-padded as for PaddedInput but laid out by planes: [batch][h][c][row], each row of
// one channel holding the padded input's w values and then zeros up to `row` floats, so that a vector
// of output pixels reads whole vectors of one channel (the forward_pixels tiles).
struct PlanarInput {
  const float* data;
  int64_t h, c, row;
};

// Forward over flattened output pixels [p0, p1): y rows of out_c; wp is the filter packed as
// [taps·in_c][ocp] with ocp = out_c rounded up to the vector width (zeros past out_c).
typedef void (*ConvForwardRangeFn)(const ConvGeometry& g, const PaddedInput& in, const float* wp, int64_t ocp,
                                   float* y, int64_t p0, int64_t p1);
// Filter gradient of output pixels [p0, p1), added into acc laid out [taps·in_c][ocp]. `scratch` has room
// for kConvPixelBlock pointers and then kConvPixelBlock · ocp floats.
typedef void (*ConvBackwardFilterRangeFn)(const ConvGeometry& g, const PaddedInput& in, const float* dy,
                                          int64_t ocp, float* acc, int64_t p0, int64_t p1, void* scratch);

// Filter gradient with vectors along window rows (unit dilation): output pixels [p0, p1), added into acc
// laid out [fh][out_c][runp], runp = fw·in_c rounded up to a multiple of rows_block. `scratch` has room
// for kConvPixelBlock pointers.
typedef void (*ConvFilterRowsRangeFn)(const ConvGeometry& g, const PaddedInput& in, const float* dy, int64_t runp,
                                      float* acc, int64_t p0, int64_t p1, void* scratch);

// Forward over pixel vectors [v0, v1): output row r = b·out_h + oy has ceil(out_w / width) of them,
// `width` pixels each (the last ragged), vector v = r·that + segment. offsets[k] is where tap k (filter
// order: fy, fx, input channel) reads in the planar input from a vector's origin; wpk is the filter packed
// [ceil(out_c / pixels_mr)][taps·in_c][pixels_mr], zeros past out_c; bias, when not null, holds a value
// per output channel (padded likewise), added to the sums. Unit horizontal stride only.
typedef void (*ConvForwardPixelsFn)(const ConvGeometry& g, const PlanarInput& in, const int64_t* offsets,
                                    const float* wpk, const float* bias, float* y, int64_t v0, int64_t v1);

// Filter gradient over the output rows [r0, r1) (r = b·out_h + oy) with vectors along output pixels, as
// in the forward_pixels tiles (same offsets), written to part [taps·in_c][out_c]. dy comes as planes too:
// output row r's channel o at dyp + (r·out_c + o)·dy_row, the row's out_w values and then zeros up to
// dy_row (a whole number of vectors). `vec_acc` has room for taps·in_c·out_c vectors. Unit horizontal
// stride.
typedef void (*ConvFilterPixelsRangeFn)(const ConvGeometry& g, const PlanarInput& in, const int64_t* offsets,
                                        const float* dyp, int64_t dy_row, float* part, int64_t r0, int64_t r1,
                                        float* vec_acc);

// Pixel vectors per block of the filter_pixels tiles.
constexpr int kConvPixelVectors = 16;

// Output pixels per block of the filter gradient.
constexpr int kConvPixelBlock = 128;

struct ConvKernels {
  const char* name;
  int width;  // floats per vector: channel counts are padded to a multiple of it in packed filters
  ConvForwardRangeFn forward;
  ConvBackwardFilterRangeFn backward_filter;
  ConvFilterRowsRangeFn filter_rows;
  int rows_block;  // floats of a window row one filter_rows tile covers
  ConvForwardPixelsFn forward_pixels;
  int pixels_mr;   // output channels per forward_pixels tile
  int pixels_nv;   // pixel vectors per forward_pixels tile
  ConvFilterPixelsRangeFn filter_pixels;
};

extern const ConvKernels kConvScalar;
#if FVL_X86_64
extern const ConvKernels kConvAvx2;
extern const ConvKernels kConvAvx512;
#endif

}  // namespace fvl
