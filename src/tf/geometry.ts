/**
 * The geometry of the margin operator as TF.js ops (fp32): normalise, take cosines (max over
 * sub-centres), clamp. Gradients follow by autograd; see {@link ./ops.ts} for the guarded pieces.
 */
import * as tf from '@tensorflow/tfjs';
import type { TfGeometry } from '../heads/tf-terms.js';
import type { GeometrySpec } from '../margin/spec.js';
import { constantOf, matMulTransposed, normalizeRows, rowNorm, withIdentityGradient } from './ops.js';
import { type Trig, trigOf } from './target.js';

export type { TfGeometry };

/**
 * Cosines of every embedding with every class. `overwrite` weight normalisation differentiates w.r.t.
 * the normalised copy (identity gradient into W), as the reference code that overwrites `W.data` does.
 */
export function tfGeometry(X: tf.Tensor2D, W: tf.Tensor2D, spec: GeometrySpec): TfGeometry {
  const xNorm = rowNorm(X);
  const xHat = spec.normalizeX ? normalizeRows(X, xNorm) : X;
  let wHat: tf.Tensor2D;
  if (spec.normalizeW === 'functional') wHat = normalizeRows(W);
  else if (spec.normalizeW === 'overwrite')
    wHat = withIdentityGradient(W, tf.tidy(() => normalizeRows(W)) as tf.Tensor2D);
  else wHat = W;
  const dots = matMulTransposed(xHat, wHat);
  const K = spec.subCenters;
  const B = X.shape[0];
  const C = W.shape[0] / K;
  const cosRaw = K === 1 ? dots : (tf.max(tf.reshape(dots, [B, C, K]), 2) as tf.Tensor2D);
  const cos = spec.clamp === null ? cosRaw : tf.clipByValue(cosRaw, -spec.clamp, spec.clamp);
  return { spec, xNorm, xHat, wHat, cosRaw, cos };
}

/** How far from 1 an fp32 row norm may be for the row to count as a unit row. */
const UNIT_ROW_TOLERANCE = 1e-6;

function rowLength(v: tf.Tensor): tf.Tensor1D {
  return tf.sqrt(tf.sum(tf.square(v), 1)) as tf.Tensor1D;
}

/**
 * θ and sin θ between each embedding and its target class weight, [B], as constants. Where the cosine
 * is a true cosine (both sides normalised, one row per class, not clamped) they come from Kahan's
 * formula θ = 2·atan2(‖a‖b‖ − b‖a‖‖, ‖a‖b‖ + b‖a‖‖) on the raw rows, which keeps θ accurate to a few
 * fp32 ulps even where 1 − cos² has lost most of its digits (target cosines within 1e-6 of ±1, whose
 * margin derivatives ∝ 1/sin θ are then as accurate as anywhere else). Elsewhere they follow from the
 * cosine the margin sees, as in the fp64 reference.
 */
export function targetTrig(
  X: tf.Tensor2D,
  W: tf.Tensor2D,
  labels: Int32Array,
  oneHot: tf.Tensor2D,
  geo: TfGeometry,
): Trig {
  const { spec } = geo;
  const exact = spec.normalizeW !== 'none' && spec.subCenters === 1;
  const compute = (ins: tf.Tensor[]): tf.Tensor => {
    const [x, w, y, cos, cosRaw] = ins as tf.Tensor2D[];
    const gt = tf.sum(tf.mul(cos, y), 1);
    const fromCos = trigOf(gt);
    if (!exact) return tf.stack([fromCos.theta, fromCos.sin]);
    // A constant needs no gradient, so a plain gather serves (cheaper than a one-hot product).
    const wy = tf.gather(w, tf.tensor1d(labels, 'int32')) as tf.Tensor2D;
    const na = tf.expandDims(rowLength(x), 1);
    const nb = tf.expandDims(rowLength(wy), 1);
    const d = rowLength(tf.sub(tf.mul(x, nb), tf.mul(wy, na)));
    const e = rowLength(tf.add(tf.mul(x, nb), tf.mul(wy, na)));
    const theta = tf.mul(2, tf.atan2(d, e));
    // Without normalisation the cosine is x·ŵ: a true cosine only for unit rows (up to rounding), the
    // rows such heads expect; other rows keep the cosine-derived values.
    let useCos = spec.normalizeX
      ? tf.zerosLike(gt).cast('bool')
      : tf.greater(tf.abs(tf.sub(tf.reshape(na, [-1]), 1)), UNIT_ROW_TOLERANCE);
    if (spec.clamp !== null)
      useCos = tf.logicalOr(useCos, tf.greater(tf.abs(tf.sum(tf.mul(cosRaw, y), 1)), spec.clamp));
    return tf.stack([tf.where(useCos, fromCos.theta, theta), tf.where(useCos, fromCos.sin, tf.sin(theta))]);
  };
  const both = constantOf(compute, X, W, oneHot, geo.cos, geo.cosRaw);
  const [theta, sin] = tf.unstack(both);
  return { theta, sin };
}
