/**
 * The heads the live-training panels can train, written with plain TF.js ops so the page does not
 * depend on the library's TF.js layer: Softmax (linear classifier), NormFace (s·cos θ), CosFace
 * (s·(cos θy − m)) and ArcFace (s·cos(θy + m), with the paper code's fallback cos θy − m·sin(π − m)
 * once θy + m > π). Each matches the fp64 head of the same name with default options (checked in the
 * test suite), to float32 rounding.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainableHead, TrainableParams } from './trainable.js';

/**
 * Cosines are kept this far inside ±1 before sin θ = √(1 − cos²θ), whose derivative is infinite at
 * ±1; the logit moves by at most about s·1e−6.
 */
const COS_GUARD = 1 - 1e-6;

/** Rows scaled to unit length (the 1e−12 keeps the gradient finite at zero). */
export function normalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12)));
}

/** Cosines between embeddings (B×D) and class weights (C×D): B×C. */
export function cosines(embeddings: tf.Tensor2D, weights: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(normalizeRows(embeddings), normalizeRows(weights), false, true);
}

/**
 * Logits of a head. With `margin` false (evaluation) the cosine heads give s·cos θ for every class.
 * `bias` is used by Softmax only.
 */
export function headLogits(
  head: TrainableHead,
  params: TrainableParams,
  embeddings: tf.Tensor2D,
  weights: tf.Tensor2D,
  bias: tf.Tensor1D | null,
  oneHot: tf.Tensor2D,
  margin = true,
): tf.Tensor2D {
  if (head === 'softmax') {
    const linear = tf.matMul(embeddings, weights, false, true) as tf.Tensor2D;
    return bias ? (tf.add(linear, bias) as tf.Tensor2D) : linear;
  }
  const cos = cosines(embeddings, weights);
  const s = params.scale;
  if (!margin || head === 'normface') return tf.mul(cos, s);
  if (head === 'cosface') return tf.mul(tf.sub(cos, tf.mul(oneHot, params.margin)), s);
  const m = params.margin;
  const c = tf.clipByValue(cos, -COS_GUARD, COS_GUARD);
  const sin = tf.sqrt(tf.sub(1, tf.square(c)));
  const shifted = tf.sub(tf.mul(c, Math.cos(m)), tf.mul(sin, Math.sin(m)));
  // cos θ > cos(π − m) ⇔ θ + m < π: there cos(θ + m) decreases with θ; past it, the linear fallback.
  const fallback = tf.sub(cos, m * Math.sin(Math.PI - m));
  // tf.step rather than tf.greater: the mask must be differentiable (to zero) for the optimiser.
  const inRange = tf.step(tf.sub(cos, Math.cos(Math.PI - m)));
  const target = tf.add(tf.mul(inRange, shifted), tf.mul(tf.sub(1, inRange), fallback));
  return tf.mul(tf.add(tf.mul(oneHot, target), tf.mul(tf.sub(1, oneHot), cos)), s);
}

/** Mean cross-entropy of logits (B×C) against one-hot labels. */
export function crossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, oneHot), 1)));
}

/** The training loss of a head: mean cross-entropy of its margin logits. */
export function headLoss(
  head: TrainableHead,
  params: TrainableParams,
  embeddings: tf.Tensor2D,
  weights: tf.Tensor2D,
  bias: tf.Tensor1D | null,
  oneHot: tf.Tensor2D,
): tf.Scalar {
  return crossEntropy(headLogits(head, params, embeddings, weights, bias, oneHot), oneHot);
}
