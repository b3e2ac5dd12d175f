// AVX-512F micro-kernel: MR rows × (16·NV) columns of C held in MR·NV zmm accumulators.
//
// Each k step loads NV vectors of B and broadcasts MR scalars of A, then issues MR·NV FMAs for those
// NV + MR loads. 12×32 keeps 24 accumulators in the 32 registers: enough independent FMA chains to
// cover the 4-cycle latency on two FMA pipes, with loads well under the load ports' budget. The
// packing routines below are here too, since the transposes need the same instruction set.
//
// This file is compiled with -mavx512f -mfma and is only reached after cpu.cc has confirmed that the
// CPU and the OS support AVX-512F, so it must not include any header with inline code of its own.
#include "kernels.h"

#if FVL_X86_64
#include <immintrin.h>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the deliberately undefined source register inside _mm512_unpacklo_ps and friends
// (_mm512_undefined_ps) as maybe-uninitialized: GCC bug 105593.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace fvl {
namespace {

template <int MR, int NV>
void ukr(int64_t kc, const float* FVL_RESTRICT a, const float* FVL_RESTRICT b, float* FVL_RESTRICT c,
         int64_t ldc, float alpha, float beta) {
  constexpr int NR = 16 * NV;
  __m512 acc[MR][NV];
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  }
  // kc >= 1 always (the driver never calls a kernel for an empty k range).
  do {
    __m512 bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + 16 * v);
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += MR;
    b += NR;
  } while (--kc > 0);
  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {
    for (int i = 0; i < MR; ++i, c += ldc)
      for (int v = 0; v < NV; ++v) _mm512_storeu_ps(c + 16 * v, _mm512_mul_ps(va, acc[i][v]));
  } else if (beta == 1.0f) {  // accumulating over a later depth block: the common case
    for (int i = 0; i < MR; ++i, c += ldc)
      for (int v = 0; v < NV; ++v)
        _mm512_storeu_ps(c + 16 * v, _mm512_fmadd_ps(va, acc[i][v], _mm512_loadu_ps(c + 16 * v)));
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
    for (int i = 0; i < MR; ++i, c += ldc)
      for (int v = 0; v < NV; ++v) {
        const __m512 old = _mm512_loadu_ps(c + 16 * v);
        _mm512_storeu_ps(c + 16 * v, _mm512_fmadd_ps(va, acc[i][v], _mm512_mul_ps(vb, old)));
      }
  }
}

// Transposes a 16×16 block held in r[0..15] (row i = r[i]) in place: afterwards r[j] holds column j.
FVL_INLINE void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // Each 128-bit lane now holds a 4×4 sub-block; gather lanes across registers.
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], _MM_SHUFFLE(2, 0, 2, 0));
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], _MM_SHUFFLE(3, 1, 3, 1));
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], _MM_SHUFFLE(2, 0, 2, 0));
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], _MM_SHUFFLE(3, 1, 3, 1));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], _MM_SHUFFLE(2, 0, 2, 0));
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], _MM_SHUFFLE(3, 1, 3, 1));
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], _MM_SHUFFLE(2, 0, 2, 0));
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], _MM_SHUFFLE(3, 1, 3, 1));
  }
}

// Packing step for rows stored along k (A not transposed, B transposed): dst[k*W + p] = src[p*ld + k],
// zero for w ≤ p < W. Works in 16×16 blocks; the scalar version costs as much as the products on the
// NT and NN shapes of a face head.
void pack_t(float* FVL_RESTRICT dst, const float* FVL_RESTRICT src, int64_t ld, int W, int w, int64_t kc) {
  __m512 r[16];
  for (int p0 = 0; p0 < W; p0 += 16) {
    const int rows = w - p0 < 16 ? (w - p0 > 0 ? w - p0 : 0) : 16;
    const int lanes = W - p0 < 16 ? W - p0 : 16;
    const __mmask16 store_mask = static_cast<__mmask16>((1u << lanes) - 1);
    for (int64_t k0 = 0; k0 < kc; k0 += 16) {
      const int64_t kn = kc - k0 < 16 ? kc - k0 : 16;
      const __mmask16 load_mask = static_cast<__mmask16>((1u << kn) - 1);
      if (rows == 16 && kn == 16) {
        // Sixteen strided streams are more than the hardware prefetcher follows well: ask for the
        // line four blocks ahead in each row.
        for (int i = 0; i < 16; ++i) {
          _mm_prefetch(reinterpret_cast<const char*>(src + (p0 + i) * ld + k0 + 64), _MM_HINT_T0);
          r[i] = _mm512_loadu_ps(src + (p0 + i) * ld + k0);
        }
      } else {
        for (int i = 0; i < 16; ++i) {
          r[i] = i < rows ? _mm512_maskz_loadu_ps(load_mask, src + (p0 + i) * ld + k0)
                          : _mm512_setzero_ps();
        }
      }
      transpose16x16(r);
      if (lanes == 16) {
        for (int64_t k = 0; k < kn; ++k) _mm512_storeu_ps(dst + (k0 + k) * W + p0, r[k]);
      } else {
        for (int64_t k = 0; k < kn; ++k) _mm512_mask_storeu_ps(dst + (k0 + k) * W + p0, store_mask, r[k]);
      }
    }
  }
}

// Copy-shaped packing (see kernels.h), one source row at a time. Panel widths that are not a multiple
// of 16 (MR = 12 when A is stored transposed) and the ragged end of the row use masked moves.
void pack_n(float* FVL_RESTRICT dst, const float* FVL_RESTRICT src, int64_t ld, int W, int64_t n, int64_t kc) {
  const int64_t panels = (n + W - 1) / W;
  for (int64_t k = 0; k < kc; ++k, src += ld) {
    // A row segment is only n floats before the stride jumps to the next row; prefetch the row eight
    // ahead line by line, since the hardware prefetcher gives up on such short runs.
    if (k + 8 < kc) {
      for (int64_t p = 0; p < n; p += 16)
        _mm_prefetch(reinterpret_cast<const char*>(src + 8 * ld + p), _MM_HINT_T0);
    }
    for (int64_t q = 0; q < panels; ++q) {
      float* d = dst + q * W * kc + k * W;
      const float* s = src + q * W;
      for (int v = 0; v < W; v += 16) {
        const int lanes = W - v < 16 ? W - v : 16;
        const int64_t left = n - q * W - v;
        const int valid = left >= lanes ? lanes : (left > 0 ? static_cast<int>(left) : 0);
        if (valid == 16) {
          _mm512_storeu_ps(d + v, _mm512_loadu_ps(s + v));
        } else {
          const __m512 x = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << valid) - 1), s + v);
          _mm512_mask_storeu_ps(d + v, static_cast<__mmask16>((1u << lanes) - 1), x);
        }
      }
    }
  }
}

// 12×32: 24 accumulators. On the Zen 5 core we tuned on, 14×32, 8×48 and 6×64 reach the same speed
// with panels in L1; 12 rows waste the least on a batch of 256 (22 panels, the last 4 rows short).
// On Sapphire Rapids too the shapes come within a per cent or two of each other in the GEMM. There,
// any k loop with ten or more loads per 24 FMAs (every shape that fits the registers) runs at about
// 86-92 % of the register-only FMA rate, even with everything in L1: the ceiling of this kernel.
// Unrolling, software prefetch of the A and B panels and spreading the C prefetches changed nothing
// measurable.
constexpr int MR = 12;
constexpr int NV = 2;

// The peak probe (see kernels.h). acc ← acc·a + b converges to 1, so the values stay normal.
double fma_probe(int64_t iterations, float* sink) {
  constexpr int kChains = 12;
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  *sink = _mm512_cvtss_f32(sum);
  return 2.0 * 16 * kChains * static_cast<double>(iterations);
}

}  // namespace

const SgemmKernel kSgemmAvx512 = {"avx512", Isa::Avx512, MR, 16 * NV, 512, 240, 4096,
                                  ukr<MR, NV>, pack_t, pack_n, fma_probe, PanelOrder::KeepA};

}  // namespace fvl
#endif
