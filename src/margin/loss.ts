/**
 * Loss forms of the margin operator over a B×C logit matrix, with dL/dlogits (fp64).
 */
import type { LossSpec } from './spec.js';

/** A loss value with its gradient w.r.t. the logits. */
export interface LossResult {
  /** The scalar loss. */
  loss: number;
  /** dL/dlogits, B×C. */
  dLogits: Float64Array;
  /** Named intermediate values users may want to log (e.g. `ce` before focal weighting). */
  parts: Record<string, number | Float64Array>;
}

/** −log(1e−30): DistCrossEntropy's ceiling on a row's loss. */
const DISTCE_FLOOR = 1e-30;

/** Per-row log-sum-exp and softmax, computed stably. */
function softmaxRows(logits: Float64Array, B: number, C: number): { lse: Float64Array; p: Float64Array } {
  const lse = new Float64Array(B);
  const p = new Float64Array(B * C);
  for (let i = 0; i < B; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < C; j++) max = Math.max(max, logits[i * C + j]);
    let sum = 0;
    for (let j = 0; j < C; j++) {
      const e = Math.exp(logits[i * C + j] - max);
      p[i * C + j] = e;
      sum += e;
    }
    for (let j = 0; j < C; j++) p[i * C + j] /= sum;
    lse[i] = max + Math.log(sum);
  }
  return { lse, p };
}

/** Cross-entropy family (CE, DistCE, batch focal): all share the softmax gradient. */
function crossEntropy(
  spec: LossSpec,
  logits: Float64Array,
  labels: Int32Array,
  B: number,
  C: number,
): LossResult {
  const { lse, p } = softmaxRows(logits, B, C);
  let ce = 0;
  let dist = 0;
  for (let i = 0; i < B; i++) {
    const y = labels[i];
    const rowCe = lse[i] - logits[i * C + y];
    ce += rowCe;
    dist += -Math.log(Math.max(p[i * C + y], DISTCE_FLOOR));
  }
  ce /= B;
  dist /= B;
  let loss = ce;
  let dCe = 1;
  const parts: Record<string, number | Float64Array> = { ce };
  if (spec.kind === 'distce') loss = dist;
  if (spec.kind === 'focal') {
    // (1 − e^(−ce))^γ · ce, applied to the batch mean, and its derivative w.r.t. ce.
    const q = 1 - Math.exp(-ce);
    const g = spec.gamma;
    loss = q ** g * ce;
    dCe = q ** g + (g === 0 ? 0 : g * q ** (g - 1) * Math.exp(-ce) * ce);
    parts.focal = loss;
  }
  const dLogits = new Float64Array(B * C);
  const w = dCe / B;
  for (let i = 0; i < B; i++) {
    const y = labels[i];
    for (let j = 0; j < C; j++) dLogits[i * C + j] = w * (p[i * C + j] - (j === y ? 1 : 0));
  }
  return { loss, dLogits, parts };
}

/**
 * CircleLoss pair form: z_i = lse_{j≠y} logit_ij − logit_iy, loss = mean softplus(z_i) with torch's
 * Softplus threshold (linear where z > threshold).
 */
function softplusPair(
  threshold: number,
  logits: Float64Array,
  labels: Int32Array,
  B: number,
  C: number,
): LossResult {
  const dLogits = new Float64Array(B * C);
  const z = new Float64Array(B);
  let loss = 0;
  for (let i = 0; i < B; i++) {
    const y = labels[i];
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < C; j++) if (j !== y) max = Math.max(max, logits[i * C + j]);
    let sum = 0;
    for (let j = 0; j < C; j++) if (j !== y) sum += Math.exp(logits[i * C + j] - max);
    const lseNeg = C > 1 ? max + Math.log(sum) : Number.NEGATIVE_INFINITY;
    const zi = lseNeg - logits[i * C + y];
    z[i] = zi;
    const linear = zi > threshold;
    loss += linear ? zi : Math.log1p(Math.exp(zi));
    const dz = (linear ? 1 : 1 / (1 + Math.exp(-zi))) / B;
    for (let j = 0; j < C; j++) {
      dLogits[i * C + j] = j === y ? -dz : (dz * Math.exp(logits[i * C + j] - max)) / sum;
    }
  }
  return { loss: loss / B, dLogits, parts: { pair: z } };
}

/** Evaluate a loss form on B×C logits. */
export function evaluateLoss(
  spec: LossSpec,
  logits: Float64Array,
  labels: Int32Array,
  B: number,
  C: number,
): LossResult {
  if (spec.kind === 'softplus-pair') return softplusPair(spec.threshold, logits, labels, B, C);
  return crossEntropy(spec, logits, labels, B, C);
}
