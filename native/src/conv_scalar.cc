// Portable tiles of the implicit-GEMM convolutions (conv_tiles.h): one channel per "vector", four
// channels by four pixels per tile. Compiled with the baseline flags; the compiler may vectorise it.
#include "common.h"

namespace fvl {
namespace {

struct Vec {
  using V = float;
  static constexpr int W = 1;
  // Tile of the filter gradient along window rows: output channels × vectors of the row.
  static constexpr int kRowsMR = 4;
  static constexpr int kRowsNV = 4;
  // Tile of the forward along output pixels: output channels × pixel vectors.
  static constexpr int kPixelsMR = 4;
  static constexpr int kPixelsNV = 4;
  // Tile of the filter gradient along output pixels: filter rows × output channels.
  static constexpr int kFilterMK = 2;
  static constexpr int kFilterMO = 2;
  static constexpr int kMaxNV = 4;
  template <int NV>
  static constexpr int mr() {
    return 4;
  }
  static FVL_INLINE V zero() { return 0.0f; }
  static FVL_INLINE V load(const float* p) { return *p; }
  static FVL_INLINE void store(float* p, V v) { *p = v; }
  static FVL_INLINE void store_n(float*, V, int) {}  // never called: W = 1 has no partial vectors
  static FVL_INLINE V load_n(const float*, int) { return 0.0f; }  // never called: W = 1
  // Lanes below n (1 ≤ n ≤ W) of a load.
  using M = bool;
  static FVL_INLINE M mask(int n) { return n > 0; }
  static FVL_INLINE V load_m(const float* p, M m) { return m ? *p : 0.0f; }
  static FVL_INLINE V set1(float x) { return x; }
  // rows[m] = channel m of one pixel → its MR channels at out (np ≤ 1).
  template <int MR>
  static FVL_INLINE void store_pixels(float* out, int64_t, const V* rows, int np) {
    if (np < 1) return;
    for (int m = 0; m < MR; ++m) out[m] = rows[m];
  }
  // a·b + c: the baseline has no FMA instruction, and std::fma would be a library call per term.
  static FVL_INLINE V fma(V a, V b, V c) { return a * b + c; }
  static FVL_INLINE V add(V a, V b) { return a + b; }
};

}  // namespace
}  // namespace fvl

#include "conv_tiles.h"

namespace fvl {
const ConvKernels kConvScalar = {"scalar", Vec::W, forward_range, backward_filter_range,
                                     filter_rows_range, Vec::kRowsNV * Vec::W,
                                     forward_pixels_range, Vec::kPixelsMR, Vec::kPixelsNV,
                                     filter_pixels_range};
}  // namespace fvl
