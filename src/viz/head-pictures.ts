/**
 * What to draw for each head: a short formula for the caption, and the curves worth comparing for heads
 * whose boundary depends on a parameter, on state, or on the embedding norm (MV-Softmax's t,
 * CurricularFace's t, SphereFace's λ, MagFace's and AdaFace's norms, …). Only captions and parameter
 * choices live here; every boundary is computed by the head itself.
 */

/** One curve: parameters and state on top of the head's (validated) parameters, and a norm. */
export interface BoundaryVariant {
  label: string;
  params?: Record<string, unknown>;
  state?: Record<string, number>;
  /** Embedding norm ‖x‖ (default 1). */
  xNorm?: number;
}

/**
 * The curves to draw for a head, given its resolved parameters (defaults filled in) and the keys the user
 * set explicitly (a parameter the user fixed is not swept).
 */
export type VariantsOf = (p: Record<string, unknown>, given: ReadonlySet<string>) => BoundaryVariant[];

/** How a head is pictured. */
export interface HeadPicture {
  /** The logits being compared, target vs negative (caption). */
  formula: string;
  /** Curves to draw; the first is the head as configured and gets the shaded region. */
  variants: VariantsOf;
  /** Heads without a margin of their own (CenterLoss) show the head they are added to. */
  boundaryHead?: string;
  /**
   * For heads that transform hard negatives: the target angle θy (degrees) at which a third panel
   * shows both logits as cos θj sweeps [−1, 1], so the hard-negative treatment is visible even where
   * it does not move the boundary (MV-Softmax only changes logits that already lose).
   */
  negativesAt?: number;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
const fmt = (v: number): string => String(Number(v.toFixed(3)));

/** Short label of the parameters that shape a boundary. */
function describe(p: Record<string, unknown>, keys: readonly string[]): string {
  const parts = keys.filter((k) => typeof p[k] === 'number').map((k) => `${k} = ${fmt(num(p[k]))}`);
  return parts.length > 0 ? parts.join(', ') : 'defaults';
}

const single =
  (...keys: string[]): VariantsOf =>
  (p) => [{ label: describe(p, keys) }];

/** Sweep one parameter unless the user fixed it (then draw only the configured head). */
function sweep(
  key: string,
  values: readonly number[],
  label: (v: number) => string,
  fallbackKeys: readonly string[],
): VariantsOf {
  return (p, given) =>
    given.has(key)
      ? [{ label: describe(p, fallbackKeys) }]
      : [
          { label: label(num(p[key])) },
          ...values.filter((v) => v !== p[key]).map((v) => ({ label: label(v), params: { [key]: v } })),
        ];
}

const arcFallback = 's·cos(θy + m) vs s·cos θj; past θy + m > π the `fallback` branch';

const pictures: Record<string, HeadPicture> = {
  softmax: {
    formula: 'w_y·x + b_y vs w_j·x + b_j, drawn for unit vectors and zero bias: cos θy vs cos θj (no margin)',
    variants: () => [{ label: 'no margin' }],
  },
  normface: { formula: 's·cos θy vs s·cos θj (no margin)', variants: () => [{ label: 'no margin' }] },
  sphereface: {
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
  cosface: {
    formula:
      's·(cos θy − m) vs s·cos θj: a constant gap m in the cosine plane, wider in angle near 0° and 180°',
    variants: single('margin'),
  },
  amsoftmax: {
    formula:
      's·(cos θy − m) vs s·cos θj: a constant gap m in the cosine plane, wider in angle near 0° and 180°',
    variants: single('margin'),
  },
  arcface: {
    formula: `${arcFallback} (thmm: cos θy − m·sin m; none: cos(θy + m) as is). A constant gap m in the angle plane.`,
    variants: (p, given) =>
      given.has('fallback') || p.fallback === 'none'
        ? [{ label: `m = ${fmt(num(p.margin))}, fallback ${String(p.fallback)}` }]
        : [
            { label: `m = ${fmt(num(p.margin))}, fallback ${String(p.fallback)}` },
            { label: 'fallback none (cos(θy + m) past π)', params: { fallback: 'none' } },
          ],
  },
  'subcenter-arcface': {
    formula: `${arcFallback}; cos θ is the max over the class's K sub-centres`,
    variants: (p) => [{ label: `m = ${fmt(num(p.margin))}, fallback ${String(p.fallback)}` }],
  },
  combined: { formula: 's·(cos(m1·θy + m2) − m3) vs s·cos θj', variants: single('m1', 'm2', 'm3') },
  curricularface: {
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
  mvsoftmax: {
    negativesAt: 60,
    formula:
      's·(cos θy − m) vs s·cos θj (type am); mis-classified negatives → s·((t + 1)·cos θj + t): they already lose, so the boundary stays and only their logit rises',
    variants: sweep('t', [0, 0.2, 0.5, 1], (t) => (t === 0 ? 't = 0 (plain margin)' : `t = ${fmt(t)}`), [
      't',
    ]),
  },
  circleloss: {
    formula: 'γ·αp·(cos θy − 1 + m) vs γ·αn·(cos θj − m);  αp = [1 + m − cos θy]₊, αn = [cos θj + m]₊',
    variants: single('margin'),
  },
  discface: {
    formula: 's·(cos θy − m) vs s·cos θj (its displacement term does not move the boundary)',
    variants: single('margin'),
  },
  npcface: {
    negativesAt: 60,
    formula: 's·cos(θy + m0 + m1·h) vs s·cos θj; hard negatives → s·(t·cos θj + α), h their mean',
    variants: (p, given) =>
      ['t', 'alpha', 'm1'].some((k) => given.has(k))
        ? [{ label: describe(p, ['m0', 'm1', 't', 'alpha']) }]
        : [
            { label: `emphasised: t = ${fmt(num(p.t))}, α = ${fmt(num(p.alpha))}` },
            { label: 'plain: t = 1, α = 0, m1 = 0', params: { t: 1, alpha: 0, m1: 0 } },
          ],
  },
  centerloss: {
    formula: 'no margin: ‖x − c_y‖² is added to a softmax head; its boundary is shown',
    variants: () => [{ label: 'softmax (no margin)' }],
    boundaryHead: 'softmax',
  },
  adacos: {
    formula: 's·cos θy vs s·cos θj with an adaptive scale s (no margin)',
    variants: () => [{ label: 'no margin (s = √2·ln 999)', state: { s: Math.SQRT2 * Math.log(999) } }],
  },
  magface: {
    formula: 's·cos(θy + m(a)) vs s·cos θj;  m(a) grows linearly with the feature norm a = ‖x‖',
    variants: (p) => {
      const lo = num(p.lowerNorm);
      const hi = num(p.upperNorm);
      return [lo, (lo + hi) / 2, hi].map((a) => ({ label: `‖x‖ = ${fmt(a)}`, xNorm: a }));
    },
  },
  adamsoftmax: {
    formula: 's·(cos θy − m_y) vs s·cos θj; m_y learnable per class (drawn at its initial value)',
    variants: () => [{ label: 'initial margin' }],
  },
  arcnegface: {
    negativesAt: 60,
    formula: 's·cos(θy + m) vs s·(r·cos θj + r − 1);  r = α·exp(−(cos θj − cos(θy + m))²/σ)',
    variants: (p, given) =>
      given.has('alpha') || given.has('sigma')
        ? [{ label: describe(p, ['margin', 'alpha', 'sigma']) }]
        : [
            { label: `α = ${fmt(num(p.alpha))}, σ = ${fmt(num(p.sigma))}` },
            { label: 'σ = 0.5 (narrower)', params: { sigma: 0.5 } },
            { label: 'α = 1, σ = 100 (≈ ArcFace)', params: { alpha: 1, sigma: 100 } },
          ],
  },
  airface: { formula: 's·(π − 2(θy + m))/π vs s·(π − 2θj)/π', variants: single('margin') },
  qamface: { formula: 's·(2π − (θy + m))² vs s·(2π − θj)²', variants: single('margin') },
  adaface: {
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
  elasticface: {
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
};

/** How `name` is pictured; heads added later get their summary-free default (one curve). */
export function headPicture(name: string): HeadPicture {
  return (
    pictures[name] ?? {
      formula: 'target logit vs negative logit',
      variants: () => [{ label: 'defaults' }],
    }
  );
}
