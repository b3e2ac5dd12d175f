/**
 * AdaFace (Kim et al., CVPR 2022): the feature norm is a proxy of image quality, so the margin adapts
 * to it. With the normalised norm ẑ_i = clip(h·(‖x_i‖ − μ)/(σ + ε), −1, 1) (μ, σ EMAs of the batch's
 * norms), the target is s·(cos(clip(θ − m·ẑ_i, ε, π − ε)) − (m + m·ẑ_i)).
 */
import { z } from 'zod';
import { angularMargin, commonOptions, cosineGeometry, lossSpec, scaleValue } from './common.js';
import { defineHead, type HeadState } from './define.js';
import { degrees, num } from './picture.js';

/** Parameters of the AdaFace head and their defaults (see docs/losses/adaface.md). */
export const adafaceParams = z.strictObject({
  scale: scaleValue.default(64),
  margin: angularMargin.default(0.4),
  /** Concentration h of the normalised norm. */
  h: z.number().positive().max(10).default(0.333),
  /** EMA weight of the batch statistics. */
  momentum: z.number().min(0).max(1).default(0.01),
  eps: z.number().positive().max(0.1).default(1e-3),
  ...commonOptions,
  clamp: commonOptions.clamp.default(1 - 1e-3),
});
/** AdaFace parameters after validation, defaults filled in. */
export type AdaFaceParams = z.infer<typeof adafaceParams>;

/** AdaFace state: updated in training mode only, saved with the model. */
export interface AdaFaceState extends HeadState {
  /** EMA of the batch mean and standard deviation of the (clipped) feature norms. */
  batchMean: number;
  batchStd: number;
}

/** Feature norms clipped to [0.001, 100], as used for the statistics (no gradient). */
function safeNorms(xNorm: Float64Array): Float64Array {
  return xNorm.map((n) => Math.min(100, Math.max(0.001, n)));
}

/**
 * The normalised norm ẑ of a feature norm under the batch statistics of `state`, and the angular and
 * additive margins it gives.
 */
export function adafaceMargins(
  p: AdaFaceParams,
  state: AdaFaceState,
  norm: number,
): { quality: number; angular: number; additive: number } {
  const n = safeNorms(Float64Array.of(norm))[0];
  const quality = Math.min(1, Math.max(-1, (p.h * (n - state.batchMean)) / (state.batchStd + p.eps)));
  return { quality, angular: -p.margin * quality, additive: p.margin + p.margin * quality };
}

/** The AdaFace head, registered as `'adaface'`. */
export const adaface = defineHead<AdaFaceParams, AdaFaceState>({
  name: 'adaface',
  summary: 'AdaFace: quality-adaptive margin driven by the feature norm.',
  schema: adafaceParams,
  geometry: (p) => cosineGeometry(p),
  initialState: () => ({ batchMean: 20, batchStd: 100 }),
  update: ({ p, state, geo }) => {
    const n = safeNorms(geo.xNorm);
    const mean = n.reduce((a, b) => a + b, 0) / n.length;
    // Unbiased standard deviation (torch.std); a single sample has none, so keep the EMA.
    const variance =
      n.length > 1 ? n.reduce((a, b) => a + (b - mean) ** 2, 0) / (n.length - 1) : state.batchStd ** 2;
    return {
      batchMean: p.momentum * mean + (1 - p.momentum) * state.batchMean,
      batchStd: p.momentum * Math.sqrt(variance) + (1 - p.momentum) * state.batchStd,
    };
  },
  margin: ({ p, state, geo }) => {
    const angular = new Float64Array(geo.B);
    const additive = new Float64Array(geo.B);
    for (let i = 0; i < geo.B; i++) {
      const margins = adafaceMargins(p, state, geo.xNorm[i]);
      angular[i] = margins.angular;
      additive[i] = margins.additive;
    }
    return {
      angleMap: 'cos',
      target: {
        kind: 'angular',
        m1: 1,
        m2: { value: angular },
        m3: { value: additive },
        fallback: 'clip',
        clipEps: p.eps,
      },
      negatives: { kind: 'plain' },
      scale: p.scale,
      loss: lossSpec(p),
      gradient: 'full',
    };
  },
  smallScale: { panel: { scale: 16, margin: 0.3 } },
  formula: 'target s·(cos(clip(θy − m·ẑ)) − (m + m·ẑ)),  ẑ = clip(h·(‖x‖ − μ)/(σ + ε), −1, 1)',
  picture: {
    formula: 's·(cos(θy − m·ẑ) − m − m·ẑ) vs s·cos θj;  ẑ ∈ [−1, 1] the normalised feature norm',
    variants: (p) => {
      // With batch statistics μ = 20, σ = 1, a norm of μ + ẑ·(σ + ε)/h gives exactly ẑ.
      const step = (1 + num(p.eps)) / num(p.h);
      return [-1, 0, 1].map((z) => ({
        label: z === -1 ? 'ẑ = −1 (low quality)' : z === 1 ? 'ẑ = +1 (high quality)' : 'ẑ = 0',
        state: { batchMean: 20, batchStd: 1 },
        xNorm: 20 + z * step,
      }));
    },
  },
  effectiveMargin: (p, state, xNorm) => {
    const a = adafaceMargins(p, state, xNorm);
    return `At ‖x‖ = ${xNorm}: quality ẑ = ${a.quality.toFixed(3)}, angular margin ${a.angular.toFixed(3)} rad (${degrees(a.angular)}), additive margin ${a.additive.toFixed(3)}`;
  },
});
