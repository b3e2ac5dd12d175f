/**
 * ArcNegFace (Liu et al., 2019, "Towards Flops-constrained Face Recognition"): ArcFace target, and every
 * negative re-weighted by its closeness to the target: r·cos + r − 1, r = α·exp(−(cos − φ)²/σ).
 */
import { z } from 'zod';
import { UnsupportedConfigError } from '../errors.js';
import { type AnchorParams, argFlag, argNumber } from './anchor.js';
import { angularMargin, commonOptions, cosineGeometry, lossSpec, scaleValue } from './common.js';
import { defineHead } from './define.js';
import { describeParams, fmt, num } from './picture.js';

/** Parameters of the ArcNegFace head and their defaults (see docs/losses/arcnegface.md). */
export const arcnegfaceParams = z.strictObject({
  scale: scaleValue.default(64),
  margin: angularMargin.default(0.5),
  alpha: z.number().positive().max(10).default(1.2),
  sigma: z.number().positive().max(100).default(2),
  ...commonOptions,
  clamp: commonOptions.clamp.default(null),
});
/** ArcNegFace parameters after validation, defaults filled in. */
export type ArcNegFaceParams = z.infer<typeof arcnegfaceParams>;

/** cavaface's and FaceX-Zoo's ArcNegFace: the same arguments, cosines unclamped. */
function arcNegAnchor(p: AnchorParams): Record<string, unknown> {
  return { scale: argNumber(p, 'scale', 64), margin: argNumber(p, 'margin', 0.5), clamp: null };
}

/** The ArcNegFace head, registered as `'arcnegface'`. */
export const arcnegface = defineHead<ArcNegFaceParams>({
  name: 'arcnegface',
  summary: 'ArcNegFace: ArcFace target; negatives re-weighted by a Gaussian of their distance to it.',
  schema: arcnegfaceParams,
  geometry: (p) => cosineGeometry(p),
  margin: ({ p }) => ({
    angleMap: 'cos',
    target: { kind: 'angular', m1: 1, m2: p.margin, m3: 0, fallback: 'thmm' },
    negatives: { kind: 'arcneg', alpha: p.alpha, sigma: p.sigma },
    scale: p.scale,
    loss: lossSpec(p),
    gradient: 'full',
  }),
  smallScale: { panel: { scale: 16, margin: 0.3 } },
  formula: 'target s·cos(θy + m),  negatives s·(r·cos θj + r − 1),  r = α·exp(−(cos θj − φ)²/σ)',
  picture: {
    negativesAt: 60,
    formula: 's·cos(θy + m) vs s·(r·cos θj + r − 1);  r = α·exp(−(cos θj − cos(θy + m))²/σ)',
    variants: (p, given) =>
      given.has('alpha') || given.has('sigma')
        ? [{ label: describeParams(p, ['margin', 'alpha', 'sigma']) }]
        : [
            { label: `α = ${fmt(num(p.alpha))}, σ = ${fmt(num(p.sigma))}` },
            { label: 'σ = 0.5 (narrower)', params: { sigma: 0.5 } },
            { label: 'α = 1, σ = 100 (≈ ArcFace)', params: { alpha: 1, sigma: 100 } },
          ],
  },
  anchors: {
    'cavaface:ArcNegFace': (p) => {
      if (argFlag(p, 'easy_margin'))
        throw new UnsupportedConfigError(
          'cavaface ArcNegFace easy_margin=True is broken in the reference code',
        );
      return { params: arcNegAnchor(p) };
    },
    'facexzoo:ArcNegFace': (p) => ({ params: arcNegAnchor(p) }),
  },
});
