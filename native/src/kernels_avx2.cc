// AVX2+FMA micro-kernel: the classic 6×16 tile. Twelve ymm accumulators, two B vectors and one
// broadcast fill 15 of the 16 registers; 12 FMAs per k step against 2 + 6 loads.
//
// This file is compiled with -mavx2 -mfma and is only reached after cpu.cc has confirmed that the CPU
// and the OS support AVX2 and FMA, so it must not include any header with inline code of its own.
#include "kernels.h"

#if FVL_X86_64
#include <immintrin.h>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the deliberately undefined source register inside some intrinsics as
// maybe-uninitialized: GCC bug 105593.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace fvl {
namespace {

constexpr int MR = 6;
constexpr int NV = 2;
constexpr int NR = 8 * NV;

void ukr_avx2(int64_t kc, const float* FVL_RESTRICT a, const float* FVL_RESTRICT b, float* FVL_RESTRICT c,
              int64_t ldc, float alpha, float beta) {
  __m256 acc[MR][NV];
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();
  }
  // kc >= 1 always (the driver never calls a kernel for an empty k range).
  do {
    __m256 bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_load_ps(b + 8 * v);
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += MR;
    b += NR;
  } while (--kc > 0);
  const __m256 va = _mm256_set1_ps(alpha);
  if (beta == 0.0f) {
    for (int i = 0; i < MR; ++i, c += ldc)
      for (int v = 0; v < NV; ++v) _mm256_storeu_ps(c + 8 * v, _mm256_mul_ps(va, acc[i][v]));
  } else if (beta == 1.0f) {  // accumulating over a later depth block: the common case
    for (int i = 0; i < MR; ++i, c += ldc)
      for (int v = 0; v < NV; ++v)
        _mm256_storeu_ps(c + 8 * v, _mm256_fmadd_ps(va, acc[i][v], _mm256_loadu_ps(c + 8 * v)));
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
    for (int i = 0; i < MR; ++i, c += ldc)
      for (int v = 0; v < NV; ++v) {
        const __m256 old = _mm256_loadu_ps(c + 8 * v);
        _mm256_storeu_ps(c + 8 * v, _mm256_fmadd_ps(va, acc[i][v], _mm256_mul_ps(vb, old)));
      }
  }
}

// Transposes the 8×8 block in r[0..7] in place: afterwards r[j] holds column j.
FVL_INLINE void transpose8x8(__m256 r[8]) {
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
    t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
  }
  for (int i = 0; i < 8; ++i) r[i] = t[i];
}

// Packing step for rows stored along k: dst[k*W + p] = src[p*ld + k], zero for w ≤ p < W. Works in
// 8×8 blocks (missing rows read as zero); the k tail goes element by element. When W is narrower
// than a vector (W = MR = 6), a full store spills into the start of the next k row, which the next
// store overwrites; only the strip's last row is written exactly. Partial blocks at p0 > 0 are always
// written exactly, since the row after them is already filled.
void pack_t(float* FVL_RESTRICT dst, const float* FVL_RESTRICT src, int64_t ld, int W, int w, int64_t kc) {
  __m256 r[8];
  const int64_t k_full = kc / 8 * 8;
  for (int p0 = 0; p0 < W; p0 += 8) {
    const int rows = w - p0 < 8 ? (w - p0 > 0 ? w - p0 : 0) : 8;
    const int lanes = W - p0 < 8 ? W - p0 : 8;
    for (int64_t k0 = 0; k0 < k_full; k0 += 8) {
      if (rows == 8) {
        // Eight strided streams are more than the hardware prefetcher follows well: ask for the line
        // eight blocks ahead in each row.
        for (int i = 0; i < 8; ++i) {
          _mm_prefetch(reinterpret_cast<const char*>(src + (p0 + i) * ld + k0 + 64), _MM_HINT_T0);
          r[i] = _mm256_loadu_ps(src + (p0 + i) * ld + k0);
        }
      } else {
        for (int i = 0; i < 8; ++i)
          r[i] = i < rows ? _mm256_loadu_ps(src + (p0 + i) * ld + k0) : _mm256_setzero_ps();
      }
      transpose8x8(r);
      for (int k = 0; k < 8; ++k) {
        float* d = dst + (k0 + k) * W + p0;
        if (lanes == 8 || (p0 == 0 && k0 + k + 1 < kc)) {
          _mm256_storeu_ps(d, r[k]);
        } else {
          alignas(32) float tmp[8];
          _mm256_store_ps(tmp, r[k]);
          for (int i = 0; i < lanes; ++i) d[i] = tmp[i];
        }
      }
    }
    for (int64_t k = k_full; k < kc; ++k)
      for (int i = 0; i < lanes; ++i) dst[k * W + p0 + i] = i < rows ? src[(p0 + i) * ld + k] : 0.0f;
  }
}

// Lane mask with the first `lanes` (0..8) lanes set: 8 − lanes floats into this table.
alignas(32) const int32_t kLaneMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

FVL_INLINE __m256i lane_mask(int lanes) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kLaneMask + 8 - lanes));
}

// Copy-shaped packing (see kernels.h), one source row at a time, in whole vectors: the portable loop
// compiles to a libc memcpy call per 16 (or 6) floats, which cost a tenth of the NN and TN products.
// A panel narrower than a vector (W = MR = 6 when A is stored transposed) is stored a full vector at a
// time: the two extra lanes land at the start of the panel's next row, written right after; only the
// last row is stored masked. Columns past n are loaded as zero.
void pack_n(float* FVL_RESTRICT dst, const float* FVL_RESTRICT src, int64_t ld, int W, int64_t n, int64_t kc) {
  const int64_t panels = (n + W - 1) / W;
  // B panels (W = 16) with no ragged edge, the common case: two whole vectors per panel and row.
  const bool whole = W == 2 * 8 && n % W == 0;
  for (int64_t k = 0; k < kc; ++k, src += ld) {
    // A row segment is only n floats before the stride jumps to the next row, too short a run for the
    // hardware prefetchers to pick up by themselves. For whole B panels (here rows of W or x̂, a chunk
    // of 128 columns or more) ask for the first and the last line of the row 16 ahead, and the
    // prefetchers fill in the lines between: asking for every line queues the requests up behind each
    // other. A panels (mc floats of rows far apart) do better with every line of the row 8 ahead.
    if (whole) {
      if (k + 16 < kc) {
        _mm_prefetch(reinterpret_cast<const char*>(src + 16 * ld), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(src + 16 * ld + n - 1), _MM_HINT_T0);
      }
      for (int64_t q = 0; q < panels; ++q) {
        float* d = dst + q * W * kc + k * W;
        _mm256_storeu_ps(d, _mm256_loadu_ps(src + q * W));
        _mm256_storeu_ps(d + 8, _mm256_loadu_ps(src + q * W + 8));
      }
      continue;
    }
    if (k + 8 < kc) {
      for (int64_t p = 0; p < n; p += 16)
        _mm_prefetch(reinterpret_cast<const char*>(src + 8 * ld + p), _MM_HINT_T0);
    }
    const bool last_row = k + 1 == kc;
    for (int64_t q = 0; q < panels; ++q) {
      float* d = dst + q * W * kc + k * W;
      const float* s = src + q * W;
      const int64_t left = n - q * W;
      for (int v = 0; v < W; v += 8) {
        const int lanes = W - v < 8 ? W - v : 8;
        const int64_t avail = left - v;
        const int valid = avail >= lanes ? lanes : (avail > 0 ? static_cast<int>(avail) : 0);
        // Eight floats readable: a plain load (a masked one costs an extra uop); past a six-wide panel's
        // edge its two extra lanes are spilled into the next row like the zeros of a masked load.
        const __m256 x = avail >= 8 ? _mm256_loadu_ps(s + v) : _mm256_maskload_ps(s + v, lane_mask(valid));
        if (lanes == 8 || !last_row) _mm256_storeu_ps(d + v, x);
        else _mm256_maskstore_ps(d + v, lane_mask(lanes), x);
      }
    }
  }
}

// The peak probe (see kernels.h). acc ← acc·a + b converges to 1, so the values stay normal.
double fma_probe(int64_t iterations, float* sink) {
  constexpr int kChains = 12;
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm256_add_ps(sum, acc[i]);
  *sink = _mm_cvtss_f32(_mm256_castps256_ps128(sum));
  return 2.0 * 8 * kChains * static_cast<double>(iterations);
}

}  // namespace

// 256-deep blocks: the kc×16 B micro-panel (16 KiB) stays in half of a 32 KiB L1, the size on most
// CPUs that stop at AVX2. On a larger L1 the driver goes deeper (max_depth in gemm.cc): 512 on a 48 KiB
// L1, where the cosine product's output is then written once and W is read in whole rows.
const SgemmKernel kSgemmAvx2 = {"avx2", Isa::Avx2, MR, NR, 256, 144, 4096,
                                ukr_avx2, pack_t, pack_n, fma_probe, PanelOrder::KeepB};

}  // namespace fvl
#endif
