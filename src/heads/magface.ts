/**
 * MagFace (Meng et al., CVPR 2021): an ArcFace margin that grows with the feature magnitude a = ‖x‖,
 * m(a) = l_m + (u_m − l_m)·(a − l_a)/(u_a − l_a), plus the regulariser λg·g(a), g(a) = a/u_a² + 1/a,
 * which rewards larger norms for easier samples. Both are differentiated through ‖x‖.
 */
import { z } from 'zod';
import { argNumber } from './anchor.js';
import { angularMargin, commonOptions, cosineGeometry, lossSpec, scaleValue } from './common.js';
import { defineHead } from './define.js';
import { degrees, fmt, num } from './picture.js';

/** Parameters of the MagFace head and their defaults (see docs/losses/magface.md). */
export const magfaceParams = z
  .strictObject({
    scale: scaleValue.default(64),
    lowerNorm: z.number().positive().default(10),
    upperNorm: z.number().positive().default(110),
    lowerMargin: angularMargin.default(0.45),
    upperMargin: angularMargin.default(0.8),
    /** Weight λg of the magnitude regulariser. */
    lambda: z.number().min(0).default(20),
    /** Past θ + m > π: `thmm` (paper code) or `am` (FaceX-Zoo, cos θ − fallbackMargin). */
    fallback: z.enum(['thmm', 'am', 'easy', 'none']).default('thmm'),
    fallbackMargin: z.number().min(0).max(2).default(0),
    ...commonOptions,
  })
  .refine((p) => p.upperNorm > p.lowerNorm, {
    message: 'upperNorm must exceed lowerNorm',
    path: ['upperNorm'],
  });
/** MagFace parameters after validation, defaults filled in. */
export type MagFaceParams = z.infer<typeof magfaceParams>;

/** Clamped magnitude a, and whether the clamp is inactive (gradient passes, bounds included). */
function magnitude(p: MagFaceParams, norm: number): { a: number; live: boolean } {
  const a = Math.min(p.upperNorm, Math.max(p.lowerNorm, norm));
  return { a, live: norm >= p.lowerNorm && norm <= p.upperNorm };
}

/** The angular margin m(a) at feature norm `norm`: linear from lowerMargin to upperMargin over the bounds. */
export function magfaceMargin(p: MagFaceParams, norm: number): number {
  const slope = (p.upperMargin - p.lowerMargin) / (p.upperNorm - p.lowerNorm);
  return slope * (magnitude(p, norm).a - p.lowerNorm) + p.lowerMargin;
}

/** The MagFace head, registered as `'magface'`. */
export const magface = defineHead<MagFaceParams>({
  name: 'magface',
  summary: 'MagFace: magnitude-aware angular margin plus a magnitude regulariser.',
  schema: magfaceParams,
  geometry: (p) => cosineGeometry(p),
  margin: ({ p, geo }) => {
    const slope = (p.upperMargin - p.lowerMargin) / (p.upperNorm - p.lowerNorm);
    const m = new Float64Array(geo.B);
    const dm = new Float64Array(geo.B);
    for (let i = 0; i < geo.B; i++) {
      m[i] = magfaceMargin(p, geo.xNorm[i]);
      dm[i] = magnitude(p, geo.xNorm[i]).live ? slope : 0;
    }
    return {
      angleMap: 'cos',
      target: {
        kind: 'angular',
        m1: 1,
        m2: { value: m, dNorm: dm },
        m3: 0,
        fallback: p.fallback,
        fallbackMargin: p.fallbackMargin,
      },
      negatives: { kind: 'plain' },
      scale: p.scale,
      loss: lossSpec(p),
      gradient: 'full',
    };
  },
  extraTerms: ({ p, geo, X, training }) => {
    const { B, D } = geo;
    const g = new Float64Array(B);
    const dX = new Float64Array(B * D);
    let loss = 0;
    for (let i = 0; i < B; i++) {
      const { a, live } = magnitude(p, geo.xNorm[i]);
      g[i] = p.lambda * (a / p.upperNorm ** 2 + 1 / a);
      loss += g[i] / B;
      if (!training || !live) continue;
      const dA = (p.lambda / B) * (1 / p.upperNorm ** 2 - 1 / (a * a));
      for (let d = 0; d < D; d++) dX[i * D + d] = (dA * X[i * D + d]) / geo.xNorm[i];
    }
    return training ? { loss, parts: { magnitude: g }, dX } : { loss: 0, parts: { magnitude: g } };
  },
  tf: {
    extraLoss: ({ tf, p, geo, training }) => {
      // clipByValue passes the gradient with its bounds included, as `magnitude`'s `live` test.
      const a = tf.clipByValue(geo.xNorm, p.lowerNorm, p.upperNorm);
      const g = tf.mul(p.lambda, tf.add(tf.div(a, p.upperNorm ** 2), tf.div(1, a)));
      return { loss: training ? tf.mean(g) : tf.scalar(0), parts: { magnitude: g } };
    },
  },
  smallScale: { panel: { scale: 16, lowerMargin: 0.2, upperMargin: 0.4 } },
  formula: 'target s·cos(θy + m(‖x‖)),  m(a) linear from l_m to u_m over [l_a, u_a]',
  picture: {
    formula: 's·cos(θy + m(a)) vs s·cos θj;  m(a) grows linearly with the feature norm a = ‖x‖',
    variants: (p) => {
      const lo = num(p.lowerNorm);
      const hi = num(p.upperNorm);
      return [lo, (lo + hi) / 2, hi].map((a) => ({ label: `‖x‖ = ${fmt(a)}`, xNorm: a }));
    },
  },
  effectiveMargin: (p, _state, xNorm) => {
    const m = magfaceMargin(p, xNorm);
    return `Effective margin at ‖x‖ = ${xNorm}: m(‖x‖) = ${m.toFixed(3)} rad (${degrees(m)})`;
  },
  anchors: {
    'facexzoo:MagFace': (p) => ({
      params: {
        scale: argNumber(p, 'scale', 64),
        lowerNorm: argNumber(p, 'l_a', 10),
        upperNorm: argNumber(p, 'u_a', 110),
        lowerMargin: argNumber(p, 'l_margin', 0.45),
        upperMargin: argNumber(p, 'u_margin', 0.8),
        lambda: argNumber(p, 'lamda', 20),
        fallback: 'am',
        fallbackMargin: argNumber(p, 'margin_am', 0),
      },
      outputs: { logits: 'logits', loss: 'loss', lamda_loss_g: 'parts.magnitude' },
    }),
  },
});
