/**
 * MV-Softmax (Wang et al., AAAI 2020): a CosFace (`am`) or ArcFace (`arc`) target, and mis-classified
 * negatives — cos θj above the margin target — emphasised as (t + 1)·cos θj + t.
 */
import { z } from 'zod';
import type { Fallback } from '../margin/spec.js';
import { argFlag, argNumber } from './anchor.js';
import { angularMargin, commonOptions, cosineGeometry, lossSpec, scaleValue } from './common.js';
import { defineHead } from './define.js';
import { fmt, sweep } from './picture.js';

/** Parameters of the MV-Softmax head and their defaults (see docs/losses/mvsoftmax.md). */
export const mvsoftmaxParams = z.strictObject({
  type: z.enum(['am', 'arc']).default('am'),
  scale: scaleValue.default(32),
  margin: angularMargin.default(0.35),
  /** Hard-negative weight t ≥ 0 (FaceX-Zoo's `mv_weight` is t + 1). */
  t: z.number().min(0).max(10).default(0.2),
  /**
   * When the target gets its margin: `none` always; `easy` only if cos θy > 0 (cavaface easy_margin,
   * FaceX-Zoo MV-Arc); `above-margin` only if cos θy > m (FaceX-Zoo MV-AM).
   */
  fallback: z.enum(['none', 'easy', 'above-margin']).default('none'),
  ...commonOptions,
});
/** MV-Softmax parameters after validation, defaults filled in. */
export type MvSoftmaxParams = z.infer<typeof mvsoftmaxParams>;

/** The MV-Softmax head, registered as `'mvsoftmax'`. */
export const mvsoftmax = defineHead<MvSoftmaxParams>({
  name: 'mvsoftmax',
  summary: 'MV-Softmax: CosFace/ArcFace target; mis-classified negatives → (t + 1)·cos + t.',
  schema: mvsoftmaxParams,
  geometry: (p) => cosineGeometry(p),
  margin: ({ p }) => {
    // The raw margin target (no fallback) decides which negatives are mis-classified.
    const m = p.type === 'am' ? { m1: 1, m2: 0, m3: p.margin } : { m1: 1, m2: p.margin, m3: 0 };
    return {
      angleMap: 'cos',
      target: { kind: 'angular', ...m, fallback: p.fallback as Fallback },
      negatives: { kind: 'hard-linear', a: p.t + 1, b: p.t, threshold: m },
      scale: p.scale,
      loss: lossSpec(p),
      gradient: 'full',
    };
  },
  smallScale: {
    panel: { scale: 16, margin: 0.2 },
    // MV-Arc in compare: ArcFace's target, so its row differs from ArcFace's only by the hard-negative weighting.
    compare: { type: 'arc', scale: 16, margin: 0.3 },
  },
  formula: 'target s·(cos θy − m) or s·cos(θy + m),   mis-classified negatives s·((t + 1)·cos θj + t)',
  picture: {
    boundary: {
      label: 'MV-Arc-Softmax',
      easy: 'cos(θy + m) = cos θj',
      hard: 'cos(θy + m) = (t + 1)·cos θj + t',
    },
    negativesAt: 60,
    formula:
      's·(cos θy − m) vs s·cos θj (type am); mis-classified negatives → s·((t + 1)·cos θj + t): they already lose, so the boundary stays and only their logit rises',
    variants: sweep('t', [0, 0.2, 0.5, 1], (t) => (t === 0 ? 't = 0 (plain margin)' : `t = ${fmt(t)}`), [
      't',
    ]),
  },
  anchors: {
    'cavaface:SVXSoftmax': (p) => ({
      params: {
        type: p.xtype === 'MV-AM' ? 'am' : 'arc',
        scale: argNumber(p, 's', 32),
        margin: argNumber(p, 'm', 0.35),
        t: argNumber(p, 't', 0.2),
        fallback: argFlag(p, 'easy_margin') ? 'easy' : 'none',
      },
    }),
    'facexzoo:MV_Softmax': (p) => {
      const am = argNumber(p, 'is_am', 1) === 1;
      return {
        params: {
          type: am ? 'am' : 'arc',
          scale: argNumber(p, 'scale', 32),
          margin: argNumber(p, 'margin', 0.35),
          t: argNumber(p, 'mv_weight', 1.12) - 1,
          fallback: am ? 'above-margin' : 'easy',
          clamp: null,
        },
      };
    },
  },
});
