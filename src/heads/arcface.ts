/**
 * ArcFace (Deng et al., CVPR 2019): additive angular margin, target logit s·cos(θy + m).
 * Past θ + m > π the reference implementations disagree; `fallback` selects each behaviour.
 */
import { z } from 'zod';
import { argFlag, argNumber, FOCAL_OUTPUTS, INSIGHTFACE_OUTPUTS } from './anchor.js';
import {
  angularMargin,
  commonOptions,
  cosineGeometry,
  gradientOption,
  lossSpec,
  scaleValue,
} from './common.js';
import { defineHead } from './define.js';
import { fmt, num } from './picture.js';

/** Parameters of the ArcFace head and their defaults (see docs/losses/arcface.md). */
export const arcfaceParams = z.strictObject({
  scale: scaleValue.default(64),
  margin: angularMargin.default(0.5),
  /**
   * `thmm` (paper code, cavaface): cos θ − m·sin(π − m) once θ + m > π; `easy`: keep cos θ when
   * cos θ ≤ 0; `am` (FaceX-Zoo): cos θ − fallbackMargin; `none` (insightface): cos(θ + m) as is.
   */
  fallback: z.enum(['thmm', 'easy', 'am', 'none']).default('thmm'),
  /** Subtracted by the `am` fallback (FaceX-Zoo `margin_am`). */
  fallbackMargin: z.number().min(0).max(2).default(0),
  gradient: gradientOption,
  ...commonOptions,
});
/** ArcFace parameters after validation, defaults filled in. */
export type ArcFaceParams = z.infer<typeof arcfaceParams>;

/** Caption of ArcFace-like pictures (Sub-center ArcFace shares it). */
export const arcFallbackCaption = 's·cos(θy + m) vs s·cos θj; past θy + m > π the `fallback` branch';

/** The ArcFace head, registered as `'arcface'`. */
export const arcface = defineHead<ArcFaceParams>({
  name: 'arcface',
  summary: 'ArcFace: additive angular margin, target s·cos(θ + m).',
  schema: arcfaceParams,
  geometry: (p) => cosineGeometry(p),
  margin: ({ p }) => ({
    angleMap: 'cos',
    target: {
      kind: 'angular',
      m1: 1,
      m2: p.margin,
      m3: 0,
      fallback: p.fallback,
      fallbackMargin: p.fallbackMargin,
    },
    negatives: { kind: 'plain' },
    scale: p.scale,
    loss: lossSpec(p),
    gradient: p.gradient,
  }),
  smallScale: { panel: { scale: 16, margin: 0.3 }, compare: { scale: 16, margin: 0.3 } },
  formula: 'target s·cos(θy + m)  (fallback once θy + m > π),   others s·cos θj',
  picture: {
    boundary: { label: 'ArcFace', easy: 'cos(θy + m) = cos θj' },
    formula: `${arcFallbackCaption} (thmm: cos θy − m·sin m; none: cos(θy + m) as is). A constant gap m in the angle plane.`,
    variants: (p, given) =>
      given.has('fallback') || p.fallback === 'none'
        ? [{ label: `m = ${fmt(num(p.margin))}, fallback ${String(p.fallback)}` }]
        : [
            { label: `m = ${fmt(num(p.margin))}, fallback ${String(p.fallback)}` },
            { label: 'fallback none (cos(θy + m) past π)', params: { fallback: 'none' } },
          ],
  },
  anchors: {
    'cavaface:ArcFace': (p) => ({
      params: { scale: argNumber(p, 's', 64), margin: argNumber(p, 'm', 0.5), fallback: 'thmm' },
    }),
    'facexzoo:ArcFace': (p) => ({
      params: {
        scale: argNumber(p, 'scale', 32),
        margin: argNumber(p, 'margin_arc', 0.35),
        fallback: 'am',
        fallbackMargin: argNumber(p, 'margin_am', 0),
      },
    }),
    'faceverloss:ArcFace': (p) => ({
      params: {
        scale: argNumber(p, 'scale'),
        margin: argNumber(p, 'margin'),
        fallback: argFlag(p, 'easy_margin') ? 'easy' : 'thmm',
        loss: 'focal',
      },
      outputs: FOCAL_OUTPUTS,
    }),
    'insightface:ArcFace': (p) => ({
      params: {
        scale: argNumber(p, 's', 64),
        margin: argNumber(p, 'margin', 0.5),
        fallback: 'none',
        gradient: 'straight-through',
        loss: 'distce',
      },
      outputs: INSIGHTFACE_OUTPUTS,
    }),
  },
});
