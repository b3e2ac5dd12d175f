/**
 * ElasticFace (Boutros et al., CVPRW 2022): the margin of each sample is drawn from N(m, σ) every step
 * (ArcFace `arc` or CosFace `cos` form). ElasticFace+ (`plus`) gives the smallest drawn margins to the
 * samples closest to their class centre.
 */
import { z } from 'zod';
import { UnsupportedConfigError } from '../errors.js';
import type { RowParam } from '../margin/spec.js';
import {
  angularMargin,
  commonOptions,
  cosineGeometry,
  gradientOption,
  lossSpec,
  scaleValue,
} from './common.js';
import { defineHead, type HeadContext } from './define.js';
import { fmt, num } from './picture.js';

/** Parameters of the ElasticFace head and their defaults (see docs/losses/elasticface.md). */
export const elasticfaceParams = z.strictObject({
  type: z.enum(['arc', 'cos']).default('arc'),
  scale: scaleValue.default(64),
  margin: angularMargin.default(0.5),
  sigma: z.number().min(0).max(1).default(0.05),
  plus: z.boolean().default(false),
  /** The reference code applies the margin under no_grad (`straight-through`); default exact. */
  gradient: gradientOption,
  ...commonOptions,
});
/** ElasticFace parameters after validation, defaults filled in. */
export type ElasticFaceParams = z.infer<typeof elasticfaceParams>;

function drawMargins(ctx: HeadContext<ElasticFaceParams>): Float64Array {
  const { p, rng, B, C, geo, labels } = ctx;
  if (!rng) throw new UnsupportedConfigError('elasticface needs a seeded rng (createHead(..., { rng }))');
  const m = Float64Array.from({ length: B }, () => p.margin + p.sigma * rng.normal());
  if (!p.plus) return m;
  // Sorted margins, smallest first, go to rows in order of decreasing target cosine.
  const order = Array.from({ length: B }, (_, i) => i).sort(
    (a, b) => geo.cos[b * C + labels[b]] - geo.cos[a * C + labels[a]],
  );
  const sorted = Float64Array.from(m).sort();
  const out = new Float64Array(B);
  order.forEach((row, k) => {
    out[row] = sorted[k];
  });
  return out;
}

/** The ElasticFace head, registered as `'elasticface'`. */
export const elasticface = defineHead<ElasticFaceParams>({
  name: 'elasticface',
  summary: 'ElasticFace: per-sample margins drawn from a normal distribution.',
  schema: elasticfaceParams,
  geometry: (p) => cosineGeometry(p),
  margin: (ctx) => {
    const { p } = ctx;
    const m: RowParam = ctx.training ? { value: drawMargins(ctx) } : 0;
    return {
      angleMap: 'cos',
      target:
        p.type === 'arc'
          ? { kind: 'angular', m1: 1, m2: m, m3: 0, fallback: 'none' }
          : { kind: 'angular', m1: 1, m2: 0, m3: m, fallback: 'none' },
      negatives: { kind: 'plain' },
      scale: p.scale,
      loss: lossSpec(p),
      gradient: p.gradient,
    };
  },
  smallScale: { panel: { scale: 16, margin: 0.3 } },
  formula: 'target s·cos(θy + m_i) or s·(cos θy − m_i),  m_i ~ N(m, σ) per sample (per grid point here)',
  picture: {
    formula: 's·cos(θy + m_i) vs s·cos θj;  m_i ~ N(m, σ) per sample (drawn at m and m ± σ)',
    variants: (p) => {
      const m = num(p.margin);
      const s = num(p.sigma);
      const at = (v: number, label: string) => ({
        label: `${label} = ${fmt(v)}`,
        params: { sigma: 0, margin: Math.min(Math.PI - 1e-9, Math.max(0, v)) },
      });
      return s > 0 ? [at(m, 'm'), at(m - s, 'm − σ'), at(m + s, 'm + σ')] : [at(m, 'm')];
    },
  },
});
