/**
 * CosFace / AM-Softmax (Wang et al., CVPR 2018; Wang et al., SPL 2018): additive cosine margin,
 * target logit s·(cos θy − m).
 */
import { z } from 'zod';
import { cosineAnchors } from './anchor.js';
import { commonOptions, cosineGeometry, cosineMargin, lossSpec, scaleValue } from './common.js';
import { defineHead } from './define.js';
import { single } from './picture.js';

/** Parameters of the CosFace head and their defaults (see docs/losses/cosface.md). */
export const cosfaceParams = z.strictObject({
  scale: scaleValue.default(64),
  margin: cosineMargin.default(0.35),
  ...commonOptions,
});
/** CosFace parameters after validation, defaults filled in. */
export type CosFaceParams = z.infer<typeof cosfaceParams>;

/** The CosFace head, registered as `'cosface'`. */
export const cosface = defineHead<CosFaceParams>({
  name: 'cosface',
  summary: 'CosFace / AM-Softmax: additive cosine margin, target s·(cos θ − m).',
  schema: cosfaceParams,
  geometry: (p) => cosineGeometry(p),
  margin: ({ p }) => ({
    angleMap: 'cos',
    target: { kind: 'angular', m1: 1, m2: 0, m3: p.margin, fallback: 'none' },
    negatives: { kind: 'plain' },
    scale: p.scale,
    loss: lossSpec(p),
    gradient: 'full',
  }),
  smallScale: { panel: { scale: 16, margin: 0.2 }, compare: { scale: 16, margin: 0.2 } },
  formula: 'target s·(cos θy − m),   others s·cos θj',
  picture: {
    boundary: { label: 'CosFace', easy: 'cos θy − m = cos θj' },
    formula:
      's·(cos θy − m) vs s·cos θj: a constant gap m in the cosine plane, wider in angle near 0° and 180°',
    variants: single('margin'),
  },
  anchors: cosineAnchors(({ scale, margin, flags, outputs }) => ({
    params: { scale, margin, ...flags },
    outputs,
  })),
});

/** AM-Softmax is the same head; the name is kept for users who know it by that paper. */
export const amsoftmax = { ...cosface, name: 'amsoftmax' };
