// faceverloss native engine: scalar pieces of the margin-softmax operator.
//
// Target transforms φ(cos θ) with their derivatives, line by line as in src/margin/target.ts (fp64),
// and a vectorisable fp32 exp for the log-sum-exp sweeps.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "margin.h"

namespace fvl {

// torch.nn.functional.normalize's eps: x / max(‖x‖, eps).
constexpr double kNormalizeEps = 1e-12;
// Smallest sin θ used as a divisor, so d acos/d cos stays finite at |cos| = 1.
constexpr double kMinSin = 1e-12;
constexpr double kPi = 3.14159265358979323846;

// One row of the embedding gradient: dx from dx̂ through x ↦ x / max(‖x‖, eps), with x̂ the normalised row
// and n its norm. Past the clamp the Jacobian is (g − x̂ (x̂·g)) / n; at or below eps the row was only divided
// by eps. Without normalisation dx is dx̂.
inline void normalization_gradient_row(bool normalize, const float* gx, const float* xh, double n, int64_t D,
                                       float* out) {
  if (!normalize) {
    std::memcpy(out, gx, static_cast<size_t>(D) * sizeof(float));
    return;
  }
  if (n <= kNormalizeEps) {
    for (int64_t d = 0; d < D; ++d) out[d] = static_cast<float>(gx[d] / kNormalizeEps);
    return;
  }
  double dot = 0;
  for (int64_t d = 0; d < D; ++d) dot += double(xh[d]) * gx[d];
  for (int64_t d = 0; d < D; ++d) out[d] = static_cast<float>((gx[d] - xh[d] * dot) / n);
}

struct TargetValue {
  double value = 0, dcos = 0, dm2 = 0, dm3 = 0;
};

inline double sin_from_cos(double c) { return std::sqrt(std::max(0.0, 1.0 - c * c)); }

// The angle map g and its derivative g′ (w.r.t. the angle).
inline void angle_map_at(AngleMapKind map, double angle, double* g, double* dg) {
  switch (map) {
    case AngleMapKind::Cos:
      *g = std::cos(angle);
      *dg = -std::sin(angle);
      return;
    case AngleMapKind::Linear:  // AirFace: (π − 2θ)/π
      *g = (kPi - 2.0 * angle) / kPi;
      *dg = -2.0 / kPi;
      return;
    case AngleMapKind::Quadratic: {  // QAMFace: (2π − θ)²
      const double u = 2.0 * kPi - angle;
      *g = u * u;
      *dg = -2.0 * u;
      return;
    }
  }
}

// The raw margin target g(m1·θ + m2) − m3, without any fallback.
inline TargetValue raw_angular(AngleMapKind map, double c, double m1, double m2, double m3) {
  if (map == AngleMapKind::Cos && m1 == 1.0) {
    if (m2 == 0.0) return {c - m3, 1.0, -sin_from_cos(c), -1.0};
    const double s = sin_from_cos(c), cm = std::cos(m2), sm = std::sin(m2);
    return {c * cm - s * sm - m3, cm + c * sm / std::max(s, kMinSin), -(s * cm + c * sm), -1.0};
  }
  const double theta = std::acos(std::min(1.0, std::max(-1.0, c)));
  double g = 0, dg = 0;
  angle_map_at(map, m1 * theta + m2, &g, &dg);
  const double dtheta = -1.0 / std::max(sin_from_cos(c), kMinSin);
  return {g - m3, dg * m1 * dtheta, dg, -1.0};
}

// The plain (margin-free) mapped value of a cosine and its derivative.
inline double plain_value(AngleMapKind map, double c, double* dcos) {
  if (map == AngleMapKind::Cos) {
    *dcos = 1.0;
    return c;
  }
  const TargetValue r = raw_angular(map, c, 1.0, 0.0, 0.0);
  *dcos = r.dcos;
  return r.value;
}

// Whether m1·θ + m2 < π, tested as cos θ > cos((π − m2)/m1) like the reference code's `cos > th`.
inline bool before_pi(double c, double m1, double m2) {
  const double limit = (kPi - m2) / m1;
  if (limit >= kPi) return true;
  return c > std::cos(limit);
}

// φ for an angular target with this row's margins, including the fallback branch.
inline TargetValue angular_target(const MarginConfig& t, double c, double m2, double m3) {
  const AngleMapKind map = t.angle_map;
  auto keep = [&]() {
    double d;
    const double v = plain_value(map, c, &d);
    return TargetValue{v, d, 0.0, 0.0};
  };
  switch (t.fallback) {
    case FallbackKind::None:
      return raw_angular(map, c, t.m1, m2, m3);
    case FallbackKind::Easy:
      return c > 0 ? raw_angular(map, c, t.m1, m2, m3) : keep();
    case FallbackKind::AboveMargin:
      return c > m3 ? raw_angular(map, c, t.m1, m2, m3) : keep();
    case FallbackKind::Thmm:
      if (before_pi(c, t.m1, m2)) return raw_angular(map, c, t.m1, m2, m3);
      // cos θ − m2·sin(π − m2): a line continuing the target past θ' = π (ArcFace reference code).
      return {c - std::sin(kPi - m2) * m2, 1.0, m2 * std::cos(kPi - m2) - std::sin(kPi - m2), 0.0};
    case FallbackKind::Am:
      if (before_pi(c, t.m1, m2)) return raw_angular(map, c, t.m1, m2, m3);
      return {c - t.fallback_margin, 1.0, 0.0, 0.0};
    case FallbackKind::Clip: {
      const double eps = t.clip_eps;
      const double theta = std::acos(std::min(1.0, std::max(-1.0, c)));
      const double angle = t.m1 * theta + m2;
      if (angle >= eps && angle <= kPi - eps) return raw_angular(map, c, t.m1, m2, m3);
      const double clipped = std::min(kPi - eps, std::max(eps, angle));
      double g = 0, dg = 0;
      angle_map_at(map, clipped, &g, &dg);
      return {g - m3, 0.0, 0.0, -1.0};
    }
  }
  return raw_angular(map, c, t.m1, m2, m3);
}

// SphereFace's ψ blended with cos θ: (ψ(θ) + λ·cos θ)/(1 + λ); k is piecewise constant.
inline TargetValue sphere_target(const MarginConfig& t, double c) {
  const double theta = std::acos(std::min(1.0, std::max(-1.0, c)));
  const double k = std::floor(t.sphere_m * theta / t.sphere_pi);
  const double sign = std::fmod(k, 2.0) == 0.0 ? 1.0 : -1.0;
  // Chebyshev T_m(c) = cos(m·acos c) and its derivative, by the recurrence.
  const int m = static_cast<int>(t.sphere_m);
  double t0 = 1, t1 = c, d0 = 0, d1 = 1;
  if (m == 0) t1 = 1, d1 = 0;
  for (int j = 1; j < m; ++j) {
    const double t2 = 2 * c * t1 - t0, d2 = 2 * t1 + 2 * c * d1 - d0;
    t0 = t1, t1 = t2, d0 = d1, d1 = d2;
  }
  const double psi = sign * t1 - 2 * k, dpsi = sign * d1;
  const double inv = 1.0 / (1.0 + t.sphere_lambda);
  return {c + (psi - c) * inv, 1.0 + (dpsi - 1.0) * inv, 0.0, 0.0};
}

// e^x in fp32 (relative error ~2e-7) as straight-line code the compiler can vectorise: x = n·ln2 + r,
// e^r by a degree-6 polynomial, 2^n through the exponent bits. Inputs are clamped to [−87.3, 88.7].
FVL_INLINE float fast_exp(float x) {
  x = std::min(88.7f, std::max(-87.3f, x));
  const float t = x * 1.44269504088896341f;
  // Round to nearest with the 1.5·2^23 trick (no SSE4.1 rounding instruction needed).
  const float n = (t + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693145751953125f;
  r = r - n * 1.428606765330187045e-06f;
  float p = 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

// Σ_j exp(v[j] − shift) with eight fp32 partial sums (vectorisable), accumulated into double.
inline double sum_exp_shifted(const float* v, int64_t n, float shift) {
  float acc[16] = {0};
  int64_t j = 0;
  double total = 0;
  for (; j + 16 <= n; j += 16) {
    for (int t = 0; t < 16; ++t) acc[t] += fast_exp(v[j + t] - shift);
    if ((j & 4095) == 4080) {  // flush now and then so fp32 partial sums never grow long
      for (int t = 0; t < 16; ++t) total += acc[t], acc[t] = 0.0f;
    }
  }
  for (; j < n; ++j) acc[0] += fast_exp(v[j] - shift);
  for (int t = 0; t < 16; ++t) total += acc[t];
  return total;
}

}  // namespace fvl
