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
  // rows[m] = channel m of 16 pixels → pixel j's MR channels at out + j·stride (j < np). The 8-channel
  // block of the pixel tiles is transposed in registers, two pixels per vector; others go through memory.
  template <int MR>
  static FVL_INLINE void store_pixels(float* out, int64_t stride, const V* rows, int np) {
    if (MR != 8) {
      alignas(64) float lanes[MR][W];
      for (int m = 0; m < MR; ++m) _mm512_store_ps(lanes[m], rows[m]);
      for (int j = 0; j < np; ++j)
        for (int m = 0; m < MR; ++m) out[j * stride + m] = lanes[m][j];
      return;
    }
    // Per 128-bit lane L: t = channels (0,1), (2,3), … of pixels 4L … 4L+3 interleaved in pairs; u[q] =
    // channels 0–3 of pixel 4L+q, u[4+q] = channels 4–7. (The masked forms, all lanes set, spare GCC's
    // false "uninitialised" warning about the plain ones' undefined pass-through.)
    constexpr __mmask16 all = 0xFFFF;
    V t[8], u[8];
    for (int m = 0; m < 8; m += 2) {
      t[m] = _mm512_mask_unpacklo_ps(rows[m], all, rows[m], rows[m + 1]);
      t[m + 1] = _mm512_mask_unpackhi_ps(rows[m], all, rows[m], rows[m + 1]);
    }
    for (int h = 0; h < 2; ++h) {
      V* const a = t + 4 * h;  // channels 4h … 4h + 3
      u[4 * h + 0] = _mm512_mask_shuffle_ps(a[0], all, a[0], a[2], 0x44);
      u[4 * h + 1] = _mm512_mask_shuffle_ps(a[0], all, a[0], a[2], 0xEE);
      u[4 * h + 2] = _mm512_mask_shuffle_ps(a[1], all, a[1], a[3], 0x44);
      u[4 * h + 3] = _mm512_mask_shuffle_ps(a[1], all, a[1], a[3], 0xEE);
    }
    // pq[L pair] = [u[q].L, u[4+q].L, u[q].L+1, u[4+q].L+1]: pixels 4L+q and 4L+4+q, whole.
    const __m512i first_lanes = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i last_lanes = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    for (int q = 0; q < 4; q += 2) {
      for (int half = 0; half < 2; ++half) {
        const __m512i idx = half == 0 ? first_lanes : last_lanes;
        const V p0 = _mm512_permutex2var_ps(u[q], idx, u[4 + q]);          // pixels b+q, b+4+q
        const V p1 = _mm512_permutex2var_ps(u[q + 1], idx, u[4 + q + 1]);  // pixels b+q+1, b+5+q
        const int b = 8 * half;
        const V lo = _mm512_mask_shuffle_f32x4(p0, all, p0, p1, 0x44);  // pixels b+q, b+q+1
        const V hi = _mm512_mask_shuffle_f32x4(p0, all, p0, p1, 0xEE);  // pixels b+4+q, b+5+q
        store_pair(out, stride, b + q, lo, np);
        store_pair(out, stride, b + 4 + q, hi, np);
      }
    }
  }
  // Pixels j and j + 1 (lanes 0–7, 8–15) to out + j·stride and out + (j + 1)·stride, those below np.
  static FVL_INLINE void store_pair(float* out, int64_t stride, int j, V v, int np) {
    if (j + 1 < np && stride == 8) {
      _mm512_storeu_ps(out + j * 8, v);
      return;
    }
    if (j < np) _mm512_mask_storeu_ps(out + j * stride, 0x00FF, v);
    if (j + 1 < np) _mm512_mask_storeu_ps(out + (j + 1) * stride - 8, 0xFF00, v);
  }
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
