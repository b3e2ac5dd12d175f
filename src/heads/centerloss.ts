/**
 * Center Loss (Wen et al., ECCV 2016): pulls each embedding towards a learned centre of its class,
 * L = (1/B)·Σ_i ‖x_i − c_{y_i}‖². The centres are the head's class matrix W (C×D).
 * Usually added to a softmax head's loss with a weight λ.
 */
import type { Scalar } from '@tensorflow/tfjs';
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { defineHead } from './define.js';
import { softmax } from './softmax.js';

/** Parameters of the Center Loss head and their defaults (see docs/losses/centerloss.md). */
export const centerlossParams = z.strictObject({
  /**
   * Each distance is clamped to [clampMin, 1e12] after masking, as the widely used PyTorch
   * implementation does: every non-target entry then adds clampMin/B to the loss. 0 disables it.
   */
  clampMin: z.number().min(0).max(1e-3).default(1e-12),
});
/** Center Loss parameters after validation, defaults filled in. */
export type CenterLossParams = z.infer<typeof centerlossParams>;

const CLAMP_MAX = 1e12;

/** The Center Loss head, registered as `'centerloss'`. */
export const centerloss = defineHead<CenterLossParams>({
  name: 'centerloss',
  summary: 'Center Loss: mean squared distance of embeddings to their class centres.',
  schema: centerlossParams,
  geometry: () => ({ normalizeX: false, normalizeW: 'none', subCenters: 1, clamp: null }),
  margin: () => {
    throw new Error('centerloss has no margin');
  },
  compute: ({ p, X, W, labels, B, D, C }) => {
    const dX = new Float64Array(B * D);
    const dW = new Float64Array(C * D);
    // Masked (non-target) entries are zero before the clamp, so each contributes clampMin.
    let loss = B * (C - 1) * p.clampMin;
    for (let i = 0; i < B; i++) {
      const y = labels[i];
      // ‖x‖² + ‖c‖² − 2x·c, the expanded form the reference computes.
      let xx = 0;
      let cc = 0;
      let xc = 0;
      for (let d = 0; d < D; d++) {
        xx += X[i * D + d] ** 2;
        cc += W[y * D + d] ** 2;
        xc += X[i * D + d] * W[y * D + d];
      }
      const dist = xx + cc - 2 * xc;
      loss += Math.min(CLAMP_MAX, Math.max(p.clampMin, dist));
      if (dist < p.clampMin || dist > CLAMP_MAX) continue;
      for (let d = 0; d < D; d++) {
        const g = (2 * (X[i * D + d] - W[y * D + d])) / B;
        dX[i * D + d] += g;
        dW[y * D + d] -= g;
      }
    }
    return {
      logits: new Float64Array(0),
      loss: loss / B,
      parts: {},
      grads: { X: dX, W: dW },
      paramsAfterForward: {},
      cos: new Float64Array(0),
    };
  },
  tf: {
    compute: ({ tf, ops, p, X, W, oneHot, B, C }) => {
      const cy = ops.selectRows(oneHot, W);
      // ‖x‖² + ‖c‖² − 2x·c, the expanded form the reference computes.
      const dist = tf.sub(
        tf.add(tf.sum(tf.square(X), 1), tf.sum(tf.square(cy), 1)),
        tf.mul(2, tf.sum(tf.mul(X, cy), 1)),
      );
      // Masked (non-target) entries are zero before the clamp, so each contributes clampMin.
      const total = tf.add(B * (C - 1) * p.clampMin, tf.sum(tf.clipByValue(dist, p.clampMin, CLAMP_MAX)));
      return { loss: tf.div(total, B) as Scalar, parts: {} };
    },
  },
  formula: '(1/B)·Σ ‖x_i − c_{y_i}‖²   (no logits, so no decision boundary)',
  picture: {
    formula: 'no margin: ‖x − c_y‖² is added to a softmax head; its boundary is shown',
    variants: () => [{ label: 'softmax (no margin)' }],
    boundaryHead: softmax.name,
  },
  anchors: {
    'kaiyangzhou:CenterLoss': () => ({ params: {}, tensors: { centers: 'W' }, outputs: { loss: 'loss' } }),
  },
});

/**
 * The paper's centre update (Wen et al., Eq. 4): c_j ← c_j − α·Δc_j with
 * Δc_j = Σ_{i: y_i = j} (c_j − x_i) / (1 + n_j). Returns new centres; classes absent from the batch stay.
 */
export function paperCenterUpdate(
  centers: Float64Array,
  X: Float64Array,
  labels: Int32Array,
  D: number,
  alpha: number,
): Float64Array {
  if (!(alpha > 0 && alpha <= 1)) throw new InvalidArgumentError('alpha', 'a number in (0, 1]', alpha);
  const C = centers.length / D;
  const delta = new Float64Array(centers.length);
  const count = new Int32Array(C);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    count[y]++;
    for (let d = 0; d < D; d++) delta[y * D + d] += centers[y * D + d] - X[i * D + d];
  }
  const out = centers.slice();
  for (let j = 0; j < C; j++) {
    if (count[j] === 0) continue;
    for (let d = 0; d < D; d++) out[j * D + d] -= (alpha * delta[j * D + d]) / (1 + count[j]);
  }
  return out;
}
