/**
 * CurricularFace (Huang et al., CVPR 2020): ArcFace target, and hard negatives (cos > cos(θy + m))
 * re-weighted to cos·(t + cos) where t is an EMA of the batch's mean target cosine — easy samples first,
 * hard ones later.
 */
import { z } from 'zod';
import { type AnchorParams, type AnchorTranslation, argNumber } from './anchor.js';
import { angularMargin, commonOptions, cosineGeometry, lossSpec, scaleValue } from './common.js';
import { defineHead, type HeadState } from './define.js';

/** Parameters of the CurricularFace head and their defaults (see docs/losses/curricularface.md). */
export const curricularfaceParams = z.strictObject({
  scale: scaleValue.default(64),
  margin: angularMargin.default(0.5),
  /** EMA weight of the new batch: t ← momentum·mean(cos θy) + (1 − momentum)·t. */
  momentum: z.number().min(0).max(1).default(0.01),
  fallback: z.enum(['thmm', 'easy', 'none']).default('thmm'),
  ...commonOptions,
});
/** CurricularFace parameters after validation, defaults filled in. */
export type CurricularFaceParams = z.infer<typeof curricularfaceParams>;

/** CurricularFace state: updated in training mode only, saved with the model. */
export interface CurricularFaceState extends HeadState {
  t: number;
}

/** cavaface's and FaceX-Zoo's CurricularFace: the same arguments, and t as their state `t`. */
function curricularAnchor(p: AnchorParams): AnchorTranslation {
  return { params: { scale: argNumber(p, 's', 64), margin: argNumber(p, 'm', 0.5) }, state: { t: 't' } };
}

/** The CurricularFace head, registered as `'curricularface'`. */
export const curricularface = defineHead<CurricularFaceParams, CurricularFaceState>({
  name: 'curricularface',
  summary: 'CurricularFace: ArcFace target; hard negatives → cos·(t + cos) with t an EMA of mean cos θy.',
  schema: curricularfaceParams,
  geometry: (p) => cosineGeometry(p),
  initialState: () => ({ t: 0 }),
  // t is updated from the margin-free target cosines, and the new t is used in the same forward.
  update: ({ p, state, geo, labels }) => {
    let sum = 0;
    for (let i = 0; i < geo.B; i++) sum += geo.cos[i * geo.C + labels[i]];
    return { t: p.momentum * (sum / geo.B) + (1 - p.momentum) * state.t };
  },
  margin: ({ p, state }) => ({
    angleMap: 'cos',
    target: { kind: 'angular', m1: 1, m2: p.margin, m3: 0, fallback: p.fallback },
    negatives: { kind: 'curricular', t: state.t, threshold: { m1: 1, m2: p.margin, m3: 0 } },
    scale: p.scale,
    loss: lossSpec(p),
    gradient: 'full',
  }),
  smallScale: { panel: { scale: 16, margin: 0.3 }, compare: { scale: 16, margin: 0.3 } },
  formula: 'target s·cos(θy + m),   hard negatives s·cos θj·(t + cos θj)',
  picture: {
    boundary: {
      label: 'CurricularFace',
      easy: 'cos(θy + m) = cos θj',
      hard: 'cos(θy + m) = (t + cos θj)·cos θj',
    },
    negativesAt: 60,
    formula:
      's·cos(θy + m) vs s·cos θj; hard negatives (cos θj > cos(θy + m)) → s·cos θj·(t + cos θj): damped while t is small (early), emphasised later',
    variants: (_p, given) =>
      given.has('t')
        ? [{ label: 'given t' }]
        : [0, 0.5, 0.9].map((t) => ({
            label: t === 0 ? 't = 0 (early)' : t === 0.9 ? 't = 0.9 (late)' : `t = ${t}`,
            state: { t },
          })),
  },
  effectiveMargin: (_p, { t }) =>
    `t = ${t.toFixed(3)}: hard negatives (cos θj > cos(θy + m)) become cos θj·(t + cos θj)${t > 0 ? ', emphasised' : ''}`,
  anchors: {
    'cavaface:CurricularFace': (p) => curricularAnchor(p),
    'facexzoo:CurricularFace': (p) => curricularAnchor(p),
  },
});
