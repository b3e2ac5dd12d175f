// faceverloss native engine: AVX-512 sweeps of the margin-softmax rows (the common case: plain
// negatives on the cosine map), selected at run time like the GEMM kernels.
//
// Only these functions are compiled for AVX-512, through a per-function target attribute: the file
// includes nothing but common.h, margin_simd.h and <immintrin.h>, so no standard-library code is ever
// instantiated with AVX-512 enabled.
#include "margin_simd.h"

#if FVL_MARGIN_SIMD
#include <immintrin.h>

// GCC 12 reports the intrinsics' own undefined pass-through operands of masked loads as uninitialised.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace fvl {

namespace {

#define FVL_AVX512 __attribute__((target("avx512f,fma")))

// e^x, the polynomial of fast_exp in margin_math.h, 16 lanes at a time.
FVL_AVX512 inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_set1_ps(88.7f), _mm512_max_ps(_mm512_set1_ps(-87.3f), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.3981999507e-3f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

FVL_AVX512 inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
}

// Clamped cosine of 16 entries (srow·cs, or srow alone for sub-centres) and the mask of entries
// outside the clamp.
FVL_AVX512 inline __m512 cos16(const float* srow, const float* cs, int64_t j, __mmask16 m, __m512 lim,
                               __m512* raw_out) {
  __m512 raw = _mm512_maskz_loadu_ps(m, srow + j);
  if (cs) raw = _mm512_mul_ps(raw, _mm512_maskz_loadu_ps(m, cs + j));
  *raw_out = raw;
  return _mm512_min_ps(lim, _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), lim), raw));
}

FVL_AVX512 void plain_logits_avx512(const float* srow, const float* cs, const float* bias, int64_t C, float s,
                                    float clamp, float* buf) {
  const __m512 vs = _mm512_set1_ps(s), lim = _mm512_set1_ps(clamp);
  for (int64_t j = 0; j < C; j += 16) {
    const __mmask16 m = tail_mask(C - j);
    __m512 raw;
    const __m512 x = cos16(srow, cs, j, m, lim, &raw);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + j) : _mm512_setzero_ps();
    _mm512_mask_storeu_ps(buf + j, m, _mm512_fmadd_ps(vs, x, b));
  }
}

FVL_AVX512 float max_avx512(const float* v, int64_t n) {
  __m512 mx = _mm512_set1_ps(-__builtin_inff());
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    mx = _mm512_mask_max_ps(mx, m, mx, _mm512_maskz_loadu_ps(m, v + j));
  }
  return _mm512_reduce_max_ps(mx);
}

FVL_AVX512 double sum_exp_avx512(const float* v, int64_t n, float shift) {
  const __m512 sh = _mm512_set1_ps(shift);
  __m512 acc = _mm512_setzero_ps();
  double total = 0;
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, v + j), sh));
    acc = _mm512_mask_add_ps(acc, m, acc, e);
    if ((j & 1023) == 1008) {  // keep fp32 partial sums short
      total += _mm512_reduce_add_ps(acc);
      acc = _mm512_setzero_ps();
    }
  }
  return total + _mm512_reduce_add_ps(acc);
}

FVL_AVX512 double plain_backward_avx512(float* srow, const float* cs, const float* bias, int64_t C, float s,
                                        float clamp, float shift, float w, float* g_out) {
  const __m512 vs = _mm512_set1_ps(s), lim = _mm512_set1_ps(clamp), sh = _mm512_set1_ps(shift),
               vw = _mm512_set1_ps(w), nlim = _mm512_set1_ps(-clamp);
  __m512 acc = _mm512_setzero_ps();
  double ds = 0;
  for (int64_t j = 0; j < C; j += 16) {
    const __mmask16 m = tail_mask(C - j);
    __m512 raw;
    const __m512 x = cos16(srow, cs, j, m, lim, &raw);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + j) : _mm512_setzero_ps();
    const __m512 g = _mm512_mul_ps(vw, exp16(_mm512_sub_ps(_mm512_fmadd_ps(vs, x, b), sh)));
    acc = _mm512_mask3_fmadd_ps(g, x, acc, m);
    // dL/dcos = g·s inside the clamp, 0 outside (bounds included, as torch.clamp).
    const __mmask16 inside = _mm512_cmp_ps_mask(raw, lim, _CMP_LE_OQ) & _mm512_cmp_ps_mask(raw, nlim, _CMP_GE_OQ);
    __m512 dc = _mm512_maskz_mul_ps(inside, g, vs);
    if (cs) dc = _mm512_mul_ps(dc, _mm512_maskz_loadu_ps(m, cs + j));
    _mm512_mask_storeu_ps(srow + j, m, dc);
    if (g_out) _mm512_mask_storeu_ps(g_out + j, m, g);
    if ((j & 1023) == 1008) {
      ds += _mm512_reduce_add_ps(acc);
      acc = _mm512_setzero_ps();
    }
  }
  return ds + _mm512_reduce_add_ps(acc);
}

FVL_AVX512 double sum_squares_avx512(const float* v, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    const __m512 x = _mm512_maskz_loadu_ps(m, v + j);
    acc = _mm512_fmadd_ps(x, x, acc);
  }
  return _mm512_reduce_add_ps(acc);
}

FVL_AVX512 void dot_pair_avx512(const float* w, const float* p, int64_t n, double* wp, double* ww) {
  __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    const __m512 x = _mm512_maskz_loadu_ps(m, w + j);
    a = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, p + j), a);
    b = _mm512_fmadd_ps(x, x, b);
  }
  *wp = _mm512_reduce_add_ps(a);
  *ww = _mm512_reduce_add_ps(b);
}

FVL_AVX512 void sgd_row_avx512(const float* g, float* w, float* v, int64_t n, float pk, float lr, float mu,
                               float wd, float proj) {
  const __m512 vpk = _mm512_set1_ps(pk), vlr = _mm512_set1_ps(lr), vmu = _mm512_set1_ps(mu),
               vwd = _mm512_set1_ps(wd), vproj = _mm512_set1_ps(proj);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    const __m512 wj = _mm512_maskz_loadu_ps(m, w + j);
    const __m512 param = _mm512_mul_ps(wj, vpk);
    __m512 gd = _mm512_fnmadd_ps(vproj, wj, _mm512_maskz_loadu_ps(m, g + j));
    gd = _mm512_fmadd_ps(vwd, param, gd);
    if (v) {
      gd = _mm512_fmadd_ps(vmu, _mm512_maskz_loadu_ps(m, v + j), gd);
      _mm512_mask_storeu_ps(v + j, m, gd);
    }
    _mm512_mask_storeu_ps(w + j, m, _mm512_fnmadd_ps(vlr, gd, param));
  }
}

}  // namespace

const RowSweeps kRowSweepsAvx512 = {plain_logits_avx512, max_avx512,      sum_exp_avx512, plain_backward_avx512,
                                    sum_squares_avx512,  dot_pair_avx512, sgd_row_avx512};

}  // namespace fvl

#endif  // FVL_MARGIN_SIMD
