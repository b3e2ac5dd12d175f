// AVX2 + FMA tiles of the implicit-GEMM convolutions (conv_tiles.h): 8 channels per vector; 16 ymm
// registers hold up to 12 accumulators beside the filter vectors and one broadcast. Compiled with
// -mavx2 -mfma and reached only after cpu.cc has confirmed AVX2 and FMA support.
#include "common.h"

#if FVL_X86_64
#include <immintrin.h>

namespace fvl {
namespace {

struct Vec {
  using V = __m256;
  static constexpr int W = 8;
  // Tile of the filter gradient along window rows: output channels × vectors of the row.
  static constexpr int kRowsMR = 4;
  static constexpr int kRowsNV = 3;
  // Tile of the forward along output pixels: output channels × pixel vectors.
  static constexpr int kPixelsMR = 4;
  static constexpr int kPixelsNV = 3;
  // Tile of the filter gradient along output pixels: filter rows × output channels.
  static constexpr int kFilterMK = 2;
  static constexpr int kFilterMO = 4;
  static constexpr int kMaxNV = 3;
  template <int NV>
  static constexpr int mr() {
    return NV == 1 ? 12 : NV == 2 ? 6 : 4;
  }
  static FVL_INLINE V zero() { return _mm256_setzero_ps(); }
  static FVL_INLINE V load(const float* p) { return _mm256_loadu_ps(p); }
  static FVL_INLINE void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static FVL_INLINE void store_n(float* p, V v, int n) {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, v);
    for (int i = 0; i < n; ++i) p[i] = lanes[i];
  }
  static FVL_INLINE V load_n(const float* p, int n) {
    alignas(32) float lanes[8] = {};
    for (int i = 0; i < n; ++i) lanes[i] = p[i];
    return _mm256_load_ps(lanes);
  }
  // Lanes below n (1 ≤ n ≤ W) of a load.
  using M = __m256i;
  static FVL_INLINE M mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static FVL_INLINE V load_m(const float* p, M m) { return _mm256_maskload_ps(p, m); }
  static FVL_INLINE V set1(float x) { return _mm256_set1_ps(x); }
  static FVL_INLINE V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static FVL_INLINE V add(V a, V b) { return _mm256_add_ps(a, b); }
};

}  // namespace
}  // namespace fvl

#include "conv_tiles.h"

namespace fvl {
const ConvKernels kConvAvx2 = {"avx2", Vec::W, forward_range, backward_filter_range,
                                     filter_rows_range, Vec::kRowsNV * Vec::W,
                                     forward_pixels_range, Vec::kPixelsMR, Vec::kPixelsNV,
                                     filter_pixels_range};
}  // namespace fvl
#endif
