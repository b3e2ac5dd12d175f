// faceverloss native engine: AVX2 + FMA sweeps of the margin-softmax rows, the same functions as
// margin_simd.cc eight lanes at a time, for CPUs without AVX-512.
//
// Compiled through per-function target attributes, and the file includes nothing but common.h,
// margin_simd.h and <immintrin.h>, so no standard-library code is ever instantiated with AVX2 enabled.
// Row tails use masked loads and stores, so every entry goes through the same arithmetic.
#include "margin_simd.h"

#if FVL_MARGIN_SIMD
#include <immintrin.h>

namespace fvl {

namespace {

#define FVL_AVX2 __attribute__((target("avx2,fma")))

// e^x, the polynomial of fast_exp in margin_math.h, 8 lanes at a time. 2^n goes in through the exponent
// bits in one step, as in fast_exp (n ≥ −126 at the lower clamp, so the scale is always normal): the
// sweeps only ever take x ≤ 0 (logits minus their maximum or log-sum-exp); above 88.38 the result is
// infinite, as fast_exp's. n's integer value is read off
// n + 1.5·2^23, whose low mantissa bits hold it: one addition instead of a two-uop conversion.
FVL_AVX2 inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(88.7f), _mm256_max_ps(_mm256_set1_ps(-87.3f), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
  __m256 p = _mm256_set1_ps(1.3981999507e-3f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // bits(n + 1.5·2^23) − bits(1.5·2^23) = n, exactly (n is a whole number below 2^22 in size).
  const __m256i n_plus_magic = _mm256_castps_si256(_mm256_add_ps(n, _mm256_set1_ps(12582912.0f)));
  const __m256i biased = _mm256_sub_epi32(n_plus_magic, _mm256_set1_epi32(0x4B400000 - 127));
  return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23)));
}

// Lanes j … j+7 that are below n (all of them away from the row's end).
FVL_AVX2 inline __m256i tail_mask(int64_t left) {
  const int32_t k = left >= 8 ? 8 : static_cast<int32_t>(left);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The lanes of one step: all eight away from the row's end, where plain loads and stores serve (AVX2's
// masked ones take an extra arithmetic uop each, which the exp-bound sweeps feel); the mask at the tail.
struct Lanes {
  __m256i m;
  bool full;
};

FVL_AVX2 inline Lanes tail(int64_t left) { return {tail_mask(left), left >= 8}; }

FVL_AVX2 inline __m256 load(const float* p, Lanes l) { return l.full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, l.m); }
FVL_AVX2 inline void store(float* p, Lanes l, __m256 v) {
  if (l.full) _mm256_storeu_ps(p, v);
  else _mm256_maskstore_ps(p, l.m, v);
}
FVL_AVX2 inline __m256 keep(Lanes l, __m256 v) { return l.full ? v : _mm256_and_ps(_mm256_castsi256_ps(l.m), v); }

FVL_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

FVL_AVX2 inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Clamped cosine of 8 entries (srow·cs, or srow alone for sub-centres); the raw value in *raw_out.
FVL_AVX2 inline __m256 cos8(const float* srow, const float* cs, int64_t j, Lanes m, __m256 lim, __m256* raw_out) {
  __m256 raw = load(srow + j, m);
  if (cs) raw = _mm256_mul_ps(raw, load(cs + j, m));
  *raw_out = raw;
  return _mm256_min_ps(lim, _mm256_max_ps(_mm256_sub_ps(_mm256_setzero_ps(), lim), raw));
}

FVL_AVX2 void plain_logits_avx2(const float* srow, const float* cs, const float* bias, int64_t C, float s,
                                float clamp, float* buf) {
  const __m256 vs = _mm256_set1_ps(s), lim = _mm256_set1_ps(clamp);
  for (int64_t j = 0; j < C; j += 8) {
    const Lanes m = tail(C - j);
    __m256 raw;
    const __m256 x = cos8(srow, cs, j, m, lim, &raw);
    const __m256 b = bias ? load(bias + j, m) : _mm256_setzero_ps();
    store(buf + j, m, _mm256_fmadd_ps(vs, x, b));
  }
}

FVL_AVX2 float max_avx2(const float* v, int64_t n) {
  const __m256 ninf = _mm256_set1_ps(-__builtin_inff());
  __m256 mx = ninf;
  for (int64_t j = 0; j < n; j += 8) {
    const Lanes m = tail(n - j);
    mx = _mm256_max_ps(mx, m.full ? _mm256_loadu_ps(v + j) : _mm256_blendv_ps(ninf, load(v + j, m), _mm256_castsi256_ps(m.m)));
  }
  return hmax(mx);
}

FVL_AVX2 double sum_exp_avx2(const float* v, int64_t n, float shift) {
  const __m256 sh = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  double total = 0;
  for (int64_t j = 0; j < n; j += 8) {
    const Lanes m = tail(n - j);
    acc = _mm256_add_ps(acc, keep(m, exp8(_mm256_sub_ps(load(v + j, m), sh))));
    if ((j & 1023) == 1016) {  // keep fp32 partial sums short
      total += hsum(acc);
      acc = _mm256_setzero_ps();
    }
  }
  return total + hsum(acc);
}

FVL_AVX2 double plain_backward_avx2(float* srow, const float* cs, const float* bias, int64_t C, float s,
                                    float clamp, float shift, float w, float* g_out) {
  const __m256 vs = _mm256_set1_ps(s), lim = _mm256_set1_ps(clamp), sh = _mm256_set1_ps(shift),
               vw = _mm256_set1_ps(w), nlim = _mm256_set1_ps(-clamp);
  __m256 acc = _mm256_setzero_ps();
  double ds = 0;
  for (int64_t j = 0; j < C; j += 8) {
    const Lanes m = tail(C - j);
    __m256 raw;
    const __m256 x = cos8(srow, cs, j, m, lim, &raw);
    const __m256 b = bias ? load(bias + j, m) : _mm256_setzero_ps();
    const __m256 g = keep(m, _mm256_mul_ps(vw, exp8(_mm256_sub_ps(_mm256_fmadd_ps(vs, x, b), sh))));
    acc = _mm256_fmadd_ps(g, x, acc);
    // dL/dcos = g·s inside the clamp, 0 outside (bounds included, as torch.clamp).
    const __m256 inside = _mm256_and_ps(_mm256_cmp_ps(raw, lim, _CMP_LE_OQ), _mm256_cmp_ps(raw, nlim, _CMP_GE_OQ));
    __m256 dc = _mm256_and_ps(inside, _mm256_mul_ps(g, vs));
    if (cs) dc = _mm256_mul_ps(dc, load(cs + j, m));
    store(srow + j, m, dc);
    if (g_out) store(g_out + j, m, g);
    if ((j & 1023) == 1016) {
      ds += hsum(acc);
      acc = _mm256_setzero_ps();
    }
  }
  return ds + hsum(acc);
}

FVL_AVX2 double sum_squares_avx2(const float* v, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; j += 8) {
    const __m256 x = load(v + j, tail(n - j));
    acc = _mm256_fmadd_ps(x, x, acc);
  }
  return hsum(acc);
}

FVL_AVX2 void dot_pair_avx2(const float* w, const float* p, int64_t n, double* wp, double* ww) {
  __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; j += 8) {
    const Lanes m = tail(n - j);
    const __m256 x = load(w + j, m);
    a = _mm256_fmadd_ps(x, load(p + j, m), a);
    b = _mm256_fmadd_ps(x, x, b);
  }
  *wp = hsum(a);
  *ww = hsum(b);
}

FVL_AVX2 void sgd_row_avx2(const float* g, float* w, float* v, int64_t n, float pk, float lr, float mu, float wd,
                           float proj) {
  const __m256 vpk = _mm256_set1_ps(pk), vlr = _mm256_set1_ps(lr), vmu = _mm256_set1_ps(mu),
               vwd = _mm256_set1_ps(wd), vproj = _mm256_set1_ps(proj);
  for (int64_t j = 0; j < n; j += 8) {
    const Lanes m = tail(n - j);
    const __m256 wj = load(w + j, m);
    const __m256 param = _mm256_mul_ps(wj, vpk);
    __m256 gd = _mm256_fnmadd_ps(vproj, wj, load(g + j, m));
    gd = _mm256_fmadd_ps(vwd, param, gd);
    if (v) {
      gd = _mm256_fmadd_ps(vmu, load(v + j, m), gd);
      store(v + j, m, gd);
    }
    store(w + j, m, _mm256_fnmadd_ps(vlr, gd, param));
  }
}

}  // namespace

const RowSweeps kRowSweepsAvx2 = {plain_logits_avx2, max_avx2,      sum_exp_avx2, plain_backward_avx2,
                                  sum_squares_avx2,  dot_pair_avx2, sgd_row_avx2};

}  // namespace fvl

#endif  // FVL_MARGIN_SIMD
