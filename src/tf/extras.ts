/**
 * TF.js forms of what some heads add to the margin softmax: learnable per-row margins (AdaM-Softmax),
 * extra loss terms (MagFace's g(a), DiscFace's discrepancy, AdaM's margin regulariser) and Center Loss,
 * which has no margin at all. Each mirrors the head file's fp64 `extraTerms` / `compute`; gradients
 * follow by autograd through the same tensors the margin uses.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdamSoftmaxParams } from '../heads/adamsoftmax.js';
import type { CenterLossParams } from '../heads/centerloss.js';
import type { DiscFaceParams } from '../heads/discface.js';
import type { MagFaceParams } from '../heads/magface.js';
import type { TfGeometry } from './geometry.js';
import { rowNorm, selectRows } from './ops.js';

/** What a head's TF.js terms see. */
export interface TfTermContext<P = unknown> {
  p: P;
  training: boolean;
  B: number;
  D: number;
  C: number;
  X: tf.Tensor2D;
  W: tf.Tensor2D;
  /** Learnable extras by name (after any in-forward replacement). */
  extras: Record<string, tf.Tensor>;
  /** One-hot labels, B×C. */
  oneHot: tf.Tensor2D;
  geo: TfGeometry;
}

/** Extra scalar loss and named values to report. */
export interface TfExtraTerms {
  loss: tf.Scalar;
  parts: Record<string, tf.Tensor>;
}

/** The TF.js pieces of one head that its declarative margin cannot express. */
export interface TfHeadTerms {
  /** Per-row parameters that depend on learnable tensors (the definition's values carry no gradient). */
  rowParams?: (ctx: TfTermContext) => { m2?: tf.Tensor1D; m3?: tf.Tensor1D };
  /** Terms added to the margin loss. */
  extraLoss?: (ctx: TfTermContext) => TfExtraTerms;
  /** A head whose loss is not a margin softmax replaces the whole computation. */
  compute?: (ctx: Omit<TfTermContext, 'geo'>) => TfExtraTerms;
}

const adamsoftmax: TfHeadTerms = {
  rowParams: ({ extras, oneHot, C }) => ({
    m3: tf.reshape(
      selectRows(oneHot, tf.reshape(extras.margins, [C, 1]) as tf.Tensor2D),
      [-1],
    ) as tf.Tensor1D,
  }),
  extraLoss: (ctx) => {
    const { lambda } = ctx.p as AdamSoftmaxParams;
    const reg = tf.mul(lambda, tf.sub(1, tf.mean(ctx.extras.margins))) as tf.Scalar;
    return { loss: ctx.training ? reg : tf.scalar(0), parts: { marginReg: reg } };
  },
};

const magface: TfHeadTerms = {
  extraLoss: (ctx) => {
    const p = ctx.p as MagFaceParams;
    // clipByValue passes the gradient with its bounds included, as the reference's `live` test.
    const a = tf.clipByValue(ctx.geo.xNorm, p.lowerNorm, p.upperNorm);
    const g = tf.mul(p.lambda, tf.add(tf.div(a, p.upperNorm ** 2), tf.div(1, a)));
    return { loss: ctx.training ? tf.mean(g) : tf.scalar(0), parts: { magnitude: g } };
  },
};

const discface: TfHeadTerms = {
  extraLoss: (ctx) => {
    if (!ctx.training) return { loss: tf.scalar(0), parts: {} as Record<string, tf.Tensor> };
    const p = ctx.p as DiscFaceParams;
    const xi = ctx.extras.displacement;
    const perClass = p.displacement === 'per-class';
    const rows = perClass
      ? selectRows(ctx.oneHot, xi as tf.Tensor2D)
      : (tf.reshape(xi, [1, ctx.D]) as tf.Tensor2D);
    let used: tf.Tensor2D = rows;
    if (p.maxNorm !== null) {
      // ξ as used: ξ̂·min(‖ξ‖, cap), written so that no branch divides by zero.
      const n = rowNorm(rows);
      // A step mask keeps the path differentiable (comparison ops have no gradient).
      const over = tf.step(tf.sub(n, p.maxNorm));
      const k = tf.add(tf.mul(over, tf.div(p.maxNorm, tf.maximum(n, 1e-30))), tf.sub(1, over));
      used = tf.mul(rows, tf.expandDims(k, 1));
    }
    const wy = selectRows(ctx.oneHot, ctx.geo.wHat);
    const r = rowNorm(tf.sub(tf.sub(ctx.geo.xHat, wy), used) as tf.Tensor2D);
    const mean = tf.mean(r) as tf.Scalar;
    return {
      loss: tf.mul(p.lambda, mean),
      parts: { disc: p.lambda > 0 ? mean : tf.scalar(0) },
    };
  },
};

const CENTER_CLAMP_MAX = 1e12;

const centerloss: TfHeadTerms = {
  compute: ({ p, X, W, oneHot, B, C }) => {
    const { clampMin } = p as CenterLossParams;
    const cy = selectRows(oneHot, W);
    // ‖x‖² + ‖c‖² − 2x·c, the expanded form the reference computes.
    const dist = tf.sub(
      tf.add(tf.sum(tf.square(X), 1), tf.sum(tf.square(cy), 1)),
      tf.mul(2, tf.sum(tf.mul(X, cy), 1)),
    );
    // Masked (non-target) entries are zero before the clamp, so each contributes clampMin.
    const total = tf.add(B * (C - 1) * clampMin, tf.sum(tf.clipByValue(dist, clampMin, CENTER_CLAMP_MAX)));
    return { loss: tf.div(total, B) as tf.Scalar, parts: {} };
  },
};

/** TF.js terms by head name; heads not listed need none. */
export const tfHeadTerms: Readonly<Record<string, TfHeadTerms>> = {
  adamsoftmax,
  magface,
  discface,
  centerloss,
};
