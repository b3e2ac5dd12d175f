/** Softmax: a plain linear classifier, logits = x·wᵀ + b, trained with cross-entropy. */
import { z } from 'zod';
import { lossOption, lossSpec } from './common.js';
import { defineHead, type LearnableSpec } from './define.js';

/** Parameters of the Softmax head and their defaults (see docs/losses/softmax.md). */
export const softmaxParams = z.strictObject({
  /** Learn a per-class bias (the usual nn.Linear). */
  bias: z.boolean().default(true),
  loss: lossOption,
});
/** Softmax parameters after validation, defaults filled in. */
export type SoftmaxParams = z.infer<typeof softmaxParams>;

/** The Softmax head, registered as `'softmax'`. */
export const softmax = defineHead<SoftmaxParams>({
  name: 'softmax',
  summary: 'Softmax cross-entropy on a linear classifier (no normalisation, no margin).',
  schema: softmaxParams,
  geometry: () => ({ normalizeX: false, normalizeW: 'none', subCenters: 1, clamp: null }),
  learnables: (p, C): Record<string, LearnableSpec> =>
    p.bias ? { bias: { shape: [C], init: () => new Float64Array(C) } } : {},
  margin: ({ p, extras }) => ({
    angleMap: 'cos',
    target: { kind: 'angular', m1: 1, m2: 0, m3: 0, fallback: 'none' },
    negatives: { kind: 'plain' },
    scale: 1,
    loss: lossSpec({
      ...p,
      focalGamma: 2,
      clamp: null,
      weightNorm: 'functional',
      normalizeEmbeddings: false,
    }),
    gradient: 'full',
    bias: p.bias ? extras.bias : undefined,
  }),
  formula: 'logit_c = w_c·x + b_c   (no normalisation; here with cosines as inputs)',
  picture: {
    boundary: { label: 'Softmax', easy: '(W_y − W_j)·x + b_y − b_j = 0' },
    formula: 'w_y·x + b_y vs w_j·x + b_j, drawn for unit vectors and zero bias: cos θy vs cos θj (no margin)',
    variants: () => [{ label: 'no margin' }],
  },
  anchors: {
    'cavaface:Softmax': () => ({ params: { bias: true }, tensors: { W: 'W', bias: 'bias' } }),
  },
});
