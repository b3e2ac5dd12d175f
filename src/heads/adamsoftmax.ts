/**
 * AdaM-Softmax (Liu et al., CVPR 2019, "AdaptiveFace"): CosFace with a learnable margin per class,
 * m_c ∈ [0, 1], pushed up by the regulariser λ·(1 − mean_c m_c).
 */
import type { Scalar } from '@tensorflow/tfjs';
import { z } from 'zod';
import { argNumber } from './anchor.js';
import { commonOptions, cosineGeometry, lossSpec, scaleValue } from './common.js';
import { defineHead } from './define.js';

/** Parameters of the AdaM-Softmax head and their defaults (see docs/losses/adamsoftmax.md). */
export const adamsoftmaxParams = z.strictObject({
  scale: scaleValue.default(30),
  /** Weight λ of the margin regulariser. */
  lambda: z.number().min(0).default(70),
  /** Initial margins are drawn uniformly from [initLow, initHigh). */
  initLow: z.number().min(0).max(1).default(0.3),
  initHigh: z.number().min(0).max(1).default(0.4),
  ...commonOptions,
});
/** AdaM-Softmax parameters after validation, defaults filled in. */
export type AdamSoftmaxParams = z.infer<typeof adamsoftmaxParams>;

/** The AdaM-Softmax head, registered as `'adamsoftmax'`. */
export const adamsoftmax = defineHead<AdamSoftmaxParams>({
  name: 'adamsoftmax',
  summary: 'AdaM-Softmax: CosFace with learnable per-class margins and a margin regulariser.',
  schema: adamsoftmaxParams,
  geometry: (p) => cosineGeometry(p),
  learnables: (p, C) => ({
    margins: {
      shape: [C],
      init: (rng) =>
        Float64Array.from({ length: C }, () => p.initLow + (p.initHigh - p.initLow) * rng.next()),
    },
  }),
  // Margins are kept in [0, 1] by clamping the parameter itself before use.
  prepareExtras: (_p, extras) => ({ margins: extras.margins.map((m) => Math.min(1, Math.max(0, m))) }),
  margin: ({ p, extras, labels }) => ({
    angleMap: 'cos',
    target: {
      kind: 'angular',
      m1: 1,
      m2: 0,
      m3: { value: Float64Array.from(labels, (y) => extras.margins[y]) },
      fallback: 'none',
    },
    negatives: { kind: 'plain' },
    scale: p.scale,
    loss: lossSpec(p),
    gradient: 'full',
  }),
  extraTerms: ({ p, extras, labels, C, training }, out) => {
    let sum = 0;
    for (const m of extras.margins) sum += m;
    const reg = p.lambda * (1 - sum / C);
    if (!training) return { loss: 0, parts: { marginReg: reg } };
    const dMargins = new Float64Array(C).fill(-p.lambda / C);
    for (let i = 0; i < labels.length; i++) dMargins[labels[i]] += out.dM3[i];
    return { loss: reg, parts: { marginReg: reg }, dExtras: { margins: dMargins } };
  },
  tf: {
    // The margins as a tensor, so that the gradient reaches the learnable parameter.
    rowParams: ({ tf, ops, extras, oneHot, C }) => ({
      m3: tf.reshape(ops.selectRows(oneHot, tf.reshape(extras.margins, [C, 1])), [-1]),
    }),
    extraLoss: ({ tf, p, extras, training }) => {
      const reg = tf.mul(p.lambda, tf.sub(1, tf.mean(extras.margins))) as Scalar;
      return { loss: training ? reg : tf.scalar(0), parts: { marginReg: reg } };
    },
  },
  smallScale: { panel: { scale: 16, initLow: 0.1, initHigh: 0.2 } },
  formula: 'target s·(cos θy − m_y),  m_y learned per class (initial values here)',
  picture: {
    formula: 's·(cos θy − m_y) vs s·cos θj; m_y learnable per class (drawn at its initial value)',
    variants: () => [{ label: 'initial margin' }],
  },
  anchors: {
    'facexzoo:Adam_Softmax': (p) => ({
      params: { scale: argNumber(p, 'scale', 30), lambda: argNumber(p, 'lamda', 70) },
      tensors: { W: 'W', adam: 'margins' },
      outputs: { logits: 'logits', loss: 'loss', lamda_lm: 'parts.marginReg' },
    }),
  },
});
