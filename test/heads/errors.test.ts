/**
 * Bad inputs to createHead, Head.forward, Head.setState and the marginSoftmax operator: each must throw
 * the right FaceVerLossError subclass with a message that names the argument — never NaN, never a crash.
 *
 * Degenerate class counts: with C = 1 a margin softmax is still defined (one class has probability 1, the
 * loss is 0 and its gradient vanishes) and CenterLoss has one centre, so C = 1 is accepted; AdaCos is the
 * exception — its scale √2·ln(C − 1) and its update ln(mean Σ_negatives e^(s·cos)) are ln 0 — and refuses it.
 */
import { describe, expect, it } from 'vitest';
import {
  FaceVerLossError,
  InvalidArgumentError,
  NonFiniteError,
  ShapeMismatchError,
  UnknownNameError,
} from '../../src/errors.js';
import { createHead, headNames } from '../../src/heads/index.js';
import { marginSoftmax } from '../../src/margin/index.js';
import type { GeometrySpec, MarginSpec } from '../../src/margin/spec.js';
import { createRng } from '../../src/rng.js';

type ErrorClass = new (...args: never[]) => FaceVerLossError;

/** `fn` throws an instance of `cls` whose message contains every string of `names`. */
function expectError(fn: () => unknown, cls: ErrorClass, ...names: string[]): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected a throw').toBeInstanceOf(cls);
  expect(thrown).toBeInstanceOf(FaceVerLossError);
  for (const n of names) expect((thrown as Error).message).toContain(n);
}

const W = [1, 0, 0, 1, -1, 0]; // C = 3, D = 2
const X = [1, 0.5, -0.3, 2]; // B = 2

describe('createHead', () => {
  it('refuses an unknown head name and lists the known ones', () => {
    expectError(() => createHead('arcfase'), UnknownNameError, "'arcfase'", 'arcface', 'cosface');
    expectError(() => createHead(undefined as unknown as string), UnknownNameError, 'undefined');
  });

  it.each([
    ['arcface', { scale: -1 }, 'arcface.scale'],
    ['arcface', { scale: 0 }, 'arcface.scale'],
    ['cosface', { scale: Number.NaN }, 'cosface.scale'],
    ['arcface', { margin: Math.PI }, 'arcface.margin'],
    ['arcface', { margin: 4 }, 'arcface.margin'],
    ['arcface', { margin: -0.1 }, 'arcface.margin'],
    ['arcface', { scale: '64' }, 'arcface.scale'],
    ['arcface', { fallback: 'sometimes' }, 'arcface.fallback'],
    ['sphereface', { m: 2.5 }, 'sphereface.m'],
    ['subcenter-arcface', { subCenters: 0 }, 'subcenter-arcface.subCenters'],
    ['magface', { lowerNorm: 50, upperNorm: 20 }, 'magface.upperNorm'],
    ['combined', { branches: 'insightface', m1: 2, m3: 0 }, 'combined.m1'],
  ])('%s with %o names %s', (name, params, field) => {
    expectError(() => createHead(name, params), InvalidArgumentError, field);
  });

  it('refuses unknown keys (schemas are strict)', () => {
    expectError(() => createHead('arcface', { scael: 64 }), InvalidArgumentError, 'arcface params', 'scael');
    for (const name of headNames)
      expectError(() => createHead(name, { bogus: 1 }), InvalidArgumentError, 'bogus');
  });

  it('refuses parameters that are not an object', () => {
    expectError(() => createHead('arcface', [64, 0.5]), InvalidArgumentError, 'arcface params');
    expectError(() => createHead('arcface', 64), InvalidArgumentError, 'arcface params');
  });

  it('refuses a class count a head cannot use', () => {
    expectError(
      () => createHead('adacos', {}, { classes: 1 }),
      InvalidArgumentError,
      "'classes'",
      'at least 2',
    );
    expectError(() => createHead('arcface', {}, { classes: 0 }), InvalidArgumentError, "'classes'");
    expectError(() => createHead('curricularface', {}, { classes: 2.5 }), InvalidArgumentError, "'classes'");
  });
});

describe('Head.forward', () => {
  const head = createHead('arcface');

  it('refuses NaN and ±Infinity in X and W', () => {
    expectError(
      () => head.forward({ X: [1, Number.NaN, 0, 1], labels: [0, 1], W }),
      NonFiniteError,
      "'X'",
      'index 1',
    );
    expectError(
      () => head.forward({ X: [1, 0, Number.POSITIVE_INFINITY, 1], labels: [0, 1], W }),
      NonFiniteError,
      "'X'",
    );
    expectError(
      () => head.forward({ X, labels: [0, 1], W: [1, 0, 0, 1, Number.NEGATIVE_INFINITY, 0] }),
      NonFiniteError,
      "'W'",
      'index 4',
    );
  });

  it('refuses non-numeric X entries and non-array inputs', () => {
    expectError(
      () => head.forward({ X: ['1', 0, 0, 1] as unknown as number[], labels: [0, 1], W }),
      InvalidArgumentError,
      'X[0]',
    );
    expectError(
      () => head.forward({ X: 3 as unknown as number[], labels: [0, 1], W }),
      InvalidArgumentError,
      "'X'",
    );
    expectError(() => head.forward(null as unknown as never), InvalidArgumentError, "'inputs'");
  });

  it.each([
    [[0, 3], 'labels[1]'],
    [[-1, 0], 'labels[0]'],
    [[0, 0.5], 'labels[1]'],
    [[Number.NaN, 0], 'labels[0]'],
  ])('refuses labels %o, naming %s', (labels, name) => {
    expectError(() => head.forward({ X, labels, W }), InvalidArgumentError, name, '[0, 3)');
  });

  it('refuses labels whose count does not divide X (a wrong length)', () => {
    expectError(() => head.forward({ X, labels: [0, 1, 2], W }), ShapeMismatchError, "'X'", 'labels.length');
    expectError(() => head.forward({ X: [1, 0, 0], labels: [0, 1], W }), ShapeMismatchError, "'X'");
  });

  it('refuses W whose length is not a multiple of D', () => {
    expectError(() => head.forward({ X, labels: [0, 1], W: [1, 0, 0] }), ShapeMismatchError, "'W'");
    expectError(() => head.forward({ X, labels: [0, 1], W: [] }), ShapeMismatchError, "'W'");
    const sub = createHead('subcenter-arcface', { subCenters: 2 });
    expectError(
      () => sub.forward({ X, labels: [0, 1], W: [1, 0, 0, 1, 1, 1] }),
      ShapeMismatchError,
      "'W'",
      'sub-centres',
    );
  });

  it('refuses an empty batch', () => {
    expectError(() => head.forward({ X: [], labels: [], W }), InvalidArgumentError, "'labels'", 'non-empty');
    expectError(
      () => head.forward({ X: [1, 0], labels: undefined as unknown as number[], W }),
      InvalidArgumentError,
      "'labels'",
    );
  });

  it('refuses a non-boolean training flag', () => {
    expectError(
      () => head.forward({ X, labels: [0, 1], W }, { training: 'no' as unknown as boolean }),
      InvalidArgumentError,
      'options.training',
    );
  });

  it('refuses missing, short and non-finite extras', () => {
    const disc = createHead('discface');
    expectError(() => disc.forward({ X, labels: [0, 1], W }), InvalidArgumentError, 'extras.displacement');
    expectError(
      () => disc.forward({ X, labels: [0, 1], W, extras: { displacement: [0.1] } }),
      ShapeMismatchError,
      'extras.displacement',
    );
    expectError(
      () => disc.forward({ X, labels: [0, 1], W, extras: { displacement: [0.1, Number.NaN] } }),
      NonFiniteError,
      'extras.displacement',
    );
    const soft = createHead('softmax');
    expectError(() => soft.forward({ X, labels: [0, 1], W }), InvalidArgumentError, 'extras.bias');
    const adam = createHead('adamsoftmax');
    expectError(
      () => adam.forward({ X, labels: [0, 1], W, extras: { margins: [0.3, 0.3] } }),
      ShapeMismatchError,
      'extras.margins',
    );
  });

  it('refuses extras the head does not have (a misspelt name is not ignored)', () => {
    const disc = createHead('discface');
    const displacement = new Float64Array(X.length / 2);
    expectError(
      () => disc.forward({ X, labels: [0, 1], W, extras: { displacement, displacment: displacement } }),
      InvalidArgumentError,
      'extras.displacment',
      'displacement',
    );
    const arc = createHead('arcface');
    expectError(
      () => arc.forward({ X, labels: [0, 1], W, extras: { bias: [0, 0] } }),
      InvalidArgumentError,
      'extras.bias',
      'has none',
    );
  });

  it('AdaCos refuses one class (ln 0) with a typed error instead of NaN', () => {
    const ada = createHead('adacos');
    expectError(
      () => ada.forward({ X, labels: [0, 0], W: [1, 0] }),
      InvalidArgumentError,
      "'W'",
      'at least 2 classes',
    );
  });

  it('every other head accepts one class: finite loss, zero margin-softmax gradient', () => {
    for (const name of headNames.filter((n) => n !== 'adacos')) {
      const h = createHead(name, {}, { rng: createRng(1) });
      const extras: Record<string, Float64Array> = {};
      for (const [k, spec] of Object.entries(h.learnables(1, 2))) extras[k] = spec.init(createRng(2));
      const W1 = Array.from({ length: h.subCenters }, () => [0.6, 0.8]).flat();
      const out = h.forward({ X, labels: [0, 0], W: W1, extras });
      expect(Number.isFinite(out.loss), name).toBe(true);
      for (const g of Object.values(out.grads)) expect(g.every(Number.isFinite), name).toBe(true);
      if (out.logits.length > 0) expect(out.parts.ce ?? 0, name).toBe(0);
    }
  });
});

describe('Head.marginLogits', () => {
  const cos = new Float64Array([0.5, 0.1, 0.2, 0.3, 0.4, 0.5]);
  it('refuses labels out of range, a non-finite cosine, a bad class count and short norms', () => {
    const head = createHead('arcface');
    expectError(() => head.marginLogits(cos, 3, new Int32Array([0, 7])), InvalidArgumentError, 'labels[1]');
    expectError(() => head.marginLogits(cos, 3, new Int32Array([0])), ShapeMismatchError, "'cos'");
    const bad = cos.slice();
    bad[4] = Number.NaN;
    expectError(() => head.marginLogits(bad, 3, new Int32Array([0, 1])), NonFiniteError, "'cos'", 'index 4');
    expectError(
      () => head.marginLogits(new Float64Array(0), 0, new Int32Array(0)),
      InvalidArgumentError,
      "'C'",
    );
    const mag = createHead('magface');
    expectError(
      () => mag.marginLogits(cos, 3, new Int32Array([0, 1]), new Float64Array([20])),
      ShapeMismatchError,
      'xNorm',
    );
  });
  it('refuses heads without a margin, and AdaCos with one class', () => {
    expectError(
      () => createHead('centerloss').marginLogits(cos, 3, new Int32Array([0, 1])),
      InvalidArgumentError,
      "'head'",
    );
    expectError(
      () => createHead('adacos').marginLogits(new Float64Array([0.5]), 1, new Int32Array([0])),
      InvalidArgumentError,
      "'C'",
      'at least 2 classes',
    );
  });
});

describe('Head.setState', () => {
  it('refuses non-finite and non-numeric values, naming the field', () => {
    const head = createHead('curricularface');
    expectError(() => head.setState({ t: Number.NaN }), InvalidArgumentError, 'state.t');
    expectError(() => head.setState({ t: Number.POSITIVE_INFINITY }), InvalidArgumentError, 'state.t');
    expectError(() => head.setState({ t: '0.1' as unknown as number }), InvalidArgumentError, 'state.t');
    expectError(() => head.setState({ t: null as unknown as number }), InvalidArgumentError, 'state.t');
  });
});

describe('marginSoftmax (the fp64 operator)', () => {
  const geometry: GeometrySpec = { normalizeX: true, normalizeW: 'functional', subCenters: 1, clamp: 1 };
  const margin: MarginSpec = {
    angleMap: 'cos',
    target: { kind: 'angular', m1: 1, m2: 0.5, m3: 0, fallback: 'thmm' },
    negatives: { kind: 'plain' },
    scale: 64,
    loss: { kind: 'ce' },
    gradient: 'full',
  };
  type Args = Parameters<typeof marginSoftmax>[0];
  const base: Args = {
    X: new Float64Array(X),
    W: new Float64Array(W),
    labels: new Int32Array([0, 2]),
    B: 2,
    D: 2,
    geometry,
    margin,
  };
  const run = (over: Partial<Args>) => marginSoftmax({ ...base, ...over });

  it('runs on valid arguments', () => {
    expect(Number.isFinite(run({}).loss)).toBe(true);
  });
  it('refuses labels out of range, negative or of the wrong count', () => {
    expectError(() => run({ labels: new Int32Array([0, 3]) }), InvalidArgumentError, 'labels[1]');
    expectError(() => run({ labels: new Int32Array([-1, 0]) }), InvalidArgumentError, 'labels[0]');
    expectError(
      () => run({ labels: Float64Array.from([0, 1.5]) as unknown as Int32Array }),
      InvalidArgumentError,
      'labels[1]',
    );
    expectError(() => run({ labels: new Int32Array([0]) }), ShapeMismatchError, "'labels'");
  });
  it('refuses shapes that disagree with B and D', () => {
    expectError(() => run({ B: 3 }), ShapeMismatchError, "'X'");
    expectError(() => run({ W: new Float64Array(5) }), ShapeMismatchError, "'W'");
    expectError(() => run({ D: 0 }), InvalidArgumentError, "'D'");
    expectError(() => run({ B: 1.5 }), InvalidArgumentError, "'B'");
    expectError(() => run({ bias: new Float64Array(2) }), ShapeMismatchError, "'bias'");
  });
  it('refuses non-finite X, W and bias', () => {
    expectError(() => run({ X: Float64Array.from([1, 0, Number.NaN, 1]) }), NonFiniteError, "'X'", 'index 2');
    expectError(
      () => run({ W: Float64Array.from([1, 0, 0, Number.POSITIVE_INFINITY, -1, 0]) }),
      NonFiniteError,
      "'W'",
    );
    expectError(() => run({ bias: Float64Array.from([0, Number.NaN, 0]) }), NonFiniteError, "'bias'");
  });
});
