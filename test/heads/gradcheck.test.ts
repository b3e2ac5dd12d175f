/**
 * Finite-difference check of the fp64 oracle's analytic gradients, for every registered head (and the
 * anchor-emulating options that change the gradient): dloss/dX, dloss/dW and dloss/d every learnable extra.
 *
 * Inputs sit away from branch thresholds: target cosines are set exactly (see helpers/inputs.ts) to values
 * clear of θ + m = π, cos θ = 0, SphereFace's k boundaries and the clamps.
 */
import { describe, expect, it } from 'vitest';
import { createHead, type HeadState, headNames } from '../../src/heads/index.js';
import { createRng } from '../../src/rng.js';
import { centralDifference, relativeError } from '../helpers/finite-difference.js';
import { frozenLoss } from '../helpers/heads.js';
import { type BatchOptions, makeBatch } from '../helpers/inputs.js';

/** Target cosines on both sides of ArcFace's θ + m = π (cos(π − 0.5) ≈ −0.878) and of cos θ = 0. */
const TARGETS = [0.85, 0.4, -0.3, -0.95, 0.1, 0.6];
const STEP = 1e-6;
const TOLERANCE = 1e-6;

interface GradCase {
  label: string;
  head: string;
  params?: Record<string, unknown>;
  batch?: Partial<BatchOptions>;
  /** State before the forward (default: the head's initial state). */
  state?: HeadState;
  /** Hand-written surrogate for heads whose reference detaches a factor computed from the cosines. */
  surrogate?: 'circle' | 'arcneg';
}

const cases: GradCase[] = [
  { label: 'softmax (with bias)', head: 'softmax' },
  { label: 'normface', head: 'normface' },
  { label: 'cosface', head: 'cosface' },
  { label: 'amsoftmax', head: 'amsoftmax' },
  { label: 'amsoftmax, overwrite W', head: 'amsoftmax', params: { weightNorm: 'overwrite' } },
  { label: 'arcface thmm', head: 'arcface' },
  { label: 'arcface easy', head: 'arcface', params: { fallback: 'easy' } },
  { label: 'arcface am', head: 'arcface', params: { fallback: 'am', fallbackMargin: 0.2 } },
  { label: 'arcface none', head: 'arcface', params: { fallback: 'none' } },
  { label: 'arcface focal', head: 'arcface', params: { loss: 'focal', scale: 16 } },
  // DistCE's gradient ignores its clamp p_y ≥ 1e-30 (as the anchor's does): keep every p_y above it.
  { label: 'arcface distce', head: 'arcface', params: { loss: 'distce', scale: 16 } },
  { label: 'combined', head: 'combined' },
  { label: 'combined m1 = 2', head: 'combined', params: { m1: 2, m2: 0.1, m3: 0.1, fallback: 'none' } },
  { label: 'sphereface (iteration 1)', head: 'sphereface' },
  { label: 'sphereface (λ at its floor)', head: 'sphereface', state: { iter: 5000, lambda: 5 } },
  { label: 'curricularface', head: 'curricularface', state: { t: 0.4 } },
  { label: 'mvsoftmax am', head: 'mvsoftmax' },
  { label: 'mvsoftmax arc', head: 'mvsoftmax', params: { type: 'arc', fallback: 'easy' } },
  { label: 'circleloss pair', head: 'circleloss', params: { scale: 32 }, surrogate: 'circle' },
  { label: 'circleloss ce', head: 'circleloss', params: { scale: 32, form: 'ce' }, surrogate: 'circle' },
  { label: 'discface shared ξ', head: 'discface' },
  { label: 'discface per-class ξ', head: 'discface', params: { displacement: 'per-class' } },
  {
    label: 'discface per-class ξ above its cap',
    head: 'discface',
    params: { displacement: 'per-class', maxNorm: 0.05 },
  },
  {
    label: 'discface as FaceVerLoss DiscFace_AM (per-class, cap, overwrite W, focal)',
    head: 'discface',
    params: { displacement: 'per-class', maxNorm: 0.05, weightNorm: 'overwrite', loss: 'focal' },
  },
  { label: 'npcface', head: 'npcface' },
  { label: 'npcface, overwrite W', head: 'npcface', params: { weightNorm: 'overwrite' } },
  { label: 'centerloss', head: 'centerloss' },
  { label: 'adacos', head: 'adacos' },
  {
    label: 'magface (margin and g through ‖x‖)',
    head: 'magface',
    batch: { norms: [15, 30, 45, 60, 80, 100] },
  },
  { label: 'adamsoftmax', head: 'adamsoftmax' },
  { label: 'arcnegface', head: 'arcnegface', surrogate: 'arcneg' },
  { label: 'airface', head: 'airface' },
  { label: 'qamface', head: 'qamface' },
  {
    // Norms far from μ saturate the quality indicator at ±1, where the (detached) margin is locally constant.
    label: 'adaface (saturated indicator)',
    head: 'adaface',
    state: { batchMean: 20, batchStd: 1 },
    batch: { norms: [2, 40, 5, 60, 8, 50] },
  },
  { label: 'subcenter-arcface', head: 'subcenter-arcface', batch: { K: 3 } },
  { label: 'elasticface arc', head: 'elasticface' },
  { label: 'elasticface cos', head: 'elasticface', params: { type: 'cos', margin: 0.35 } },
  { label: 'elasticface+ arc', head: 'elasticface', params: { plus: true } },
];

describe('the cases cover every registered head', () => {
  it('has at least one case per head name', () => {
    const covered = new Set(cases.map((c) => c.head));
    expect(headNames.filter((n) => !covered.has(n))).toEqual([]);
  });
});

// ---- Surrogates: the loss with the detached factors frozen at their values at the base point ----

function cosines(X: Float64Array, W: Float64Array, B: number, D: number, C: number): Float64Array {
  const cos = new Float64Array(B * C);
  for (let i = 0; i < B; i++) {
    const xn = Math.hypot(...X.subarray(i * D, i * D + D));
    for (let j = 0; j < C; j++) {
      const wn = Math.hypot(...W.subarray(j * D, j * D + D));
      let dot = 0;
      for (let d = 0; d < D; d++) dot += X[i * D + d] * W[j * D + d];
      cos[i * C + j] = dot / (xn * wn);
    }
  }
  return cos;
}

function meanCe(logits: Float64Array, labels: Int32Array, C: number): number {
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * C, i * C + C);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    total += lse - row[labels[i]];
  }
  return total / labels.length;
}

/** ArcFace target with the `thmm` fallback (ArcNegFace's target). */
function arcThmm(c: number, m: number): number {
  return c > Math.cos(Math.PI - m) ? Math.cos(Math.acos(c) + m) : c - Math.sin(Math.PI - m) * m;
}

/**
 * CircleLoss with αp = [1 + m − cos]₊ and αn = [cos + m]₊ computed from `cos0` (the base point), as the
 * reference's `detach()` makes them. Pair form: mean softplus(lse_n − logit_p); ce form: mean CE.
 */
function circleSurrogate(form: 'pair' | 'ce', s: number, m: number, cos0: Float64Array, C: number) {
  return (X: Float64Array, W: Float64Array, labels: Int32Array, D: number): number => {
    const B = labels.length;
    const cos = cosines(X, W, B, D, C);
    const logits = new Float64Array(B * C);
    for (let n = 0; n < B * C; n++) {
      const i = Math.floor(n / C);
      logits[n] =
        n % C === labels[i]
          ? s * Math.max(1 + m - cos0[n], 0) * (cos[n] - (1 - m))
          : s * Math.max(cos0[n] + m, 0) * (cos[n] - m);
    }
    if (form === 'ce') return meanCe(logits, labels, C);
    let total = 0;
    for (let i = 0; i < B; i++) {
      const neg = [...logits.subarray(i * C, i * C + C)].filter((_, j) => j !== labels[i]);
      const max = Math.max(...neg);
      const z = max + Math.log(neg.reduce((a, v) => a + Math.exp(v - max), 0)) - logits[i * C + labels[i]];
      total += z > 20 ? z : Math.log1p(Math.exp(z));
    }
    return total / B;
  };
}

/** ArcNegFace with r = α·exp(−(cos − φ)²/σ) frozen at the base point. */
function arcnegSurrogate(s: number, m: number, alpha: number, sigma: number, cos0: Float64Array, C: number) {
  return (X: Float64Array, W: Float64Array, labels: Int32Array, D: number): number => {
    const B = labels.length;
    const cos = cosines(X, W, B, D, C);
    const logits = new Float64Array(B * C);
    for (let i = 0; i < B; i++) {
      const phi0 = arcThmm(cos0[i * C + labels[i]], m);
      for (let j = 0; j < C; j++) {
        const n = i * C + j;
        if (j === labels[i]) logits[n] = s * arcThmm(cos[n], m);
        else {
          const r = alpha * Math.exp(-((cos0[n] - phi0) ** 2) / sigma);
          logits[n] = s * (r * cos[n] + r - 1);
        }
      }
    }
    return meanCe(logits, labels, C);
  };
}

describe('analytic gradients agree with central differences (step 1e-6, tensor-relative 1e-6)', () => {
  for (const c of cases) {
    it(c.label, () => {
      const params = c.params ?? {};
      const overwrite = params.weightNorm === 'overwrite';
      const batch = makeBatch({
        D: 4,
        C: 5,
        targetCos: TARGETS,
        seed: 11,
        unitW: overwrite,
        ...c.batch,
      });
      const { X, W, labels, D, C } = batch;
      const head = createHead(c.head, params, { rng: createRng(5) });
      head.initState(C);
      if (c.state) head.setState({ ...head.getState(), ...c.state });
      const extras: Record<string, Float64Array> = {};
      for (const [name, spec] of Object.entries(head.learnables(C, D)))
        extras[name] = spec.init(createRng(9));
      // Per-class ξ well above its cap, so the cap's Jacobian is exercised.
      if (params.maxNorm !== undefined) {
        extras.displacement = extras.displacement.map((v) => v * 10);
        for (let j = 0; j < C; j++) {
          const norm = Math.hypot(...extras.displacement.subarray(j * D, j * D + D));
          expect(norm).toBeGreaterThan(1.5 * (params.maxNorm as number));
        }
      }

      const out = head.forward({ X, W, labels, extras });
      const state = head.getState();
      const fd = { state, seed: 5, rawWeights: overwrite };
      const tensors: Record<string, Float64Array> = { X: X.slice(), W: W.slice(), ...extras };

      let lossOf: (t: Record<string, Float64Array>) => number;
      if (c.surrogate) {
        const p = head.params as Record<string, number>;
        const f =
          c.surrogate === 'circle'
            ? circleSurrogate(params.form === 'ce' ? 'ce' : 'pair', p.scale, p.margin, out.cos, C)
            : arcnegSurrogate(p.scale, p.margin, p.alpha, p.sigma, out.cos, C);
        lossOf = (t) => f(t.X, t.W, labels, D);
      } else {
        lossOf = (t) => {
          const { X: x, W: w, ...ex } = t;
          return frozenLoss(c.head, params, fd, { X: x, W: w, labels, extras: ex });
        };
      }
      // The frozen loss (or surrogate) is the head's loss at the base point.
      expect(Math.abs(lossOf(tensors) - out.loss)).toBeLessThanOrEqual(
        1e-12 * Math.max(1, Math.abs(out.loss)),
      );

      for (const name of Object.keys(tensors)) {
        const numeric = centralDifference(
          (v) => lossOf({ ...tensors, [name]: v }),
          tensors[name].slice(),
          STEP,
        );
        const err = relativeError(out.grads[name], numeric);
        // GRADCHECK_REPORT=1 prints the measured disagreement of every tensor.
        if (process.env.GRADCHECK_REPORT) console.log(`${c.label} d/d${name} ${err.toExponential(2)}`);
        expect(err, `d loss / d ${name}`).toBeLessThanOrEqual(TOLERANCE);
      }
    });
  }
});
