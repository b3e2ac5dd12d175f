/**
 * Loss forms of the margin operator over B×C logits as TF.js ops, each a custom gradient with the fp64
 * oracle's derivative (`src/margin/loss.ts`): CE, DistCE (whose gradient ignores its clamp), batch
 * focal CE and CircleLoss's soft-plus pair form.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossSpec } from '../margin/spec.js';
import { customOp } from './ops.js';

/** DistCrossEntropy's floor on the target probability. */
const DISTCE_FLOOR = 1e-30;

/** The scalar loss and named intermediate values (`ce`, `focal`, `pair`). */
export interface TfLoss {
  loss: tf.Scalar;
  parts: Record<string, tf.Tensor>;
}

function rowSum(v: tf.Tensor): tf.Tensor1D {
  return tf.sum(v, 1) as tf.Tensor1D;
}

/** Mean CE of the batch (no gradient needed: used for the focal weight and for `parts.ce`). */
function meanCe(logits: tf.Tensor2D, Y: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.sub(tf.logSumExp(logits, 1), rowSum(tf.mul(logits, Y))));
}

/** d focal / d ce for the batch-mean ce (γ = 0 gives 1). */
function focalSlope(ce: tf.Scalar, gamma: number): tf.Scalar {
  const q = tf.sub(1, tf.exp(tf.neg(ce)));
  const base = tf.pow(q, gamma);
  if (gamma === 0) return base as tf.Scalar;
  return tf.add(base, tf.mul(tf.mul(gamma, tf.pow(q, gamma - 1)), tf.mul(tf.exp(tf.neg(ce)), ce)));
}

function crossEntropy(spec: LossSpec, logits: tf.Tensor2D, Y: tf.Tensor2D): TfLoss {
  const B = logits.shape[0];
  const op = customOp(([z, y], save) => {
    const lg = z as tf.Tensor2D;
    const Y = y as tf.Tensor2D;
    save([lg, Y]);
    const ce = meanCe(lg, Y);
    let value: tf.Tensor = ce;
    if (spec.kind === 'distce') {
      const logP = tf.sub(rowSum(tf.mul(lg, Y)), tf.logSumExp(lg, 1));
      value = tf.neg(tf.mean(tf.log(tf.maximum(tf.exp(logP), DISTCE_FLOOR))));
    } else if (spec.kind === 'focal') {
      value = tf.mul(tf.pow(tf.sub(1, tf.exp(tf.neg(ce))), spec.gamma), ce);
    }
    return {
      value,
      gradFunc: (dy, saved) => {
        const [s, sY] = saved as [tf.Tensor2D, tf.Tensor2D];
        const p = tf.softmax(s);
        const slope = spec.kind === 'focal' ? focalSlope(meanCe(s, sY), spec.gamma) : tf.scalar(1);
        return [tf.mul(tf.mul(dy as tf.Scalar, tf.div(slope, B)), tf.sub(p, sY)), tf.zerosLike(sY)];
      },
    };
  });
  const loss = op(logits, Y) as tf.Scalar;
  const parts: Record<string, tf.Tensor> = { ce: meanCe(logits, Y) };
  if (spec.kind === 'focal') parts.focal = loss;
  return { loss, parts };
}

/** lse over the non-target entries of each row and the pair value z_i = lse_{j≠y} − logit_iy. */
function pairValues(
  logits: tf.Tensor2D,
  Y: tf.Tensor2D,
): { masked: tf.Tensor2D; lseNeg: tf.Tensor1D; z: tf.Tensor1D } {
  const masked = tf.where(
    tf.cast(Y, 'bool'),
    tf.fill(logits.shape, Number.NEGATIVE_INFINITY),
    logits,
  ) as tf.Tensor2D;
  // With one class there are no negatives: the lse of an empty set is −∞ (tf.logSumExp gives NaN).
  const lseNeg = (
    logits.shape[1] > 1 ? tf.logSumExp(masked, 1) : tf.fill([logits.shape[0]], Number.NEGATIVE_INFINITY)
  ) as tf.Tensor1D;
  return { masked, lseNeg, z: tf.sub(lseNeg, rowSum(tf.mul(logits, Y))) };
}

function softplusPair(threshold: number, logits: tf.Tensor2D, Y: tf.Tensor2D): TfLoss {
  const B = logits.shape[0];
  const op = customOp(([x, y], save) => {
    const lg = x as tf.Tensor2D;
    const Y = y as tf.Tensor2D;
    save([lg, Y]);
    const { z } = pairValues(lg, Y);
    const linear = tf.greater(z, threshold);
    const value = tf.mean(tf.where(linear, z, tf.log1p(tf.exp(z)))) as tf.Scalar;
    return {
      value,
      gradFunc: (dy, saved) => {
        const [s, Y] = saved as [tf.Tensor2D, tf.Tensor2D];
        const { masked, lseNeg, z: zs } = pairValues(s, Y);
        const dz = tf.expandDims(
          tf.div(tf.where(tf.greater(zs, threshold), tf.onesLike(zs), tf.sigmoid(zs)), B),
          1,
        );
        // Softmax over the negatives (the masked target gets exp(−∞) = 0), minus dz at the target.
        const weights =
          s.shape[1] > 1 ? tf.exp(tf.sub(masked, tf.expandDims(lseNeg, 1))) : tf.zerosLike(masked);
        const g = tf.sub(tf.mul(weights, dz), tf.mul(Y, dz));
        return [tf.mul(dy as tf.Scalar, g), tf.zerosLike(Y)];
      },
    };
  });
  const loss = op(logits, Y) as tf.Scalar;
  return { loss, parts: { pair: pairValues(logits, Y).z } };
}

/** Evaluate a loss form on B×C logits with one-hot labels Y. */
export function tfLoss(spec: LossSpec, logits: tf.Tensor2D, Y: tf.Tensor2D): TfLoss {
  if (spec.kind === 'softplus-pair') return softplusPair(spec.threshold, logits, Y);
  return crossEntropy(spec, logits, Y);
}
