// AVX-512F tiles of the implicit-GEMM convolutions (conv_tiles.h): 16 channels per vector, and as many
// pixels per tile as keep 24–16 of the 32 zmm registers accumulating. Compiled with -mavx512f -mfma and
// reached only after cpu.cc has confirmed AVX-512F support.
#include "common.h"

#if FVL_X86_64
#include <immintrin.h>

namespace fvl {
namespace {

struct Vec {
  using V = __m512;
  static constexpr int W = 16;
  // Tile of the filter gradient along window rows: output channels × vectors of the row.
  static constexpr int kRowsMR = 8;
  static constexpr int kRowsNV = 3;
  // Tile of the forward along output pixels: output channels × pixel vectors.
  static constexpr int kPixelsMR = 8;
  static constexpr int kPixelsNV = 3;
  // Tile of the filter gradient along output pixels: filter rows × output channels.
  static constexpr int kFilterMK = 4;
  static constexpr int kFilterMO = 4;
  static constexpr int kMaxNV = 4;
  template <int NV>
  static constexpr int mr() {
    return NV == 1 ? 16 : NV == 2 ? 12 : NV == 3 ? 8 : 6;
  }
  static FVL_INLINE V zero() { return _mm512_setzero_ps(); }
  static FVL_INLINE V load(const float* p) { return _mm512_loadu_ps(p); }
  static FVL_INLINE void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static FVL_INLINE void store_n(float* p, V v, int n) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v);
  }
  static FVL_INLINE V load_n(const float* p, int n) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
  }
  // Lanes below n (1 ≤ n ≤ W) of a load.
  using M = __mmask16;
  static FVL_INLINE M mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static FVL_INLINE V load_m(const float* p, M m) { return _mm512_maskz_loadu_ps(m, p); }
  static FVL_INLINE V set1(float x) { return _mm512_set1_ps(x); }
  static FVL_INLINE V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static FVL_INLINE V add(V a, V b) { return _mm512_add_ps(a, b); }
};

}  // namespace
}  // namespace fvl

#include "conv_tiles.h"

namespace fvl {
const ConvKernels kConvAvx512 = {"avx512", Vec::W, forward_range, backward_filter_range,
                                     filter_rows_range, Vec::kRowsNV * Vec::W,
                                     forward_pixels_range, Vec::kPixelsMR, Vec::kPixelsNV,
                                     filter_pixels_range};
}  // namespace fvl
#endif
