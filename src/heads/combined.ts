/**
 * Combined margin (insightface; Deng et al., CVPR 2019 §3.3): target logit s·(cos(m1·θy + m2) − m3),
 * unifying SphereFace-like (m1), ArcFace (m2) and CosFace (m3) margins.
 */
import { z } from 'zod';
import type { AngularTarget } from '../margin/spec.js';
import { argFlag, argNumber, INSIGHTFACE_OUTPUTS } from './anchor.js';
import {
  angularMargin,
  commonOptions,
  cosineGeometry,
  cosineMargin,
  gradientOption,
  lossSpec,
  scaleValue,
} from './common.js';
import { defineHead } from './define.js';
import { single } from './picture.js';

/** Parameters of the combined-margin head and their defaults (see docs/losses/combined.md). */
export const combinedParams = z
  .strictObject({
    scale: scaleValue.default(64),
    m1: z.number().min(1).max(4).default(1),
    m2: angularMargin.default(0.3),
    m3: cosineMargin.default(0.2),
    /** `thmm`: cos θ − m2·sin(π − m2) past π (cavaface, without m3); `easy`; `none`. */
    fallback: z.enum(['thmm', 'easy', 'none']).default('thmm'),
    gradient: gradientOption,
    /**
     * `general`: the formula for any (m1, m2, m3). `insightface`: its CombinedMarginLoss branches —
     * m3 > 0 is CosFace(m3) and ignores m1, m2; m1 = 1, m3 = 0 is ArcFace(m2); anything else is refused.
     */
    branches: z.enum(['general', 'insightface']).default('general'),
    /** insightface inter-class filtering: negatives with cos above this are zeroed (0 = off). */
    interclassFilter: z.number().min(0).max(1).default(0),
    ...commonOptions,
  })
  .superRefine((p, ctx) => {
    if (p.branches === 'insightface' && !(p.m3 > 0) && p.m1 !== 1) {
      ctx.addIssue({ code: 'custom', message: 'insightface branches need m3 > 0 or m1 = 1', path: ['m1'] });
    }
  });
/** combined-margin parameters after validation, defaults filled in. */
export type CombinedParams = z.infer<typeof combinedParams>;

function combinedTarget(p: CombinedParams): AngularTarget {
  if (p.branches === 'insightface') {
    return p.m3 > 0
      ? { kind: 'angular', m1: 1, m2: 0, m3: p.m3, fallback: 'none' }
      : { kind: 'angular', m1: 1, m2: p.m2, m3: 0, fallback: 'none' };
  }
  return { kind: 'angular', m1: p.m1, m2: p.m2, m3: p.m3, fallback: p.fallback };
}

/** The combined-margin head, registered as `'combined'`. */
export const combined = defineHead<CombinedParams>({
  name: 'combined',
  summary: 'Combined margin: target s·(cos(m1·θ + m2) − m3).',
  schema: combinedParams,
  geometry: (p) => cosineGeometry(p),
  margin: ({ p }) => ({
    angleMap: 'cos',
    target: combinedTarget(p),
    negatives: p.interclassFilter > 0 ? { kind: 'filter', above: p.interclassFilter } : { kind: 'plain' },
    scale: p.scale,
    loss: lossSpec(p),
    // insightface differentiates its CosFace branch and applies the ArcFace branch under no_grad.
    gradient: p.branches === 'insightface' && p.m3 > 0 ? 'full' : p.gradient,
  }),
  smallScale: { panel: { scale: 16, m1: 1, m2: 0.2, m3: 0.1 } },
  formula: 'target s·(cos(m1·θy + m2) − m3),   others s·cos θj',
  picture: { formula: 's·(cos(m1·θy + m2) − m3) vs s·cos θj', variants: single('m1', 'm2', 'm3') },
  anchors: {
    'cavaface:Combined': (p) => ({
      params: {
        scale: argNumber(p, 's', 64),
        m1: 1,
        m2: argNumber(p, 'm2'),
        m3: argNumber(p, 'm3'),
        fallback: argFlag(p, 'easy_margin') ? 'easy' : 'thmm',
        clamp: null,
      },
    }),
    'insightface:CombinedMarginLoss': (p) => ({
      params: {
        scale: argNumber(p, 's', 64),
        m1: argNumber(p, 'm1'),
        m2: argNumber(p, 'm2'),
        m3: argNumber(p, 'm3'),
        branches: 'insightface',
        gradient: 'straight-through',
        interclassFilter: argNumber(p, 'interclass_filtering_threshold', 0),
        loss: 'distce',
      },
      outputs: INSIGHTFACE_OUTPUTS,
    }),
  },
});
