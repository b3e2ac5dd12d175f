/**
 * SphereFace (Liu et al., CVPR 2017): multiplicative angular margin ψ(θ) = (−1)^k cos(mθ) − 2k, blended
 * with cos θ as (ψ + λ·cos θ)/(1 + λ) while λ anneals, logits scaled by the raw feature norm ‖x‖.
 */
import { z } from 'zod';
import { argNumber } from './anchor.js';
import { commonOptions, cosineGeometry, lossSpec } from './common.js';
import { defineHead, type HeadState } from './define.js';
import { fmt, num } from './picture.js';

/** Parameters of the SphereFace head and their defaults (see docs/losses/sphereface.md). */
export const spherefaceParams = z.strictObject({
  /** Integer angular multiplier. */
  m: z.number().int().min(1).max(5).default(4),
  /** λ = max(lambdaMin, lambdaBase·(1 + lambdaGamma·iter)^(−lambdaPower)). */
  lambdaBase: z.number().positive().default(1000),
  lambdaGamma: z.number().min(0).default(0.12),
  lambdaPower: z.number().min(0).default(1),
  lambdaMin: z.number().min(0).default(5),
  /** π used for k = ⌊mθ/π⌋: the reference code's truncated 3.14159265, or `exact`. */
  pi: z.enum(['reference', 'exact']).default('reference'),
  ...commonOptions,
});
/** SphereFace parameters after validation, defaults filled in. */
export type SphereFaceParams = z.infer<typeof spherefaceParams>;

/** The truncated π the reference code divides by when computing k. */
// biome-ignore lint/suspicious/noApproximativeNumericConstant: the reference's own constant, on purpose.
const REFERENCE_PI = 3.14159265;

/** SphereFace state: updated in training mode only, saved with the model. */
export interface SphereFaceState extends HeadState {
  /** Training iterations seen (incremented before λ is computed). */
  iter: number;
  lambda: number;
}

/**
 * SphereFace for a run of `totalSteps` steps (`faceverloss compare`): with the paper's
 * λ = 1000·(1 + 0.12·iter)^−1, λ reaches its floor of 5 after ~3,300 iterations, so a run of a few
 * hundred steps would end while SphereFace is still mostly softmax. γ is set so λ reaches the floor
 * halfway through the run instead.
 */
export function lambdaForBudget(totalSteps: number): Partial<SphereFaceParams> {
  const base = 1000;
  const floor = 5;
  return { lambdaGamma: (base / floor - 1) / Math.max(1, totalSteps / 2) };
}

/** The SphereFace head, registered as `'sphereface'`. */
export const sphereface = defineHead<SphereFaceParams, SphereFaceState>({
  name: 'sphereface',
  summary: 'SphereFace: multiplicative angular margin cos(mθ) with λ annealing, scaled by ‖x‖.',
  schema: spherefaceParams,
  geometry: (p) => cosineGeometry(p),
  initialState: (p) => ({ iter: 0, lambda: p.lambdaBase }),
  update: ({ p, state }) => {
    const iter = state.iter + 1;
    const lambda = Math.max(p.lambdaMin, p.lambdaBase * (1 + p.lambdaGamma * iter) ** -p.lambdaPower);
    return { iter, lambda };
  },
  margin: ({ p, state, geo }) => ({
    angleMap: 'cos',
    target: {
      kind: 'sphere',
      m: p.m,
      lambda: state.lambda,
      pi: p.pi === 'reference' ? REFERENCE_PI : Math.PI,
    },
    negatives: { kind: 'plain' },
    // The logit is ‖x‖·(…): the scale is the raw norm, and d scale/d‖x‖ = 1.
    scale: { value: geo.xNorm, dNorm: new Float64Array(geo.B).fill(1) },
    loss: lossSpec(p),
    gradient: 'full',
  }),
  smallScale: { panel: { m: 2 }, compareForSteps: lambdaForBudget },
  formula: 'target ‖x‖·(ψ(θy) + λ·cos θy)/(1 + λ),  ψ(θ) = (−1)^k·cos(mθ) − 2k,  k = ⌊mθ/π⌋',
  picture: {
    boundary: { label: 'SphereFace', easy: 'cos(m·θy) = cos θj' },
    formula: '‖x‖·(ψ(θy) + λ·cos θy)/(1 + λ) vs ‖x‖·cos θj;  ψ(θ) = (−1)^k·cos(mθ) − 2k, k = ⌊mθ/π⌋',
    variants: (p) => [
      { label: `λ = 0: pure ψ, m = ${fmt(num(p.m))}`, state: { iter: 0, lambda: 0 } },
      {
        label: `λ = ${fmt(num(p.lambdaMin))}: end of annealing`,
        state: { iter: 0, lambda: num(p.lambdaMin) },
      },
      { label: `λ = ${fmt(num(p.lambdaBase))}: start`, state: { iter: 0, lambda: num(p.lambdaBase) } },
    ],
  },
  anchors: {
    'cavaface:SphereFace': (p) => ({
      params: { m: argNumber(p, 'm', 4) },
      state: { iter: 'iter', lamb: 'lambda' },
    }),
  },
});
