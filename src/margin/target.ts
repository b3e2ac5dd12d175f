/**
 * Target transforms φ(cos θ) of the margin family, with their derivatives, in fp64.
 * One scalar function per kind so the TF.js and native paths can mirror it line by line.
 */
import type { AngleMap, AngularTarget, SphereTarget } from './spec.js';

/** Value of a target transform and its partial derivatives. */
export interface TargetValue {
  value: number;
  /** ∂φ/∂cos */
  dCos: number;
  /** ∂φ/∂m2 */
  dM2: number;
  /** ∂φ/∂m3 */
  dM3: number;
}

/** sin θ from cos θ, NaN-free for |cos| ≥ 1. */
export function sinFromCos(c: number): number {
  return Math.sqrt(Math.max(0, 1 - c * c));
}

/** The angle map g and its derivative g′ (w.r.t. the angle). */
export function angleMap(map: AngleMap, angle: number): { g: number; dg: number } {
  switch (map) {
    case 'cos':
      return { g: Math.cos(angle), dg: -Math.sin(angle) };
    case 'linear': // AirFace: (π − 2θ)/π
      return { g: (Math.PI - 2 * angle) / Math.PI, dg: -2 / Math.PI };
    case 'quadratic': {
      // QAMFace: (2π − θ)²
      const u = 2 * Math.PI - angle;
      return { g: u * u, dg: -2 * u };
    }
  }
}

/** Smallest sin θ used as a divisor, so d acos/d cos stays finite at |cos| = 1. */
const MIN_SIN = 1e-12;

/**
 * The raw margin target g(m1·θ + m2) − m3, without any fallback.
 * For the cosine map with m1 = 1 it uses cos θ·cos m2 − sin θ·sin m2 (and cos θ − m3 when m2 = 0, whose
 * derivative is exactly 1 even at |cos| = 1).
 */
export function rawAngular(map: AngleMap, c: number, m1: number, m2: number, m3: number): TargetValue {
  if (map === 'cos' && m1 === 1) {
    if (m2 === 0) return { value: c - m3, dCos: 1, dM2: -sinFromCos(c), dM3: -1 };
    const s = sinFromCos(c);
    const cm = Math.cos(m2);
    const sm = Math.sin(m2);
    return {
      value: c * cm - s * sm - m3,
      dCos: cm + (c * sm) / Math.max(s, MIN_SIN),
      dM2: -(s * cm + c * sm),
      dM3: -1,
    };
  }
  const theta = Math.acos(Math.min(1, Math.max(-1, c)));
  const { g, dg } = angleMap(map, m1 * theta + m2);
  const dTheta = -1 / Math.max(sinFromCos(c), MIN_SIN);
  return { value: g - m3, dCos: dg * m1 * dTheta, dM2: dg, dM3: -1 };
}

/** The plain (margin-free) mapped value of a cosine: what non-target entries start from. */
export function plainValue(map: AngleMap, c: number): { value: number; dCos: number } {
  if (map === 'cos') return { value: c, dCos: 1 };
  const r = rawAngular(map, c, 1, 0, 0);
  return { value: r.value, dCos: r.dCos };
}

/** φ for an angular target with per-row margins m2, m3, including the fallback branch. */
export function angularTarget(
  t: AngularTarget,
  map: AngleMap,
  c: number,
  m2: number,
  m3: number,
): TargetValue {
  const keep = (): TargetValue => {
    const p = plainValue(map, c);
    return { value: p.value, dCos: p.dCos, dM2: 0, dM3: 0 };
  };
  switch (t.fallback) {
    case 'none':
      return rawAngular(map, c, t.m1, m2, m3);
    case 'easy':
      return c > 0 ? rawAngular(map, c, t.m1, m2, m3) : keep();
    case 'above-margin':
      return c > m3 ? rawAngular(map, c, t.m1, m2, m3) : keep();
    case 'thmm':
      if (beforePi(c, t.m1, m2)) return rawAngular(map, c, t.m1, m2, m3);
      // cos θ − m2·sin(π − m2): a line continuing the target past θ' = π (ArcFace reference code).
      return {
        value: c - Math.sin(Math.PI - m2) * m2,
        dCos: 1,
        dM2: m2 * Math.cos(Math.PI - m2) - Math.sin(Math.PI - m2),
        dM3: 0,
      };
    case 'am':
      if (beforePi(c, t.m1, m2)) return rawAngular(map, c, t.m1, m2, m3);
      return { value: c - (t.fallbackMargin ?? 0), dCos: 1, dM2: 0, dM3: 0 };
    case 'clip': {
      const eps = t.clipEps ?? 1e-3;
      const theta = Math.acos(Math.min(1, Math.max(-1, c)));
      const angle = t.m1 * theta + m2;
      if (angle >= eps && angle <= Math.PI - eps) return rawAngular(map, c, t.m1, m2, m3);
      const clipped = Math.min(Math.PI - eps, Math.max(eps, angle));
      return { value: angleMap(map, clipped).g - m3, dCos: 0, dM2: 0, dM3: -1 };
    }
  }
}

/** Whether m1·θ + m2 < π, tested as cos θ > cos((π − m2)/m1) like the reference code's `cos > th`. */
function beforePi(c: number, m1: number, m2: number): boolean {
  const limit = (Math.PI - m2) / m1;
  if (limit >= Math.PI) return true;
  return c > Math.cos(limit);
}

/** Chebyshev polynomial T_m(x) = cos(m·acos x) and its derivative, for integer m ≥ 0. */
export function chebyshev(m: number, x: number): { value: number; d: number } {
  let t0 = 1;
  let t1 = x;
  let d0 = 0;
  let d1 = 1;
  if (m === 0) return { value: 1, d: 0 };
  for (let k = 1; k < m; k++) {
    const t2 = 2 * x * t1 - t0;
    const d2 = 2 * t1 + 2 * x * d1 - d0;
    t0 = t1;
    t1 = t2;
    d0 = d1;
    d1 = d2;
  }
  return { value: t1, d: d1 };
}

/** SphereFace's ψ blended with cos θ: (ψ(θ) + λ·cos θ)/(1 + λ). k is piecewise constant (no gradient). */
export function sphereTarget(t: SphereTarget, c: number): TargetValue {
  const theta = Math.acos(Math.min(1, Math.max(-1, c)));
  const k = Math.floor((t.m * theta) / t.pi);
  const sign = k % 2 === 0 ? 1 : -1;
  const cheb = chebyshev(t.m, c);
  const psi = sign * cheb.value - 2 * k;
  const dPsi = sign * cheb.d;
  const inv = 1 / (1 + t.lambda);
  // The reference computes cos + (ψ − cos)/(1 + λ); same value, same derivative.
  return { value: c + (psi - c) * inv, dCos: 1 + (dPsi - 1) * inv, dM2: 0, dM3: 0 };
}
