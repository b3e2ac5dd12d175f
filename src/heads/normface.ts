/** NormFace (Wang et al., ACM MM 2017): softmax on scaled cosines, logits = s·cos θ. */
import { z } from 'zod';
import { cosineAnchors } from './anchor.js';
import { commonOptions, cosineGeometry, lossSpec, scaleValue } from './common.js';
import { defineHead } from './define.js';

/** Parameters of the NormFace head and their defaults (see docs/losses/normface.md). */
export const normfaceParams = z.strictObject({
  scale: scaleValue.default(64),
  ...commonOptions,
});
/** NormFace parameters after validation, defaults filled in. */
export type NormFaceParams = z.infer<typeof normfaceParams>;

/** The NormFace head, registered as `'normface'`. */
export const normface = defineHead<NormFaceParams>({
  name: 'normface',
  summary: 'NormFace: cross-entropy on s·cos θ between normalised embeddings and class weights.',
  schema: normfaceParams,
  geometry: (p) => cosineGeometry(p),
  margin: ({ p }) => ({
    angleMap: 'cos',
    target: { kind: 'angular', m1: 1, m2: 0, m3: 0, fallback: 'none' },
    negatives: { kind: 'plain' },
    scale: p.scale,
    loss: lossSpec(p),
    gradient: 'full',
  }),
  smallScale: { panel: { scale: 16 } },
  formula: 'target s·cos θy,   others s·cos θj',
  picture: { formula: 's·cos θy vs s·cos θj (no margin)', variants: () => [{ label: 'no margin' }] },
  // The CosFace classes with m = 0; a margin makes them CosFace.
  anchors: cosineAnchors(({ scale, margin, flags, outputs }) =>
    margin === 0 ? { params: { scale, ...flags }, outputs } : undefined,
  ),
});
