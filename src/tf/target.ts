/**
 * Target transforms φ(cos θ) and their partial derivatives as TF.js ops, mirroring
 * `src/margin/target.ts` line by line. Every function works element-wise on tensors of any (broadcast)
 * shape, and is only ever called inside the margin's custom gradient: nothing here is differentiated by
 * autograd, so branches may use comparison ops freely.
 */
import * as tf from '@tensorflow/tfjs';
import type { AngleMap, AngularTarget, SphereTarget } from '../margin/spec.js';

/** Value of a target transform and its partial derivatives (tensors of one shape). */
export interface TfTargetValue {
  value: tf.Tensor;
  dCos: tf.Tensor;
  dM2: tf.Tensor;
  dM3: tf.Tensor;
}

/** Smallest sin θ used as a divisor, as in the fp64 reference. */
const MIN_SIN = 1e-12;

/** sin θ from cos θ, NaN-free for |cos| ≥ 1. */
export function sinFromCos(c: tf.Tensor): tf.Tensor {
  return tf.sqrt(tf.relu(tf.sub(1, tf.square(c))));
}

function angleOf(c: tf.Tensor): tf.Tensor {
  return tf.acos(tf.clipByValue(c, -1, 1));
}

/**
 * θ and sin θ of the cosines a transform is applied to, when known more accurately than from the fp32
 * cosine itself (near |cos| = 1, 1 − cos² keeps few correct digits in fp32).
 */
export interface Trig {
  /** The angle θ ∈ [0, π], in radians. */
  theta: tf.Tensor;
  /** sin θ (never negative). */
  sin: tf.Tensor;
}

/** θ and sin θ from the cosine alone. */
export function trigOf(c: tf.Tensor): Trig {
  return { theta: angleOf(c), sin: sinFromCos(c) };
}

/** The angle map g and its derivative g′ w.r.t. the angle. */
export function angleMap(map: AngleMap, angle: tf.Tensor): { g: tf.Tensor; dg: tf.Tensor } {
  switch (map) {
    case 'cos':
      return { g: tf.cos(angle), dg: tf.neg(tf.sin(angle)) };
    case 'linear':
      return {
        g: tf.div(tf.sub(Math.PI, tf.mul(2, angle)), Math.PI),
        dg: tf.fill(angle.shape, -2 / Math.PI),
      };
    case 'quadratic': {
      const u = tf.sub(2 * Math.PI, angle);
      return { g: tf.square(u), dg: tf.mul(-2, u) };
    }
  }
}

function broadcastAll(v: TfTargetValue, shape: number[]): TfTargetValue {
  return {
    value: tf.broadcastTo(v.value, shape),
    dCos: tf.broadcastTo(v.dCos, shape),
    dM2: tf.broadcastTo(v.dM2, shape),
    dM3: tf.broadcastTo(v.dM3, shape),
  };
}

/** The raw margin target g(m1·θ + m2) − m3 without fallback (see the fp64 `rawAngular`). */
export function rawAngular(
  map: AngleMap,
  c: tf.Tensor,
  m1: number,
  m2: tf.Tensor | number,
  m3: tf.Tensor | number,
  trig?: Trig,
): TfTargetValue {
  const shape = tf.add(c, tf.add(m2, m3)).shape;
  const s = trig ? trig.sin : sinFromCos(c);
  if (map === 'cos' && m1 === 1) {
    // For m2 = 0 these reduce exactly to cos − m3 with derivative 1, as the reference's special case.
    const cm = tf.cos(m2);
    const sm = tf.sin(m2);
    return broadcastAll(
      {
        value: tf.sub(tf.sub(tf.mul(c, cm), tf.mul(s, sm)), m3),
        dCos: tf.add(cm, tf.div(tf.mul(c, sm), tf.maximum(s, MIN_SIN))),
        dM2: tf.neg(tf.add(tf.mul(s, cm), tf.mul(c, sm))),
        dM3: tf.fill(shape, -1),
      },
      shape,
    );
  }
  const theta = trig ? trig.theta : angleOf(c);
  const { g, dg } = angleMap(map, tf.add(tf.mul(m1, theta), m2));
  const dTheta = tf.div(-1, tf.maximum(s, MIN_SIN));
  return broadcastAll(
    { value: tf.sub(g, m3), dCos: tf.mul(tf.mul(dg, m1), dTheta), dM2: dg, dM3: tf.fill(shape, -1) },
    shape,
  );
}

/** The plain (margin-free) mapped value of cosines and its derivative. */
export function plainValue(map: AngleMap, c: tf.Tensor): { value: tf.Tensor; dCos: tf.Tensor } {
  if (map === 'cos') return { value: c, dCos: tf.onesLike(c) };
  const r = rawAngular(map, c, 1, 0, 0);
  return { value: r.value, dCos: r.dCos };
}

/** Element-wise choice between two target values. */
function choose(mask: tf.Tensor, a: TfTargetValue, b: TfTargetValue): TfTargetValue {
  const m = tf.cast(mask, 'bool');
  return {
    value: tf.where(m, a.value, b.value),
    dCos: tf.where(m, a.dCos, b.dCos),
    dM2: tf.where(m, a.dM2, b.dM2),
    dM3: tf.where(m, a.dM3, b.dM3),
  };
}

/** Whether m1·θ + m2 < π, tested as cos θ > cos((π − m2)/m1) like the reference code's `cos > th`. */
function beforePi(c: tf.Tensor, m1: number, m2: tf.Tensor): tf.Tensor {
  const limit = tf.div(tf.sub(Math.PI, m2), m1);
  return tf.logicalOr(tf.greaterEqual(limit, Math.PI), tf.greater(c, tf.cos(limit)));
}

/** φ for an angular target with per-row margins m2, m3 (tensors broadcastable to c), with fallback. */
export function angularTarget(
  t: AngularTarget,
  map: AngleMap,
  c: tf.Tensor,
  m2: tf.Tensor,
  m3: tf.Tensor,
  trig: Trig = trigOf(c),
): TfTargetValue {
  const raw = rawAngular(map, c, t.m1, m2, m3, trig);
  const shape = raw.value.shape;
  const zero = tf.zeros(shape);
  const one = tf.ones(shape);
  const keep = (): TfTargetValue => {
    const p = map === 'cos' ? plainValue(map, c) : rawAngular(map, c, 1, 0, 0, trig);
    return {
      value: tf.broadcastTo(p.value, shape),
      dCos: tf.broadcastTo(p.dCos, shape),
      dM2: zero,
      dM3: zero,
    };
  };
  const cb = tf.broadcastTo(c, shape);
  switch (t.fallback) {
    case 'none':
      return raw;
    case 'easy':
      return choose(tf.greater(cb, 0), raw, keep());
    case 'above-margin':
      return choose(tf.greater(cb, m3), raw, keep());
    case 'thmm': {
      // cos θ − m2·sin(π − m2): a line continuing the target past θ' = π (ArcFace reference code).
      const sinPm = tf.sin(tf.sub(Math.PI, m2));
      const line: TfTargetValue = {
        value: tf.broadcastTo(tf.sub(c, tf.mul(sinPm, m2)), shape),
        dCos: one,
        dM2: tf.broadcastTo(tf.sub(tf.mul(m2, tf.cos(tf.sub(Math.PI, m2))), sinPm), shape),
        dM3: zero,
      };
      return choose(beforePi(cb, t.m1, m2), raw, line);
    }
    case 'am': {
      const line: TfTargetValue = {
        value: tf.sub(cb, t.fallbackMargin ?? 0),
        dCos: one,
        dM2: zero,
        dM3: zero,
      };
      return choose(beforePi(cb, t.m1, m2), raw, line);
    }
    case 'clip': {
      const eps = t.clipEps ?? 1e-3;
      const angle = tf.add(tf.mul(t.m1, trig.theta), m2);
      const inside = tf.logicalAnd(tf.greaterEqual(angle, eps), tf.lessEqual(angle, Math.PI - eps));
      const clipped = tf.clipByValue(angle, eps, Math.PI - eps);
      const outside: TfTargetValue = {
        value: tf.broadcastTo(tf.sub(angleMap(map, clipped).g, m3), shape),
        dCos: zero,
        dM2: zero,
        dM3: tf.neg(one),
      };
      return choose(inside, raw, outside);
    }
  }
}

/** Chebyshev polynomial T_m(x) and its derivative, for integer m ≥ 0. */
function chebyshev(m: number, x: tf.Tensor): { value: tf.Tensor; d: tf.Tensor } {
  if (m === 0) return { value: tf.onesLike(x), d: tf.zerosLike(x) };
  let t0: tf.Tensor = tf.onesLike(x);
  let t1: tf.Tensor = x;
  let d0: tf.Tensor = tf.zerosLike(x);
  let d1: tf.Tensor = tf.onesLike(x);
  for (let k = 1; k < m; k++) {
    const t2 = tf.sub(tf.mul(tf.mul(2, x), t1), t0);
    const d2 = tf.sub(tf.add(tf.mul(2, t1), tf.mul(tf.mul(2, x), d1)), d0);
    t0 = t1;
    t1 = t2;
    d0 = d1;
    d1 = d2;
  }
  return { value: t1, d: d1 };
}

/** SphereFace's ψ blended with cos θ: (ψ(θ) + λ·cos θ)/(1 + λ); k is piecewise constant. */
export function sphereTarget(t: SphereTarget, c: tf.Tensor, trig: Trig = trigOf(c)): TfTargetValue {
  const k = tf.floor(tf.div(tf.mul(t.m, trig.theta), t.pi));
  const sign = tf.sub(1, tf.mul(2, tf.mod(k, 2)));
  const cheb = chebyshev(t.m, c);
  const psi = tf.sub(tf.mul(sign, cheb.value), tf.mul(2, k));
  const dPsi = tf.mul(sign, cheb.d);
  const inv = 1 / (1 + t.lambda);
  const zero = tf.zerosLike(c);
  return {
    value: tf.add(c, tf.mul(tf.sub(psi, c), inv)),
    dCos: tf.add(1, tf.mul(tf.sub(dPsi, 1), inv)),
    dM2: zero,
    dM3: zero,
  };
}
