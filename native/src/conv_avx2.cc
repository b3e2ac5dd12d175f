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
  // rows[m] = channel m of 8 pixels → pixel j's MR channels at out + j·stride (j < np). The 4-channel
  // block of the pixel tiles is transposed in registers; others go through memory.
  template <int MR>
  static FVL_INLINE void store_pixels(float* out, int64_t stride, const V* rows, int np) {
    if (MR != 4) {
      alignas(32) float lanes[MR][W];
      for (int m = 0; m < MR; ++m) _mm256_store_ps(lanes[m], rows[m]);
      for (int j = 0; j < np; ++j)
        for (int m = 0; m < MR; ++m) out[j * stride + m] = lanes[m][j];
      return;
    }
    // Per 128-bit lane L: u[q] = the 4 channels of pixel 4L + q.
    const V t0 = _mm256_unpacklo_ps(rows[0], rows[1]), t1 = _mm256_unpackhi_ps(rows[0], rows[1]);
    const V t2 = _mm256_unpacklo_ps(rows[2], rows[3]), t3 = _mm256_unpackhi_ps(rows[2], rows[3]);
    const V u[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xEE), _mm256_shuffle_ps(t1, t3, 0x44),
                    _mm256_shuffle_ps(t1, t3, 0xEE)};
    for (int q = 0; q < 4; ++q) {
      if (q < np) _mm_storeu_ps(out + q * stride, _mm256_castps256_ps128(u[q]));
      if (4 + q < np) _mm_storeu_ps(out + (4 + q) * stride, _mm256_extractf128_ps(u[q], 1));
    }
  }
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
