/**
 * AirFace (Li et al., 2019): linear angular logits s·(π − 2(θ + m))/π for the target and s·(π − 2θ)/π
 * for the others, so the logit falls at a constant rate with the angle.
 */
import { z } from 'zod';
import { argNumber } from './anchor.js';
import { angularMargin, commonOptions, cosineGeometry, lossSpec, scaleValue } from './common.js';
import { defineHead } from './define.js';
import { single } from './picture.js';

/** Parameters of the AirFace head and their defaults (see docs/losses/airface.md). */
export const airfaceParams = z.strictObject({
  scale: scaleValue.default(64),
  margin: angularMargin.default(0.45),
  ...commonOptions,
  // acos needs |cos| < 1 for a finite gradient.
  clamp: commonOptions.clamp.default(1 - 1e-7),
});
/** AirFace parameters after validation, defaults filled in. */
export type AirFaceParams = z.infer<typeof airfaceParams>;

/** The AirFace head, registered as `'airface'`. */
export const airface = defineHead<AirFaceParams>({
  name: 'airface',
  summary: 'AirFace: linear angular logits (π − 2(θ + m))/π.',
  schema: airfaceParams,
  geometry: (p) => cosineGeometry(p),
  margin: ({ p }) => ({
    angleMap: 'linear',
    target: { kind: 'angular', m1: 1, m2: p.margin, m3: 0, fallback: 'none' },
    negatives: { kind: 'plain' },
    scale: p.scale,
    loss: lossSpec(p),
    gradient: 'full',
  }),
  smallScale: { panel: { scale: 16, margin: 0.2 } },
  formula: 'target s·(π − 2(θy + m))/π,   others s·(π − 2θj)/π',
  picture: { formula: 's·(π − 2(θy + m))/π vs s·(π − 2θj)/π', variants: single('margin') },
  anchors: {
    'cavaface:AirFace': (p) => ({
      params: { scale: argNumber(p, 's', 64), margin: argNumber(p, 'm', 0.45), normalizeEmbeddings: false },
    }),
  },
});
