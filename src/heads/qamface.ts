/** QAMFace (Quadratic Additive Angular Margin): logits s·(2π − (θ + m))² for the target, s·(2π − θ)² else. */
import { z } from 'zod';
import { argNumber } from './anchor.js';
import { angularMargin, commonOptions, cosineGeometry, lossSpec, scaleValue } from './common.js';
import { defineHead } from './define.js';
import { single } from './picture.js';

/** Parameters of the QAMFace head and their defaults (see docs/losses/qamface.md). */
export const qamfaceParams = z.strictObject({
  scale: scaleValue.default(6),
  margin: angularMargin.default(0.5),
  ...commonOptions,
  clamp: commonOptions.clamp.default(1 - 1e-7),
});
/** QAMFace parameters after validation, defaults filled in. */
export type QamFaceParams = z.infer<typeof qamfaceParams>;

/** The QAMFace head, registered as `'qamface'`. */
export const qamface = defineHead<QamFaceParams>({
  name: 'qamface',
  summary: 'QAMFace: quadratic angular logits (2π − (θ + m))².',
  schema: qamfaceParams,
  geometry: (p) => cosineGeometry(p),
  margin: ({ p }) => ({
    angleMap: 'quadratic',
    target: { kind: 'angular', m1: 1, m2: p.margin, m3: 0, fallback: 'none' },
    negatives: { kind: 'plain' },
    scale: p.scale,
    loss: lossSpec(p),
    gradient: 'full',
  }),
  smallScale: { panel: { scale: 6, margin: 0.3 } },
  formula: 'target s·(2π − (θy + m))²,   others s·(2π − θj)²',
  picture: { formula: 's·(2π − (θy + m))² vs s·(2π − θj)²', variants: single('margin') },
  anchors: {
    'cavaface:QAMFace': (p) => ({
      params: { scale: argNumber(p, 's', 6), margin: argNumber(p, 'm', 0.5), normalizeEmbeddings: false },
    }),
  },
});
