/**
 * DiscFace (Kim et al., ACCV 2020): CosFace plus a discrepancy term that makes the displacement between
 * each normalised embedding and its class centre, ε_i = x̂_i − ŵ_{y_i}, agree with a learnable
 * displacement ξ:  L = L_margin + λ·mean_i ‖ε_i − ξ‖.
 * The paper learns one ξ shared by all classes; `displacement: 'per-class'` learns one per class with
 * its norm capped (FaceVerLoss's DiscFace_AM: cap 0.05, λ = 0.4).
 */
import type { Scalar, Tensor2D } from '@tensorflow/tfjs';
import { z } from 'zod';
import { normalizeBackward } from '../margin/geometry.js';
import { argNumber, FOCAL_OUTPUTS } from './anchor.js';
import { commonOptions, cosineGeometry, cosineMargin, lossSpec, scaleValue } from './common.js';
import { defineHead, type ExtraTerms, type HeadContext } from './define.js';
import { single } from './picture.js';
import type { TfExtraTerms, TfTermContext } from './tf-terms.js';

/** Parameters of the DiscFace head and their defaults (see docs/losses/discface.md). */
export const discfaceParams = z.strictObject({
  scale: scaleValue.default(30),
  margin: cosineMargin.default(0.35),
  /** Weight λ of the discrepancy term. */
  lambda: z.number().min(0).default(0.4),
  displacement: z.enum(['shared', 'per-class']).default('shared'),
  /** Cap on ‖ξ‖ (ξ is used as ξ̂·min(‖ξ‖, cap)); `null` for none. */
  maxNorm: z.number().positive().nullable().default(null),
  ...commonOptions,
});
/** DiscFace parameters after validation, defaults filled in. */
export type DiscFaceParams = z.infer<typeof discfaceParams>;

function discrepancy(ctx: HeadContext<DiscFaceParams>): ExtraTerms {
  const { p, geo, labels, extras, B, D, C } = ctx;
  const xi = extras.displacement;
  const perClass = p.displacement === 'per-class';
  const cap = p.maxNorm ?? Number.POSITIVE_INFINITY;
  const dXHat = new Float64Array(B * D);
  const dWHat = new Float64Array(C * D);
  const dXi = new Float64Array(xi.length);
  let loss = 0;
  const u = new Float64Array(D);
  for (let i = 0; i < B; i++) {
    const y = labels[i];
    const xo = perClass ? y * D : 0;
    let n = 0;
    for (let d = 0; d < D; d++) n += xi[xo + d] ** 2;
    n = Math.sqrt(n);
    // ξ as used: ξ̂·clamp(‖ξ‖, 0, cap) — equal to ξ itself below the cap.
    const capped = n > cap;
    const k = capped ? cap / n : 1;
    let r = 0;
    for (let d = 0; d < D; d++) {
      u[d] = geo.xHat[i * D + d] - geo.wHat[y * D + d] - xi[xo + d] * k;
      r += u[d] * u[d];
    }
    r = Math.sqrt(r);
    loss += (p.lambda * r) / B;
    if (r === 0) continue;
    const g = p.lambda / B / r;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += (xi[xo + d] / n) * u[d];
    for (let d = 0; d < D; d++) {
      const gu = g * u[d];
      dXHat[i * D + d] += gu;
      dWHat[y * D + d] -= gu;
      // d(ξ used)/dξ: identity below the cap, cap·(I − ξ̂ξ̂ᵀ)/‖ξ‖ above it.
      dXi[xo + d] -= capped ? g * k * (u[d] - (xi[xo + d] / n) * dot) : gu;
    }
  }
  const dX = geo.spec.normalizeX ? normalizeBackward(dXHat, geo.xHat, geo.xNorm, D) : dXHat;
  const dW = geo.spec.normalizeW === 'functional' ? normalizeBackward(dWHat, geo.wHat, geo.wNorm, D) : dWHat;
  return {
    loss,
    parts: { disc: loss / Math.max(p.lambda, Number.MIN_VALUE) },
    dX,
    dW,
    dExtras: { displacement: dXi },
  };
}

/** The discrepancy term as TF.js ops: the same formula, differentiated by autograd. */
function tfDiscrepancy({ tf, ops, p, extras, oneHot, geo, D }: TfTermContext<DiscFaceParams>): TfExtraTerms {
  const xi = extras.displacement;
  const rows =
    p.displacement === 'per-class' ? ops.selectRows(oneHot, xi as Tensor2D) : tf.reshape(xi, [1, D]);
  let used = rows as Tensor2D;
  if (p.maxNorm !== null) {
    // ξ as used: ξ̂·min(‖ξ‖, cap), written so that no branch divides by zero.
    const n = ops.rowNorm(used);
    // A step mask keeps the path differentiable (comparison ops have no gradient).
    const over = tf.step(tf.sub(n, p.maxNorm));
    const k = tf.add(tf.mul(over, tf.div(p.maxNorm, tf.maximum(n, 1e-30))), tf.sub(1, over));
    used = tf.mul(used, tf.expandDims(k, 1));
  }
  const wy = ops.selectRows(oneHot, geo.wHat);
  const r = ops.rowNorm(tf.sub(tf.sub(geo.xHat, wy), used));
  const mean = tf.mean(r) as Scalar;
  return { loss: tf.mul(p.lambda, mean), parts: { disc: p.lambda > 0 ? mean : tf.scalar(0) } };
}

/** The DiscFace head, registered as `'discface'`. */
export const discface = defineHead<DiscFaceParams>({
  name: 'discface',
  summary: 'DiscFace: CosFace plus a discrepancy term aligning displacements with a learned ξ.',
  schema: discfaceParams,
  geometry: (p) => cosineGeometry(p),
  learnables: (p, C, D) => ({
    displacement: {
      shape: p.displacement === 'per-class' ? [C, D] : [D],
      init: (rng) =>
        Float64Array.from(
          { length: (p.displacement === 'per-class' ? C : 1) * D },
          () => 0.01 * rng.normal(),
        ),
    },
  }),
  margin: ({ p }) => ({
    angleMap: 'cos',
    target: { kind: 'angular', m1: 1, m2: 0, m3: p.margin, fallback: 'none' },
    negatives: { kind: 'plain' },
    scale: p.scale,
    loss: lossSpec(p),
    gradient: 'full',
  }),
  extraTerms: (ctx) => (ctx.training ? discrepancy(ctx) : { loss: 0 }),
  tf: {
    extraLoss: (ctx) => (ctx.training ? tfDiscrepancy(ctx) : { loss: ctx.tf.scalar(0), parts: {} }),
  },
  smallScale: { panel: { scale: 16, margin: 0.2 } },
  formula: 'target s·(cos θy − m),   others s·cos θj   (+ λ·‖ε − ξ‖ on the features)',
  picture: {
    formula: 's·(cos θy − m) vs s·cos θj (its displacement term does not move the boundary)',
    variants: single('margin'),
  },
  anchors: {
    'faceverloss:DiscFace_AM': (p) => ({
      params: {
        scale: argNumber(p, 'scale'),
        margin: argNumber(p, 'margin'),
        lambda: 0.4,
        displacement: 'per-class',
        maxNorm: 0.05,
        loss: 'focal',
        weightNorm: 'overwrite',
        clamp: null,
      },
      tensors: { W: 'W', b: 'displacement' },
      outputs: FOCAL_OUTPUTS,
    }),
  },
});
