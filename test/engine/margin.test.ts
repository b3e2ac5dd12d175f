/**
 * The native fused margin-softmax operator against the fp64 oracle: every head, every target, negative
 * and loss form, sub-centres, per-row margins with their ‖x‖ chain, straight-through gradients, the SGD
 * step inside the backward, and Partial FC on the sampled sub-matrix.
 *
 * Inputs are rounded to fp32 first, so the oracle and the engine see the same numbers and differ only
 * by fp32 arithmetic. Tolerance: |got − ref| ≤ 1e-4·max(1, max|ref|) per tensor (the golden rule).
 */
import { describe, expect, it } from 'vitest';
import { NATIVE_TOLERANCE, nativeHeadForward, nativeHeadForwardAsync } from '../../src/engine/head-step.js';
import { type DispatchLevel, engineInfo, loadEngine, setDispatch } from '../../src/engine/index.js';
import { cosinesNative, marginSoftmaxNative, marginSoftmaxNativeAsync } from '../../src/engine/margin.js';
import { partialStepNative } from '../../src/engine/partialfc.js';
import { InvalidArgumentError, ShapeMismatchError } from '../../src/errors.js';
import type { HeadInputs } from '../../src/heads/define.js';
import { sampleClasses } from '../../src/heads/partialfc.js';
import { createHead, headNames } from '../../src/heads/registry.js';
import { marginSoftmax } from '../../src/margin/reference.js';
import type { GeometrySpec, MarginSpec } from '../../src/margin/spec.js';
import { createRng } from '../../src/rng.js';
import { makeBatch } from '../helpers/inputs.js';

const engine = loadEngine();
const required = process.env.FACEVERLOSS_REQUIRE_NATIVE === '1';

describe('native margin operator availability', () => {
  it('is loaded whenever FACEVERLOSS_REQUIRE_NATIVE=1, and engineInfo agrees with loadEngine', () => {
    if (required)
      expect(
        engine,
        engineInfo().available ? '' : (engineInfo() as { reason: string }).reason,
      ).not.toBeNull();
    expect(engineInfo().available).toBe(engine !== null);
  });
});

/** Values rounded to fp32, held as fp64: what both implementations see. */
function fp32(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(a));
}

/** Largest |got − ref| must stay within tol·max(1, max|ref|). */
function expectClose(
  name: string,
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  tol = NATIVE_TOLERANCE,
): void {
  expect(got.length, `${name} length`).toBe(ref.length);
  let maxRef = 0;
  for (let k = 0; k < ref.length; k++) maxRef = Math.max(maxRef, Math.abs(ref[k]));
  let worst = 0;
  let at = -1;
  for (let k = 0; k < ref.length; k++) {
    const e = Math.abs(got[k] - ref[k]);
    if (!(e <= worst)) {
      worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
      at = k;
    }
  }
  const bound = tol * Math.max(1, maxRef);
  expect(worst, `${name}[${at}]: got ${got[at]}, expected ${ref[at]}`).toBeLessThanOrEqual(bound);
}

const TARGETS = [0.9, 0.5, 0.1, -0.3, -0.8, -0.95, 0.99, 0.7, 0.2, -0.1];

function batch(C: number, K = 1, seed = 3, norms?: number[]) {
  const b = makeBatch({ D: 8, C, K, targetCos: TARGETS, seed, norms });
  return { ...b, X: fp32(b.X), W: fp32(b.W) };
}

describe.skipIf(engine === null)('native head steps vs Head.forward (fp64)', () => {
  const variants: [string, Record<string, unknown>][] = [
    ...headNames.map((n) => [n, {}] as [string, Record<string, unknown>]),
    ['arcface', { gradient: 'straight-through' }],
    ['arcface', { fallback: 'easy', loss: 'distce' }],
    ['arcface', { fallback: 'am', fallbackMargin: 0.1, loss: 'focal' }],
    ['arcface', { fallback: 'none', clamp: null }],
    ['cosface', { weightNorm: 'overwrite' }],
    ['cosface', { normalizeEmbeddings: false }],
    ['combined', { branches: 'insightface', interclassFilter: 0.2 }],
    ['mvsoftmax', { type: 'arc', fallback: 'easy' }],
    ['mvsoftmax', { fallback: 'above-margin' }],
    ['npcface', { marginSource: 'raw', marginGradient: false }],
    ['circleloss', { form: 'ce' }],
    ['elasticface', { plus: true, type: 'cos' }],
    ['discface', { displacement: 'per-class', maxNorm: 0.01 }],
    ['subcenter-arcface', { subCenters: 2, loss: 'focal' }],
    ['sphereface', { pi: 'exact' }],
    ['softmax', { bias: false }],
  ];
  it.each(variants)('%s %j', (name, params) => {
    const ref = createHead(name, params, { rng: createRng(5) });
    const nat = createHead(name, params, { rng: createRng(5) });
    const K = ref.subCenters;
    const C = 7;
    // Norms around MagFace's [10, 110] band and AdaFace's batch statistics.
    const b = batch(
      C,
      K,
      3,
      TARGETS.map((_, i) => 4 + 9 * i),
    );
    const extras: Record<string, Float64Array> = {};
    for (const [k, spec] of Object.entries(ref.learnables(C, b.D))) extras[k] = fp32(spec.init(createRng(9)));
    const inputs: HeadInputs = { X: b.X, W: b.W, labels: b.labels, extras };
    // Two steps, so state updated by the first (CurricularFace t, AdaFace μ/σ, AdaCos s) feeds the second.
    for (let step = 0; step < 2; step++) {
      const r = ref.forward(inputs);
      const n = nativeHeadForward(nat, inputs);
      expectClose('loss', [n.loss], [r.loss]);
      expectClose('logits', n.logits, r.logits);
      expectClose('cos', n.cos, r.cos);
      expect(Object.keys(n.grads).sort()).toEqual(Object.keys(r.grads).sort());
      for (const k of Object.keys(r.grads)) expectClose(`grads.${k}`, n.grads[k], r.grads[k]);
      for (const k of Object.keys(r.parts)) {
        const rv = r.parts[k];
        const nv = n.parts[k];
        expectClose(`parts.${k}`, typeof nv === 'number' ? [nv] : nv, typeof rv === 'number' ? [rv] : rv);
      }
      for (const k of Object.keys(r.paramsAfterForward))
        expectClose(`paramsAfterForward.${k}`, n.paramsAfterForward[k], r.paramsAfterForward[k]);
      const rs = ref.getState();
      const ns = nat.getState();
      for (const k of Object.keys(rs)) expectClose(`state.${k}`, [ns[k]], [rs[k]]);
    }
  });

  it('runs asynchronously with the same result', async () => {
    const ref = createHead('arcface');
    const nat = createHead('arcface');
    const b = batch(7);
    const inputs = { X: b.X, W: b.W, labels: b.labels };
    const r = ref.forward(inputs);
    const n = await nativeHeadForwardAsync(nat, inputs);
    expectClose('loss', [n.loss], [r.loss]);
    expectClose('grads.X', n.grads.X, r.grads.X);
    expectClose('grads.W', n.grads.W, r.grads.W);
  });
});

const base: MarginSpec = {
  angleMap: 'cos',
  target: { kind: 'angular', m1: 1, m2: 0.5, m3: 0, fallback: 'thmm' },
  negatives: { kind: 'plain' },
  scale: 30,
  loss: { kind: 'ce' },
  gradient: 'full',
};
const unitGeometry: GeometrySpec = { normalizeX: true, normalizeW: 'functional', subCenters: 1, clamp: 1 };

describe.skipIf(engine === null)('native operator vs marginSoftmax (fp64), spec by spec', () => {
  const B = TARGETS.length;
  const rowValues = (f: (i: number) => number) => Float64Array.from({ length: B }, (_, i) => f(i));
  const th = { m1: 1, m2: 0.3, m3: 0 };
  const cases: [string, Partial<MarginSpec>, Partial<GeometrySpec>?][] = [
    ['arcface thmm', {}],
    ...(['none', 'easy', 'am', 'above-margin', 'clip'] as const).map(
      (fallback) =>
        [
          `fallback ${fallback}`,
          {
            target: {
              kind: 'angular',
              m1: 1,
              m2: 0.5,
              m3: 0.1,
              fallback,
              fallbackMargin: 0.2,
              clipEps: 1e-3,
            },
          },
        ] as [string, Partial<MarginSpec>],
    ),
    ['multiplicative m1 = 1.3', { target: { kind: 'angular', m1: 1.3, m2: 0.2, m3: 0.1, fallback: 'thmm' } }],
    [
      'per-row m2, m3 and scale with dNorm',
      {
        target: {
          kind: 'angular',
          m1: 1,
          m2: { value: rowValues((i) => 0.3 + 0.05 * i), dNorm: rowValues((i) => 0.01 * (i - 4)) },
          m3: { value: rowValues((i) => 0.02 * i), dNorm: rowValues((i) => 0.003 * i) },
          fallback: 'thmm',
        },
        scale: { value: rowValues((i) => 10 + i), dNorm: rowValues(() => 1) },
      },
    ],
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: SphereFace's reference code truncates π.
    ['sphere', { target: { kind: 'sphere', m: 4, lambda: 5, pi: 3.14159265 } }],
    [
      'circle, softplus-pair',
      {
        target: { kind: 'circle', m: 0.25 },
        negatives: { kind: 'circle', m: 0.25 },
        loss: { kind: 'softplus-pair', threshold: 20 },
        scale: 64,
      },
      { clamp: null },
    ],
    ['softplus-pair linear region', { loss: { kind: 'softplus-pair', threshold: 0.5 } }],
    ['hard-linear (MV)', { negatives: { kind: 'hard-linear', a: 1.2, b: 0.2, threshold: th } }],
    ...(
      [
        [true, 'modified'],
        [true, 'raw'],
        [false, 'modified'],
      ] as const
    ).map(
      ([gradient, source]) =>
        [
          `hard-linear adaptive (gradient ${gradient}, ${source})`,
          {
            negatives: {
              kind: 'hard-linear',
              a: 1.1,
              b: 0.25,
              threshold: th,
              adaptive: { m0: 0.4, m1: 0.2, source, gradient },
            },
          },
        ] as [string, Partial<MarginSpec>],
    ),
    ['curricular', { negatives: { kind: 'curricular', t: 0.3, threshold: th } }],
    ['arcneg', { negatives: { kind: 'arcneg', alpha: 1.2, sigma: 2 } }, { clamp: null }],
    ['filter', { negatives: { kind: 'filter', above: 0.2 } }],
    ['distce', { loss: { kind: 'distce' }, scale: 64 }],
    ['focal', { loss: { kind: 'focal', gamma: 2 } }],
    ['straight-through', { gradient: 'straight-through' }],
    [
      'linear angle map',
      { angleMap: 'linear', target: { kind: 'angular', m1: 1, m2: 0.45, m3: 0, fallback: 'none' } },
      { clamp: 0.9999999 },
    ],
    ['quadratic angle map', { angleMap: 'quadratic', scale: 6 }, { clamp: 0.9999999 }],
    ['sub-centres K = 3', {}, { subCenters: 3 }],
    ['overwrite weights', {}, { normalizeW: 'overwrite' }],
    ['raw weights and embeddings', { scale: 1 }, { normalizeW: 'none', normalizeX: false, clamp: null }],
    ['clamp 0.5 cuts gradients', {}, { clamp: 0.5 }],
  ];
  it.each(cases)('%s', (_label, marginPatch, geoPatch) => {
    const geometry = { ...unitGeometry, ...geoPatch };
    const margin = { ...base, ...marginPatch } as MarginSpec;
    const b = batch(9, geometry.subCenters, 11);
    const ref = marginSoftmax({ X: b.X, W: b.W, labels: b.labels, B: b.B, D: b.D, geometry, margin });
    const W = Float32Array.from(b.W);
    const n = marginSoftmaxNative({
      X: Float32Array.from(b.X),
      W,
      labels: b.labels,
      B: b.B,
      D: b.D,
      geometry,
      margin,
      wantLogits: true,
      wantCos: true,
    });
    expectClose('loss', [n.loss], [ref.loss]);
    expectClose('logits', n.logits as Float32Array, ref.logits);
    expectClose('cos', n.cos as Float32Array, ref.geometry.cos);
    expectClose('dX', n.dX, ref.dX);
    expectClose('dW', n.dW as Float32Array, ref.dW);
    expectClose('dM2', n.dM2, ref.dM2);
    expectClose('dM3', n.dM3, ref.dM3);
    expectClose('dScale', n.dScale, ref.dScale);
    expectClose('dNorm', n.dNorm, ref.dNorm);
    expectClose('rowMargin', n.rowMargin, ref.rowMargin as Float64Array);
    for (const [k, v] of Object.entries(ref.parts))
      expectClose(
        `parts.${k}`,
        typeof v === 'number' ? [n.parts[k] as number] : (n.parts[k] as Float64Array),
        typeof v === 'number' ? [v] : v,
      );
    // W is read, not written, without SGD or an explicit overwrite.
    expect(Array.from(W)).toEqual(Array.from(Float32Array.from(b.W)));
  });

  it('adds a bias and returns its gradient', () => {
    const b = batch(9, 1, 2);
    const bias = fp32(Float64Array.from({ length: 9 }, (_, j) => 0.1 * j - 0.3));
    const geometry: GeometrySpec = { normalizeX: false, normalizeW: 'none', subCenters: 1, clamp: null };
    const margin: MarginSpec = {
      ...base,
      target: { kind: 'angular', m1: 1, m2: 0, m3: 0, fallback: 'none' },
      scale: 1,
    };
    const ref = marginSoftmax({ X: b.X, W: b.W, labels: b.labels, B: b.B, D: b.D, geometry, margin, bias });
    const n = marginSoftmaxNative({
      X: Float32Array.from(b.X),
      W: Float32Array.from(b.W),
      labels: b.labels,
      B: b.B,
      D: b.D,
      geometry,
      margin,
      bias: Float32Array.from(bias),
    });
    expectClose('loss', [n.loss], [ref.loss]);
    expectClose('dBias', n.dBias as Float32Array, ref.dBias as Float64Array);
    expectClose('dX', n.dX, ref.dX);
  });

  it('returns exact target cosines and fp32 cosines from the statistics pass', () => {
    const b = batch(9, 2, 4);
    const geometry = { ...unitGeometry, subCenters: 2 };
    const ref = marginSoftmax({ X: b.X, W: b.W, labels: b.labels, B: b.B, D: b.D, geometry, margin: base });
    const r = cosinesNative({
      X: Float32Array.from(b.X),
      W: Float32Array.from(b.W),
      labels: b.labels,
      B: b.B,
      D: b.D,
      geometry,
    });
    expectClose('cos', r.cos as Float32Array, ref.geometry.cos);
    const targets = Float64Array.from({ length: b.B }, (_, i) => ref.geometry.cos[i * 9 + b.labels[i]]);
    expectClose('target', r.target, targets, 1e-9);
  });

  it('keeps several classes per chunk consistent for C larger than one chunk', () => {
    // 9000 classes with K = 1 and 3000 with K = 3 cross the 8192-row chunk boundary of the backward.
    for (const [C, K] of [
      [9000, 1],
      [3000, 3],
    ]) {
      const b = makeBatch({ D: 4, C, K, targetCos: [0.5, -0.2, 0.9], seed: 8 });
      const X = fp32(b.X);
      const W = fp32(b.W);
      const geometry = { ...unitGeometry, subCenters: K };
      const ref = marginSoftmax({ X, W, labels: b.labels, B: 3, D: 4, geometry, margin: base });
      const n = marginSoftmaxNative({
        X: Float32Array.from(X),
        W: Float32Array.from(W),
        labels: b.labels,
        B: 3,
        D: 4,
        geometry,
        margin: base,
      });
      expectClose(`loss C=${C}`, [n.loss], [ref.loss]);
      expectClose(`dX C=${C}`, n.dX, ref.dX);
      expectClose(`dW C=${C}`, n.dW as Float32Array, ref.dW);
    }
  });
});

describe.skipIf(engine === null)('every dispatch level', () => {
  it('matches the oracle with the portable loops and each SIMD level', () => {
    const info = engineInfo();
    if (!info.available) return;
    const original = info.dispatch;
    const b = makeBatch({ D: 24, C: 70, targetCos: TARGETS, seed: 13 });
    const X = fp32(b.X);
    const W = fp32(b.W);
    const specs: MarginSpec[] = [
      base,
      { ...base, loss: { kind: 'softplus-pair', threshold: 20 } },
      { ...base, angleMap: 'quadratic', scale: 6 },
    ];
    try {
      for (const level of info.levels as DispatchLevel[]) {
        setDispatch(level);
        for (const margin of specs) {
          const ref = marginSoftmax({
            X,
            W,
            labels: b.labels,
            B: b.B,
            D: 24,
            geometry: unitGeometry,
            margin,
          });
          const n = marginSoftmaxNative({
            X: Float32Array.from(X),
            W: Float32Array.from(W),
            labels: b.labels,
            B: b.B,
            D: 24,
            geometry: unitGeometry,
            margin,
          });
          expectClose(`${level} loss`, [n.loss], [ref.loss]);
          expectClose(`${level} dX`, n.dX, ref.dX);
          expectClose(`${level} dW`, n.dW as Float32Array, ref.dW);
          expectClose(`${level} dScale`, n.dScale, ref.dScale);
          // The SGD step inside the backward, from a zero momentum buffer: W' = W − lr·dW.
          const Wn = Float32Array.from(W);
          const velocity = new Float32Array(W.length);
          const common = {
            X: Float32Array.from(X),
            labels: b.labels,
            B: b.B,
            D: 24,
            geometry: unitGeometry,
            margin,
          };
          marginSoftmaxNative({ ...common, W: Wn, sgd: { lr: 0.1, momentum: 0.9, velocity } });
          // (W − W')/lr recovers dW.
          const step = Float64Array.from(W, (w, k) => (w - Wn[k]) / 0.1);
          expectClose(`${level} SGD step`, step, ref.dW);
        }
      }
    } finally {
      setDispatch(original);
    }
  });
});

describe.skipIf(engine === null)('SGD inside the backward', () => {
  it.each(['functional', 'overwrite', 'none'] as const)(
    'equals dW followed by a separate momentum SGD step (%s weights)',
    (normalizeW) => {
      const b = batch(9, 1, 6);
      const geometry: GeometrySpec = { ...unitGeometry, normalizeW };
      const X = Float32Array.from(b.X);
      const W0 = Float32Array.from(b.W);
      const v0 = Float32Array.from({ length: W0.length }, (_, k) => 0.01 * Math.sin(k));
      const [lr, momentum, weightDecay] = [0.1, 0.9, 5e-4];
      // Separate step, in fp64 from the oracle's gradient (w.r.t. the normalised copy for overwrite).
      const ref = marginSoftmax({
        X: b.X,
        W: fp32(W0),
        labels: b.labels,
        B: b.B,
        D: b.D,
        geometry,
        margin: base,
      });
      const param = normalizeW === 'overwrite' ? ref.geometry.wHat : fp32(W0);
      const vRef = new Float64Array(W0.length);
      const wRef = new Float64Array(W0.length);
      for (let k = 0; k < W0.length; k++) {
        vRef[k] = momentum * v0[k] + ref.dW[k] + weightDecay * param[k];
        wRef[k] = param[k] - lr * vRef[k];
      }
      const W = W0.slice();
      const velocity = v0.slice();
      const n = marginSoftmaxNative({
        X,
        W,
        labels: b.labels,
        B: b.B,
        D: b.D,
        geometry,
        margin: base,
        sgd: { lr, momentum, weightDecay, velocity },
      });
      expect(n.dW).toBeUndefined();
      expectClose('loss', [n.loss], [ref.loss]);
      expectClose('dX', n.dX, ref.dX);
      expectClose('velocity', velocity, vRef);
      // The step taken, (param − W')/lr, is the velocity; W' itself to fp32 rounding of the subtraction.
      expectClose(
        'step',
        Float64Array.from(W, (w, k) => (param[k] - w) / lr),
        vRef,
      );
      expectClose('W', W, wRef, 1e-5);
    },
  );

  it('without momentum needs no buffer', () => {
    const b = batch(9, 1, 6);
    const W = Float32Array.from(b.W);
    const ref = marginSoftmax({
      X: b.X,
      W: b.W,
      labels: b.labels,
      B: b.B,
      D: b.D,
      geometry: unitGeometry,
      margin: base,
    });
    marginSoftmaxNative({
      X: Float32Array.from(b.X),
      W,
      labels: b.labels,
      B: b.B,
      D: b.D,
      geometry: unitGeometry,
      margin: base,
      sgd: { lr: 0.5 },
    });
    expectClose(
      'step',
      Float64Array.from(W, (w, k) => (b.W[k] - w) / 0.5),
      ref.dW,
    );
  });

  it('is awaited without blocking and gives the same step', async () => {
    const b = batch(9, 1, 6);
    const W1 = Float32Array.from(b.W);
    const W2 = Float32Array.from(b.W);
    const common = {
      X: Float32Array.from(b.X),
      labels: b.labels,
      B: b.B,
      D: b.D,
      geometry: unitGeometry,
      margin: base,
    };
    const r1 = marginSoftmaxNative({ ...common, W: W1, sgd: { lr: 0.1 } });
    let ticked = false;
    setImmediate(() => {
      ticked = true;
    });
    const pending = marginSoftmaxNativeAsync({ ...common, W: W2, sgd: { lr: 0.1 } });
    const r2 = await pending;
    expect(ticked).toBe(true);
    expect(r2.loss).toBe(r1.loss);
    expect(Array.from(W2)).toEqual(Array.from(W1));
  });
});

describe.skipIf(engine === null)('Partial FC on the native engine', () => {
  it('equals the oracle on the sampled sub-matrix and steps only sampled rows', () => {
    const C = 40;
    const b = makeBatch({ D: 8, C, targetCos: TARGETS, seed: 12 });
    const X = fp32(b.X);
    const W64 = fp32(b.W);
    const rate = 0.3;
    // The same seeded sample, drawn independently for the oracle.
    const sample = sampleClasses(b.labels, C, rate, createRng(21));
    const Wsub = new Float64Array(sample.classes.length * 8);
    sample.classes.forEach((c, k) => {
      Wsub.set(W64.subarray(c * 8, c * 8 + 8), k * 8);
    });
    const ref = marginSoftmax({
      X,
      W: Wsub,
      labels: sample.labels,
      B: b.B,
      D: 8,
      geometry: unitGeometry,
      margin: base,
    });

    const W = Float32Array.from(W64);
    const velocity = new Float32Array(W.length);
    const lr = 0.2;
    const n = partialStepNative({
      X: Float32Array.from(X),
      W,
      labels: b.labels,
      B: b.B,
      D: 8,
      geometry: unitGeometry,
      margin: base,
      rate,
      rng: createRng(21),
      sgd: { lr, momentum: 0.9, velocity },
      wantLogits: true,
    });
    expect(Array.from(n.sample.classes)).toEqual(Array.from(sample.classes));
    expectClose('loss', [n.loss], [ref.loss]);
    expectClose('logits', n.logits as Float32Array, ref.logits);
    expectClose('dX', n.dX, ref.dX);
    const sampled = new Set(sample.classes);
    const expectedW = Float64Array.from(W64);
    sample.classes.forEach((c, k) => {
      for (let d = 0; d < 8; d++) expectedW[c * 8 + d] = W64[c * 8 + d] - lr * ref.dW[k * 8 + d];
    });
    expectClose('W', W, expectedW, 1e-5);
    for (let c = 0; c < C; c++) {
      if (sampled.has(c)) continue;
      for (let d = 0; d < 8; d++) {
        expect(W[c * 8 + d]).toBe(Math.fround(W64[c * 8 + d]));
        expect(velocity[c * 8 + d]).toBe(0);
      }
    }
  });
});

describe.skipIf(engine === null)('argument errors', () => {
  const b = batch(9);
  const args = () => ({
    X: Float32Array.from(b.X),
    W: Float32Array.from(b.W),
    labels: b.labels.slice(),
    B: b.B,
    D: b.D,
    geometry: unitGeometry,
    margin: base,
  });
  it('names the argument of a wrong shape or label', () => {
    expect(() => marginSoftmaxNative({ ...args(), X: new Float32Array(3) })).toThrow(ShapeMismatchError);
    expect(() => marginSoftmaxNative({ ...args(), W: new Float32Array(5) })).toThrow(ShapeMismatchError);
    const bad = args();
    bad.labels[2] = 9;
    expect(() => marginSoftmaxNative(bad)).toThrow(/labels\[2\]/);
    expect(() => marginSoftmaxNative({ ...args(), sgd: { lr: 0.1, momentum: 0.9 } })).toThrow(
      /sgd\.velocity/,
    );
    expect(() => marginSoftmaxNative({ ...args(), sgd: { lr: 0.1 }, wantDW: true })).toThrow(
      InvalidArgumentError,
    );
    expect(() => marginSoftmaxNative({ ...args(), sgd: { lr: Number.NaN } })).toThrow(InvalidArgumentError);
  });
});
