/**
 * NPCFace (Zeng et al., 2020): hard negatives (cos θj > cos(θy + m0)) emphasised as t·cos θj + α, and
 * the positive margin of each sample grows with them: m_i = m0 + m1·mean(hard negatives), target
 * cos(θy + m_i) when cos θy > 0.
 */
import { z } from 'zod';
import { argNumber, FOCAL_OUTPUTS } from './anchor.js';
import { angularMargin, commonOptions, cosineGeometry, lossSpec, scaleValue } from './common.js';
import { defineHead } from './define.js';
import { describeParams, fmt, num } from './picture.js';

/** Parameters of the NPCFace head and their defaults (see docs/losses/npcface.md). */
export const npcfaceParams = z.strictObject({
  scale: scaleValue.default(32),
  /** Base positive margin. */
  m0: angularMargin.default(0.4),
  /** Growth of the margin with the mean hard negative. */
  m1: z.number().min(0).max(2).default(0.2),
  /** Hard-negative slope and offset: t·cos + α. */
  t: z.number().min(0).max(10).default(1.1),
  alpha: z.number().min(-1).max(2).default(0.25),
  /** Margin defining hard negatives (default: m0; FaceX-Zoo uses its own `margin`). */
  hardMargin: angularMargin.optional(),
  /** Average the emphasised hard logits (`modified`, paper) or their raw cosines (`raw`, FaceX-Zoo). */
  marginSource: z.enum(['modified', 'raw']).default('modified'),
  /** Whether the adaptive margin is differentiated (FaceVerLoss yes, FaceX-Zoo computes it under no_grad). */
  marginGradient: z.boolean().default(true),
  ...commonOptions,
});
/** NPCFace parameters after validation, defaults filled in. */
export type NpcFaceParams = z.infer<typeof npcfaceParams>;

/** The NPCFace head, registered as `'npcface'`. */
export const npcface = defineHead<NpcFaceParams>({
  name: 'npcface',
  summary: 'NPCFace: hard negatives → t·cos + α; positive margin m0 + m1·mean(hard negatives).',
  schema: npcfaceParams,
  geometry: (p) => cosineGeometry(p),
  margin: ({ p }) => ({
    angleMap: 'cos',
    target: { kind: 'angular', m1: 1, m2: p.m0, m3: 0, fallback: 'easy' },
    negatives: {
      kind: 'hard-linear',
      a: p.t,
      b: p.alpha,
      threshold: { m1: 1, m2: p.hardMargin ?? p.m0, m3: 0 },
      adaptive: { m0: p.m0, m1: p.m1, source: p.marginSource, gradient: p.marginGradient },
    },
    scale: p.scale,
    loss: lossSpec(p),
    gradient: 'full',
  }),
  smallScale: { panel: { scale: 16, m0: 0.2, m1: 0.1 } },
  formula: 'target s·cos(θy + m0 + m1·mean hard),   hard negatives s·(t·cos θj + α)',
  picture: {
    negativesAt: 60,
    formula: 's·cos(θy + m0 + m1·h) vs s·cos θj; hard negatives → s·(t·cos θj + α), h their mean',
    variants: (p, given) =>
      ['t', 'alpha', 'm1'].some((k) => given.has(k))
        ? [{ label: describeParams(p, ['m0', 'm1', 't', 'alpha']) }]
        : [
            { label: `emphasised: t = ${fmt(num(p.t))}, α = ${fmt(num(p.alpha))}` },
            { label: 'plain: t = 1, α = 0, m1 = 0', params: { t: 1, alpha: 0, m1: 0 } },
          ],
  },
  anchors: {
    'faceverloss:NPCFace': (p) => ({
      params: {
        scale: argNumber(p, 's', 32),
        t: argNumber(p, 't', 1.1),
        alpha: argNumber(p, 'α', 0.25),
        m0: argNumber(p, 'm0', 0.4),
        m1: argNumber(p, 'm1', 0.2),
        marginSource: 'modified',
        marginGradient: true,
        loss: 'focal',
        weightNorm: 'overwrite',
      },
      outputs: FOCAL_OUTPUTS,
    }),
    // FaceX-Zoo hard-codes m0 = 0.4, m1 = 0.2 and 1.1·cos + 0.2; its `margin` only selects hard negatives.
    'facexzoo:NPCFace': (p) => ({
      params: {
        scale: argNumber(p, 'scale', 32),
        m0: 0.4,
        m1: 0.2,
        t: 1.1,
        alpha: 0.2,
        hardMargin: argNumber(p, 'margin', 0.5),
        marginSource: 'raw',
        marginGradient: false,
      },
    }),
  },
});
