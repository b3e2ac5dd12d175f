// faceverloss native engine: the register tiles of the implicit-GEMM convolutions (see conv.h).
//
// Written once over a vector type and included by one translation unit per instruction set, which
// first defines `struct Vec` with
//   W                           floats per vector
//   V zero(), V load(p), void store(p, v), void store_n(p, v, n)   (n < W lanes), V set1(x), V fma(a, b, c),
//   V add(a, b)
//   template <int MR> store_pixels(out, stride, rows, np)
//                               rows[m] holds channel m of W pixels: writes pixel j's MR channels to
//                               out + j·stride, for j < np
//   kMaxNV                      most vectors of channels in one tile
//   template <int NV> mr()      pixels (or filter rows) per tile with NV vectors: as many accumulators
//                               as the register file holds beside the filter vectors
// Everything here has internal linkage and uses no standard-library code, so code compiled with one
// instruction set's flags is never linked into another's path (see common.h).
//
// The input is already zero-padded (conv.cc), so every tap of every pixel is a plain offset from the
// pixel's window origin: no bounds checks in any loop, and with unit dilation the taps of one filter
// row are one contiguous run of fw·in_c floats, matching the filter's own layout.
#pragma once

#include "conv.h"

#if defined(_MSC_VER)
#define FVL_CONV_NOINLINE __declspec(noinline)
#else
#define FVL_CONV_NOINLINE __attribute__((noinline))
#endif

namespace fvl {
namespace {

FVL_INLINE int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Stores the first `n` channels of a tile row (n ≤ NV·W), the last vector partially when n is ragged.
template <int NV>
FVL_INLINE void store_row(float* dst, const typename Vec::V* acc, int64_t n) {
  for (int v = 0; v < NV; ++v) {
    const int64_t col = static_cast<int64_t>(v) * Vec::W;
    if (col + Vec::W <= n) {
      Vec::store(dst + col, acc[v]);
    } else if (col < n) {
      Vec::store_n(dst + col, acc[v], static_cast<int>(n - col));
    }
  }
}

// Walks output pixels in order, giving each one's window origin (its first input value in the padded
// input) without a division per pixel: a tile needs a dozen origins, and three divisions each cost as
// much as a narrow tile's multiply-adds.
class PixelWalk {
 public:
  PixelWalk(const ConvGeometry& g, const PaddedInput& in, int64_t p) : g_(g), in_(in) {
    const int64_t per_image = g.out_h * g.out_w;
    b_ = p / per_image;
    const int64_t r = p - b_ * per_image;
    oy_ = r / g.out_w;
    ox_ = r - oy_ * g.out_w;
  }
  // The current pixel's window origin.
  FVL_INLINE const float* origin() const {
    return in_.data + ((b_ * in_.h + oy_ * g_.stride_h) * in_.w + ox_ * g_.stride_w) * g_.in_c;
  }
  FVL_INLINE void next() {
    if (++ox_ < g_.out_w) return;
    ox_ = 0;
    if (++oy_ < g_.out_h) return;
    oy_ = 0;
    ++b_;
  }

 private:
  const ConvGeometry& g_;
  const PaddedInput& in_;
  int64_t b_, oy_, ox_;
};

// Taps of one filter row: `runs` runs of `run` contiguous floats, `run_step` apart in the input.
struct FilterRow {
  int64_t runs, run, run_step, row_step;
};

FVL_INLINE FilterRow filter_row(const ConvGeometry& g, const PaddedInput& in) {
  const int64_t row_step = g.dilation_h * in.w * g.in_c;
  if (g.dilation_w == 1) return {1, g.filter_w * g.in_c, 0, row_step};
  return {g.filter_w, g.in_c, g.dilation_w * g.in_c, row_step};
}

// ---- forward: MR output pixels × NV vectors of output channels -------------------------------------

template <int MR, int NV>
void forward_tiles(const ConvGeometry& g, const PaddedInput& in, const float* wp, int64_t ocp, float* y, int64_t p0,
                   int64_t p1, int64_t o0, int64_t nc) {
  const FilterRow fr = filter_row(g, in);
  PixelWalk walk(g, in, p0);
  for (int64_t p = p0; p < p1; p += MR) {
    const int64_t np = min64(MR, p1 - p);
    // A short last tile of a tall one takes shorter tiles instead, computing fewer unused rows.
    if (MR > 4 && np <= MR / 2) {
      forward_tiles<(MR > 4 ? MR / 2 : MR), NV>(g, in, wp, ocp, y, p, p1, o0, nc);
      return;
    }
    // Rows past the end of the range repeat the last pixel: computed, never stored.
    const float* src[MR];
    for (int j = 0; j < MR; ++j) {
      src[j] = j < np ? walk.origin() : src[j - 1];
      if (j < np) walk.next();
    }
    typename Vec::V acc[MR][NV];
    for (int j = 0; j < MR; ++j)
      for (int v = 0; v < NV; ++v) acc[j][v] = Vec::zero();
    const float* w = wp + o0;
    for (int64_t fy = 0; fy < g.filter_h; ++fy) {
      for (int64_t r = 0; r < fr.runs; ++r) {
        const int64_t at = fy * fr.row_step + r * fr.run_step;
        for (int64_t t = 0; t < fr.run; ++t, w += ocp) {
          typename Vec::V wv[NV];
          for (int v = 0; v < NV; ++v) wv[v] = Vec::load(w + v * Vec::W);
          for (int j = 0; j < MR; ++j) {
            const typename Vec::V a = Vec::set1(src[j][at + t]);
            for (int v = 0; v < NV; ++v) acc[j][v] = Vec::fma(a, wv[v], acc[j][v]);
          }
        }
      }
    }
    for (int j = 0; j < np; ++j) store_row<NV>(y + (p + j) * g.out_c + o0, acc[j], nc);
  }
}

template <int NV>
void forward_block(const ConvGeometry& g, const PaddedInput& in, const float* wp, int64_t ocp, float* y, int64_t p0,
                   int64_t p1, int64_t o0, int64_t nc) {
  forward_tiles<Vec::template mr<NV>(), NV>(g, in, wp, ocp, y, p0, p1, o0, nc);
}

// Vectors of channels in the next block of tiles when `left` vectors remain: as many as a tile holds,
// except that no block leaves a single vector behind. A one-vector tile loads every input value for one
// multiply-add per accumulator row and runs at half the rate (32 channels on AVX2 went 24 + 8), so
// kMaxNV + 1 vectors go as two blocks of about half. Blocking over channels does not change any sum.
FVL_INLINE int channel_block(int64_t left) {
  if (left <= Vec::kMaxNV) return static_cast<int>(left);
  return left == Vec::kMaxNV + 1 ? static_cast<int>(left / 2) : Vec::kMaxNV;
}

void forward_range(const ConvGeometry& g, const PaddedInput& in, const float* wp, int64_t ocp, float* y, int64_t p0,
                   int64_t p1) {
  const int64_t vectors = (g.out_c + Vec::W - 1) / Vec::W;
  for (int64_t v0 = 0; v0 < vectors;) {
    const int nv = channel_block(vectors - v0);
    const int64_t o0 = v0 * Vec::W;
    const int64_t nc = min64(static_cast<int64_t>(nv) * Vec::W, g.out_c - o0);
    switch (nv) {
      case 1: forward_block<1>(g, in, wp, ocp, y, p0, p1, o0, nc); break;
      case 2: forward_block<(Vec::kMaxNV >= 2 ? 2 : 1)>(g, in, wp, ocp, y, p0, p1, o0, nc); break;
      case 3: forward_block<(Vec::kMaxNV >= 3 ? 3 : 1)>(g, in, wp, ocp, y, p0, p1, o0, nc); break;
      default: forward_block<Vec::kMaxNV>(g, in, wp, ocp, y, p0, p1, o0, nc); break;
    }
    v0 += nv;
  }
}

// ---- forward with vectors along output pixels: MR output channels × NV vectors of pixels ------------
//
// For few output channels (8 fill half an AVX-512 vector) the vectors run along the pixels of an output
// row instead, over the planar copy of the input (conv.h, PlanarInput), and the filter values are
// broadcast. A pixel vector is W consecutive pixels of one output row (the last one of a row ragged);
// its lanes past the row read the zeros the planar copy ends each row with and are never stored. Tap k
// of every vector is the same offset from the vector's origin (offsets[k]); the filter is packed as
// [out_c / MR][K][MR], zeros past out_c.

// Origin in the planar input of pixel vector v (segs vectors per output row) and its first output pixel.
FVL_INLINE const float* pixel_vector(const ConvGeometry& g, const PlanarInput& in, int64_t segs, int64_t v,
                                     int64_t* first_pixel) {
  const int64_t r = v / segs, s = v - r * segs;  // output row r = b·out_h + oy
  const int64_t b = r / g.out_h, oy = r - b * g.out_h;
  *first_pixel = r * g.out_w + s * Vec::W;
  return in.data + (b * in.h + oy * g.stride_h) * in.c * in.row + s * Vec::W;
}

template <int MR, int NV>
void forward_pixels_tiles(const ConvGeometry& g, const PlanarInput& in, const int64_t* offsets, int64_t K,
                          const float* wpk, const float* bias, float* y, int64_t v0, int64_t v1, int64_t o0,
                          int64_t nc) {
  const int64_t segs = (g.out_w + Vec::W - 1) / Vec::W;
  for (int64_t v = v0; v < v1; v += NV) {
    const int64_t nv = min64(NV, v1 - v);
    // A short last tile takes one vector at a time instead of computing unused ones.
    if (NV > 1 && nv < NV) {
      forward_pixels_tiles<MR, 1>(g, in, offsets, K, wpk, bias, y, v, v1, o0, nc);
      return;
    }
    // Vectors past the end of the range repeat the last one: computed, never stored.
    const float* src[NV];
    int64_t first[NV];
    for (int n = 0; n < NV; ++n) src[n] = pixel_vector(g, in, segs, v + min64(n, nv - 1), &first[n]);
    typename Vec::V acc[MR][NV];
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NV; ++n) acc[m][n] = Vec::zero();
    const float* w = wpk;
    for (int64_t k = 0; k < K; ++k, w += MR) {
      const int64_t at = offsets[k];
      typename Vec::V xv[NV];
      for (int n = 0; n < NV; ++n) xv[n] = Vec::load(src[n] + at);
      for (int m = 0; m < MR; ++m) {
        const typename Vec::V a = Vec::set1(w[m]);
        for (int n = 0; n < NV; ++n) acc[m][n] = Vec::fma(a, xv[n], acc[m][n]);
      }
    }
    // Channel-major in registers, pixel-major in y, with the bias added: a whole block of channels by a
    // transpose in registers, a ragged one through a small buffer.
    alignas(64) float lanes[MR][Vec::W];
    for (int n = 0; n < nv; ++n) {
      typename Vec::V rows[MR];
      for (int m = 0; m < MR; ++m) rows[m] = bias ? Vec::add(acc[m][n], Vec::set1(bias[m])) : acc[m][n];
      const int64_t row_left = g.out_w - (first[n] % g.out_w);
      const int np = static_cast<int>(min64(Vec::W, row_left));
      float* out = y + first[n] * g.out_c + o0;
      if (nc == MR) {
        Vec::template store_pixels<MR>(out, g.out_c, rows, np);
        continue;
      }
      for (int m = 0; m < MR; ++m) Vec::store(lanes[m], rows[m]);
      for (int64_t j = 0; j < np; ++j, out += g.out_c)
        for (int64_t m = 0; m < nc; ++m) out[m] = lanes[m][j];
    }
  }
}

// Output pixel vectors [v0, v1) of y (see above); wpk packed in blocks of Vec::kPixelsMR channels.
void forward_pixels_range(const ConvGeometry& g, const PlanarInput& in, const int64_t* offsets, const float* wpk,
                          const float* bias, float* y, int64_t v0, int64_t v1) {
  constexpr int MR = Vec::kPixelsMR;
  // Every block of channels sweeps a few tiles of vectors while their input is in L1.
  constexpr int64_t kChunk = 4 * Vec::kPixelsNV;
  const int64_t K = g.filter_h * g.filter_w * g.in_c;
  for (int64_t c0 = v0; c0 < v1; c0 += kChunk) {
    const int64_t c1 = min64(v1, c0 + kChunk);
    for (int64_t o0 = 0; o0 < g.out_c; o0 += MR) {
      const float* block = wpk + (o0 / MR) * K * MR;
      forward_pixels_tiles<MR, Vec::kPixelsNV>(g, in, offsets, K, block, bias ? bias + o0 : nullptr, y, c0, c1, o0,
                                               min64(MR, g.out_c - o0));
    }
  }
}

// ---- filter gradient with vectors along output pixels: MK filter rows × MO output channels ---------
//
// dw[k][o] = Σ_p x[p ⊕ tap k] · dy[p, o] over the pixel vectors of forward_pixels: x straight from the
// planar copy, dy from a planar copy of its own (conv.h, ConvFilterPixelsRangeFn) with zeros past each
// row, so every product is a whole vector and nothing is broadcast. The lanes are summed once per task.
// The lanes of a row's ragged last vector read x values of other pixels (finite or not), so that vector
// loads x masked.

template <int MK, int MO>
void filter_pixels_tiles(const float* const* src, const float* const* dys, int64_t nfull,
                         typename Vec::M ragged_mask, int64_t nvec, int64_t out_c, int64_t dy_row,
                         const int64_t* offsets, int64_t K, float* vec_acc) {
  for (int64_t k0 = 0; k0 < K; k0 += MK) {
    const int64_t nk = min64(MK, K - k0);
    int64_t off[MK];
    for (int j = 0; j < MK; ++j) off[j] = offsets[k0 + min64(j, nk - 1)];
    for (int64_t o0 = 0; o0 < out_c; o0 += MO) {
      const int64_t no = min64(MO, out_c - o0);
      int64_t dyo[MO];
      for (int i = 0; i < MO; ++i) dyo[i] = (o0 + min64(i, no - 1)) * dy_row;
      typename Vec::V acc[MK][MO];
      for (int j = 0; j < MK; ++j)
        for (int i = 0; i < MO; ++i) acc[j][i] = Vec::zero();
      // Whole vectors first, then the ragged ones (all with the same lanes), each in a loop of its own.
      for (int64_t v = 0; v < nfull; ++v) {
        typename Vec::V xv[MK], dv[MO];
        for (int j = 0; j < MK; ++j) xv[j] = Vec::load(src[v] + off[j]);
        for (int i = 0; i < MO; ++i) dv[i] = Vec::load(dys[v] + dyo[i]);
        for (int j = 0; j < MK; ++j)
          for (int i = 0; i < MO; ++i) acc[j][i] = Vec::fma(xv[j], dv[i], acc[j][i]);
      }
      for (int64_t v = nfull; v < nvec; ++v) {
        typename Vec::V xv[MK], dv[MO];
        for (int j = 0; j < MK; ++j) xv[j] = Vec::load_m(src[v] + off[j], ragged_mask);
        for (int i = 0; i < MO; ++i) dv[i] = Vec::load(dys[v] + dyo[i]);
        for (int j = 0; j < MK; ++j)
          for (int i = 0; i < MO; ++i) acc[j][i] = Vec::fma(xv[j], dv[i], acc[j][i]);
      }
      for (int j = 0; j < MK; ++j) {
        if (j >= nk) break;
        for (int i = 0; i < MO; ++i) {
          if (i >= no) break;
          float* to = vec_acc + ((k0 + j) * out_c + o0 + i) * Vec::W;
          Vec::store(to, Vec::add(Vec::load(to), acc[j][i]));
        }
      }
    }
  }
}

// Filter gradient of output rows [r0, r1) (r = b·out_h + oy), written to part [K][out_c]. `vec_acc` has
// room for K·out_c vectors.
void filter_pixels_range(const ConvGeometry& g, const PlanarInput& in, const int64_t* offsets, const float* dyp,
                         int64_t dy_row, float* part, int64_t r0, int64_t r1, float* vec_acc) {
  const int64_t K = g.filter_h * g.filter_w * g.in_c;
  const int64_t segs = (g.out_w + Vec::W - 1) / Vec::W;
  // The last vector of every row has these lanes (W when the rows fill whole vectors).
  const int64_t last_lanes = g.out_w - (segs - 1) * Vec::W;
  const typename Vec::M ragged_mask = Vec::mask(static_cast<int>(last_lanes));
  for (int64_t e = 0; e < K * g.out_c * Vec::W; ++e) vec_acc[e] = 0.0f;
  const float* src[kConvPixelVectors];
  const float* dys[kConvPixelVectors];
  for (int64_t v0 = r0 * segs, v_end = r1 * segs; v0 < v_end; v0 += kConvPixelVectors) {
    const int64_t nvec = min64(kConvPixelVectors, v_end - v0);
    // Whole vectors from the front of the block, ragged ones from its back.
    int64_t nfull = 0, nragged = 0;
    for (int64_t n = 0; n < nvec; ++n) {
      int64_t first;
      const float* origin = pixel_vector(g, in, segs, v0 + n, &first);
      const int64_t r = (v0 + n) / segs, s = v0 + n - r * segs;
      const int64_t at = s + 1 < segs || last_lanes == Vec::W ? nfull++ : nvec - 1 - nragged++;
      src[at] = origin;
      dys[at] = dyp + r * g.out_c * dy_row + s * Vec::W;
    }
    filter_pixels_tiles<Vec::kFilterMK, Vec::kFilterMO>(src, dys, nfull, ragged_mask, nvec, g.out_c, dy_row, offsets,
                                                       K, vec_acc);
  }
  // The lanes of each sum, added in lane order.
  for (int64_t e = 0; e < K * g.out_c; ++e) {
    const float* lanes = vec_acc + e * Vec::W;
    float s = 0.0f;
    for (int j = 0; j < Vec::W; ++j) s += lanes[j];
    part[e] = s;
  }
}

// ---- filter gradient: MR filter rows (tap, input channel) × NV vectors of output channels -----------
//
// Output pixels are taken in blocks of kConvPixelBlock: the block's dy rows are copied into a scratch
// padded to ocp (full-vector loads), then every tile of filter rows sweeps the block. Filter row k reads
// the same offset from every pixel's window origin, so a tile needs one pointer per pixel.

// Σ over the block's pixels s < npix of the outer product of MR broadcast scalars (bcast(s)[0..MR)) and NV
// vectors (vecs(s), NV·W consecutive floats), added into out ([MR] rows, `ld` apart). Both filter-gradient
// tiles are this product; they differ only in which operand runs along the vectors.
template <int MR, int NV, class Bcast, class Vecs>
FVL_INLINE void outer_product_tile(int64_t npix, Bcast bcast, Vecs vecs, float* out, int64_t ld) {
  typename Vec::V acc[MR][NV];
  for (int j = 0; j < MR; ++j)
    for (int v = 0; v < NV; ++v) acc[j][v] = Vec::zero();
  for (int64_t s = 0; s < npix; ++s) {
    const float* b = bcast(s);
    const float* x = vecs(s);
    typename Vec::V xv[NV];
    for (int v = 0; v < NV; ++v) xv[v] = Vec::load(x + v * Vec::W);
    for (int j = 0; j < MR; ++j) {
      const typename Vec::V a = Vec::set1(b[j]);
      for (int v = 0; v < NV; ++v) acc[j][v] = Vec::fma(a, xv[v], acc[j][v]);
    }
  }
  for (int j = 0; j < MR; ++j)
    for (int v = 0; v < NV; ++v) {
      float* to = out + j * ld + v * Vec::W;
      Vec::store(to, Vec::add(Vec::load(to), acc[j][v]));
    }
}

// A tile of MR filter rows that read consecutive input values (offset0 + j: within one window row at unit
// dilation), over the block's pixels: fixed offsets from one pointer, where a tile of scattered rows
// needs a register per row and spills some. Not inlined, so that its registers and those of the
// general loop below do not compete.
template <int MR, int NV>
FVL_CONV_NOINLINE void backward_filter_run_tile(const float* const* origin, int64_t offset0, const float* dys,
                                                int64_t ocp, int64_t npix, float* out) {
  outer_product_tile<MR, NV>(
      npix, [&](int64_t s) { return origin[s] + offset0; }, [&](int64_t s) { return dys + s * ocp; }, out, ocp);
}

template <int MR, int NV>
void backward_filter_block(const ConvGeometry& g, const FilterRow& fr, const float* const* origin, const float* dys,
                           int64_t ocp, int64_t npix, float* acc_out) {
  const int64_t per_row = fr.runs * fr.run;  // = fw · in_c
  const int64_t K = g.filter_h * per_row;
  for (int64_t k0 = 0; k0 < K; k0 += MR) {
    const int64_t nk = min64(MR, K - k0);
    int64_t offset[MR];
    for (int j = 0; j < MR; ++j) {
      const int64_t k = k0 + min64(j, nk - 1);  // rows past K repeat the last one: computed, not stored
      const int64_t fy = k / per_row, in_row = k - fy * per_row;
      const int64_t r = in_row / fr.run;
      offset[j] = fy * fr.row_step + r * fr.run_step + (in_row - r * fr.run);
    }
    bool consecutive = nk == MR;
    for (int j = 1; j < MR; ++j) consecutive = consecutive && offset[j] == offset[0] + j;
    if (consecutive) {
      backward_filter_run_tile<MR, NV>(origin, offset[0], dys, ocp, npix, acc_out + k0 * ocp);
      continue;
    }
    typename Vec::V acc[MR][NV];
    for (int j = 0; j < MR; ++j)
      for (int v = 0; v < NV; ++v) acc[j][v] = Vec::zero();
    for (int64_t s = 0; s < npix; ++s) {
      const float* src = origin[s];
      typename Vec::V d[NV];
      for (int v = 0; v < NV; ++v) d[v] = Vec::load(dys + s * ocp + v * Vec::W);
      for (int j = 0; j < MR; ++j) {
        const typename Vec::V a = Vec::set1(src[offset[j]]);
        for (int v = 0; v < NV; ++v) acc[j][v] = Vec::fma(a, d[v], acc[j][v]);
      }
    }
    for (int j = 0; j < nk; ++j) {
      float* out = acc_out + (k0 + j) * ocp;
      for (int v = 0; v < NV; ++v) Vec::store(out + v * Vec::W, Vec::add(Vec::load(out + v * Vec::W), acc[j][v]));
    }
  }
}

// `scratch`: room for kConvPixelBlock pointers, then kConvPixelBlock · ocp floats.
void backward_filter_range(const ConvGeometry& g, const PaddedInput& in, const float* dy, int64_t ocp, float* acc,
                           int64_t p0, int64_t p1, void* scratch) {
  const FilterRow fr = filter_row(g, in);
  const float** origin = static_cast<const float**>(scratch);
  float* dys = reinterpret_cast<float*>(origin + kConvPixelBlock);
  PixelWalk walk(g, in, p0);
  for (int64_t p = p0; p < p1; p += kConvPixelBlock) {
    const int64_t npix = min64(kConvPixelBlock, p1 - p);
    for (int64_t s = 0; s < npix; ++s, walk.next()) {
      origin[s] = walk.origin();
      const float* d = dy + (p + s) * g.out_c;
      float* to = dys + s * ocp;
      for (int64_t o = 0; o < g.out_c; ++o) to[o] = d[o];
      for (int64_t o = g.out_c; o < ocp; ++o) to[o] = 0.0f;
    }
    // Whole vectors of output channels (ocp is a multiple of W); the last block may be narrower.
    for (int64_t v0 = 0, total = ocp / Vec::W; v0 < total;) {
      const int nv = channel_block(total - v0);
      const float* block_dys = dys + v0 * Vec::W;
      float* block_acc = acc + v0 * Vec::W;
      if (nv >= Vec::kMaxNV) {
        backward_filter_block<Vec::template mr<Vec::kMaxNV>(), Vec::kMaxNV>(g, fr, origin, block_dys, ocp, npix,
                                                                              block_acc);
        v0 += Vec::kMaxNV;
      } else if (nv == 3) {
        backward_filter_block<Vec::template mr<3>(), 3>(g, fr, origin, block_dys, ocp, npix, block_acc);
        v0 += 3;
      } else if (nv == 2) {
        backward_filter_block<Vec::template mr<2>(), 2>(g, fr, origin, block_dys, ocp, npix, block_acc);
        v0 += 2;
      } else {
        backward_filter_block<Vec::template mr<1>(), 1>(g, fr, origin, block_dys, ocp, npix, block_acc);
        v0 += 1;
      }
    }
  }
}

// ---- filter gradient along window rows: MR output channels × NV vectors of one filter row ------------
//
// With unit dilation the taps of one filter row, (fx, input channel), are one contiguous run of fw·in_c
// floats of the input, laid out like that filter row. So vectors can run along the run — the input is
// loaded as is and dy is broadcast — which fills whole vectors when the channel counts are small (8 input
// channels × 5 taps = 40 floats), where vectors along the output channels would be half empty. The
// sums go to acc laid out [fh][out_c][runp] (run padded to whole blocks); conv.cc transposes them.

// A full tile (NV whole vectors of the row × MR output channels) over the block's pixels, added into
// out ([MR][runp] from the tile's first value): no lane masks and no clamped channel indices in its loop.
// Not inlined, so that its registers and those of the general loop below do not compete.
template <int MR, int NV>
FVL_CONV_NOINLINE void filter_rows_full_tile(const float* const* origin, int64_t at, const float* dy,
                                             int64_t out_c, int64_t npix, float* out, int64_t runp) {
  outer_product_tile<MR, NV>(
      npix, [&](int64_t s) { return dy + s * out_c; }, [&](int64_t s) { return origin[s] + at; }, out, runp);
}

// One part of every window row fy: the nt ≤ NV·W floats of the run from at (tap row t0), for every
// output channel, added into out ([out_c][runp] from t0). Full tiles where the part is whole vectors.
template <int MR, int NV>
void filter_rows_part(const ConvGeometry& g, const float* const* origin, int64_t at, int64_t nt, const float* dy,
                      int64_t npix, int64_t runp, float* out) {
  for (int64_t o0 = 0; o0 < g.out_c; o0 += MR) {
    const int64_t no = min64(MR, g.out_c - o0);
    if (nt == NV * Vec::W && no == MR) {
      filter_rows_full_tile<MR, NV>(origin, at, dy + o0, g.out_c, npix, out + o0 * runp, runp);
      continue;
    }
    typename Vec::V acc[MR][NV];
    for (int j = 0; j < MR; ++j)
      for (int v = 0; v < NV; ++v) acc[j][v] = Vec::zero();
    for (int64_t s = 0; s < npix; ++s) {
      const float* src = origin[s] + at;
      typename Vec::V xv[NV];
      for (int v = 0; v < NV; ++v) {
        const int64_t left = nt - static_cast<int64_t>(v) * Vec::W;
        xv[v] = left >= Vec::W ? Vec::load(src + v * Vec::W)
                               : (left > 0 ? Vec::load_n(src + v * Vec::W, static_cast<int>(left)) : Vec::zero());
      }
      const float* d = dy + s * g.out_c + o0;
      for (int j = 0; j < MR; ++j) {
        const typename Vec::V a = Vec::set1(d[min64(j, no - 1)]);
        for (int v = 0; v < NV; ++v) acc[j][v] = Vec::fma(a, xv[v], acc[j][v]);
      }
    }
    for (int j = 0; j < no; ++j) {
      float* to = out + (o0 + j) * runp;
      for (int v = 0; v < NV; ++v) Vec::store(to + v * Vec::W, Vec::add(Vec::load(to + v * Vec::W), acc[j][v]));
    }
  }
}

// Vectors in the next part of a window row when `left` vectors remain: a whole tile's NV, except that
// no part is left with a single vector while two parts of two fit (NV + 1 vectors). A part of one vector
// takes twice the output channels per tile instead, so that it still keeps as many accumulators busy.
// The tiles then compute only the row's own vectors: 8 input channels × 5 taps are 5 AVX2 vectors, which
// tiles of 3 covered with 6 (and 10 with 12). Parts do not change any sum: each is over pixels in order.
template <int NV>
FVL_INLINE int row_part(int64_t left) {
  if (left <= NV) return static_cast<int>(left);
  return left == NV + 1 ? 2 : NV;
}

template <int MR, int NV>
void filter_rows_block(const ConvGeometry& g, const FilterRow& fr, const float* const* origin, const float* dy,
                       int64_t npix, int64_t runp, float* acc_out) {
  const int64_t run = fr.run;
  for (int64_t fy = 0; fy < g.filter_h; ++fy) {
    for (int64_t t0 = 0; t0 < run;) {
      const int nv = row_part<NV>((run - t0 + Vec::W - 1) / Vec::W);
      const int64_t nt = min64(static_cast<int64_t>(nv) * Vec::W, run - t0);
      const int64_t at = fy * fr.row_step + t0;
      float* out = acc_out + fy * g.out_c * runp + t0;
      switch (nv) {
        case 1: filter_rows_part<2 * MR, 1>(g, origin, at, nt, dy, npix, runp, out); break;
        case 2: filter_rows_part<MR, (NV >= 2 ? 2 : NV)>(g, origin, at, nt, dy, npix, runp, out); break;
        case 3: filter_rows_part<MR, (NV >= 3 ? 3 : NV)>(g, origin, at, nt, dy, npix, runp, out); break;
        default: filter_rows_part<MR, NV>(g, origin, at, nt, dy, npix, runp, out); break;
      }
      t0 += nt;
    }
  }
}

// `scratch`: room for kConvPixelBlock pointers. dy rows of pixels [p0, p1) are read in place.
void filter_rows_range(const ConvGeometry& g, const PaddedInput& in, const float* dy, int64_t runp, float* acc,
                       int64_t p0, int64_t p1, void* scratch) {
  const FilterRow fr = filter_row(g, in);
  const float** origin = static_cast<const float**>(scratch);
  PixelWalk walk(g, in, p0);
  for (int64_t p = p0; p < p1; p += kConvPixelBlock) {
    const int64_t npix = min64(kConvPixelBlock, p1 - p);
    for (int64_t s = 0; s < npix; ++s, walk.next()) origin[s] = walk.origin();
    filter_rows_block<Vec::kRowsMR, Vec::kRowsNV>(g, fr, origin, dy + p * g.out_c, npix, runp, acc);
  }
}

}  // namespace
}  // namespace fvl
