// Portable micro-kernel, compiled with the project's default flags: SSE2 on x86-64, NEON on arm64.
// With GCC and Clang it is written with generic 4-float vectors (the compiler maps them to whatever
// the baseline offers); other compilers get plain loops to vectorise as they can.
#include "kernels.h"

namespace fvl {
namespace {

constexpr int MR = 4;
constexpr int NR = 8;

#if defined(__GNUC__) || defined(__clang__)

typedef float v4 __attribute__((vector_size(16)));

FVL_INLINE v4 load4(const float* p) {
  v4 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
FVL_INLINE void store4(float* p, v4 v) { __builtin_memcpy(p, &v, sizeof v); }

void ukr_scalar(int64_t kc, const float* FVL_RESTRICT a, const float* FVL_RESTRICT b, float* FVL_RESTRICT c,
                int64_t ldc, float alpha, float beta) {
  v4 acc[MR][2] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
    const v4 b0 = load4(b), b1 = load4(b + 4);
    for (int i = 0; i < MR; ++i) {
      const v4 ai = {a[i], a[i], a[i], a[i]};
      acc[i][0] += ai * b0;
      acc[i][1] += ai * b1;
    }
  }
  for (int i = 0; i < MR; ++i, c += ldc) {
    for (int h = 0; h < 2; ++h) {
      v4 r = acc[i][h] * alpha;
      if (beta != 0.0f) r += load4(c + 4 * h) * beta;
      store4(c + 4 * h, r);
    }
  }
}

#else

void ukr_scalar(int64_t kc, const float* FVL_RESTRICT a, const float* FVL_RESTRICT b, float* FVL_RESTRICT c,
                int64_t ldc, float alpha, float beta) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
    for (int i = 0; i < MR; ++i) {
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
    }
  }
  for (int i = 0; i < MR; ++i, c += ldc) {
    for (int j = 0; j < NR; ++j) c[j] = alpha * acc[i][j] + (beta == 0.0f ? 0.0f : beta * c[j]);
  }
}

#endif

// The peak probe (see kernels.h), on 4-float vectors as the micro-kernel above uses them: a multiply
// and an add where the baseline has no fused multiply-add.
double fma_probe(int64_t iterations, float* sink) {
  constexpr int kChains = 12, kLanes = 4;
  float acc[kChains][kLanes];
  for (int i = 0; i < kChains; ++i)
    for (int l = 0; l < kLanes; ++l) acc[i][l] = static_cast<float>(i);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i)
      for (int l = 0; l < kLanes; ++l) acc[i][l] = acc[i][l] * 0.999f + 0.001f;
  float sum = 0.0f;
  for (int i = 0; i < kChains; ++i)
    for (int l = 0; l < kLanes; ++l) sum += acc[i][l];
  *sink = sum;
  return 2.0 * kLanes * kChains * static_cast<double>(iterations);
}

}  // namespace

const SgemmKernel kSgemmScalar = {"scalar", Isa::Scalar, MR, NR, 256, 128, 2048,
                                  ukr_scalar, nullptr, nullptr, fma_probe, PanelOrder::KeepB};

}  // namespace fvl
