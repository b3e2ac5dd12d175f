/**
 * Bad inputs to the heads, the fp64 operator and the TF.js layer: non-finite embeddings, labels out of
 * range / negative / fractional / of the wrong type, shape mismatches, empty batches, C = 1, absurd
 * hyper-parameters and unknown names. Every one must raise a typed FaceVerLossError naming the argument
 * (or, for legal but extreme settings, return finite numbers).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHead, type HeadInputs, headNames } from '../../src/heads/index.js';
import { type GeometrySpec, type MarginSpec, marginSoftmax } from '../../src/margin/index.js';
import { createRng } from '../../src/rng.js';
import { HeadLayer, marginLoss } from '../../src/tf/index.js';
import { type BadInput, Tally } from './corpus.js';

const tally = new Tally('heads, operator and TF.js layer');

afterAll(() => {
  console.log(tally.summary());
});

/** Valid inputs for a head with defaults: B rows of dimension D, C classes, extras at their init. */
function validInputs(name: string, B = 2, D = 3, C = 3): HeadInputs {
  const head = createHead(name);
  const rng = createRng(5);
  const K = head.subCenters;
  const extras = Object.fromEntries(
    Object.entries(head.learnables(C, D)).map(([k, s]) => [k, Array.from(s.init(rng))]),
  );
  return {
    X: Array.from({ length: B * D }, () => rng.normal()),
    W: Array.from({ length: C * K * D }, () => rng.normal()),
    labels: Array.from({ length: B }, (_, i) => i % C),
    extras,
  };
}

function headCases(name: string): BadInput[] {
  const ok = validInputs(name);
  const fwd = (inputs: unknown, options?: unknown) => () =>
    createHead(name).forward(inputs as HeadInputs, options as { training?: boolean });
  const withX = (edit: (x: number[]) => void) => {
    const X = [...(ok.X as number[])];
    edit(X);
    return { ...ok, X };
  };
  const cases: BadInput[] = [
    { name: `${name}: X holds NaN`, run: fwd(withX((x) => (x[1] = Number.NaN))), mentions: "'X'" },
    { name: `${name}: X holds +Inf`, run: fwd(withX((x) => (x[0] = Infinity))), mentions: "'X'" },
    { name: `${name}: X holds -Inf`, run: fwd(withX((x) => (x[5] = -Infinity))), mentions: "'X'" },
    {
      name: `${name}: W holds NaN`,
      run: fwd({ ...ok, W: (ok.W as number[]).map((v, i) => (i === 2 ? Number.NaN : v)) }),
      mentions: "'W'",
    },
    { name: `${name}: label = C`, run: fwd({ ...ok, labels: [0, 3] }), mentions: 'labels[1]' },
    { name: `${name}: negative label`, run: fwd({ ...ok, labels: [-1, 0] }), mentions: 'labels[0]' },
    { name: `${name}: fractional label`, run: fwd({ ...ok, labels: [0.5, 1] }), mentions: 'labels[0]' },
    { name: `${name}: NaN label`, run: fwd({ ...ok, labels: [0, Number.NaN] }), mentions: 'labels[1]' },
    { name: `${name}: string label`, run: fwd({ ...ok, labels: ['1', 0] }), mentions: 'labels[0]' },
    {
      name: `${name}: fractional Float32Array label`,
      run: fwd({ ...ok, labels: Float32Array.of(1.5, 0) }),
      mentions: 'labels[0]',
    },
    {
      name: `${name}: bigint label out of range`,
      run: fwd({ ...ok, labels: BigInt64Array.of(0n, 7n) }),
      mentions: 'labels[1]',
    },
    { name: `${name}: empty batch`, run: fwd({ ...ok, X: [], labels: [] }), mentions: 'labels' },
    { name: `${name}: X not B×D`, run: fwd({ ...ok, X: (ok.X as number[]).slice(1) }), mentions: "'X'" },
    { name: `${name}: W not C×D`, run: fwd({ ...ok, W: (ok.W as number[]).slice(1) }), mentions: "'W'" },
    { name: `${name}: X a string`, run: fwd({ ...ok, X: 'abc' }), mentions: "'X'" },
    {
      name: `${name}: X holds a string`,
      run: fwd(withX((x) => ((x as unknown[])[0] = '1'))),
      mentions: 'X[0]',
    },
    { name: `${name}: W missing`, run: fwd({ X: ok.X, labels: ok.labels }), mentions: "'W'" },
    { name: `${name}: inputs null`, run: fwd(null), mentions: "'inputs'" },
    { name: `${name}: training not boolean`, run: fwd(ok, { training: 'yes' }), mentions: 'training' },
    { name: `${name}: scale 1e9`, run: () => createHead(name, { scale: 1e9 }).forward(ok), expect: 'finite' },
    { name: `${name}: margin 10`, run: () => createHead(name, { margin: 10 }).forward(ok), expect: 'finite' },
    {
      name: `${name}: margin -1e9`,
      run: () => createHead(name, { margin: -1e9 }).forward(ok),
      expect: 'finite',
    },
    { name: `${name}: scale NaN`, run: () => createHead(name, { scale: Number.NaN }), mentions: name },
    { name: `${name}: params a number`, run: () => createHead(name, 5), mentions: name },
    // null used to pass as "the defaults".
    { name: `${name}: params null`, run: () => createHead(name, null), mentions: `${name} params` },
    { name: `${name}: params an array`, run: () => createHead(name, []), mentions: `${name} params` },
    {
      // Loss, logits and gradients; CircleLoss's per-row `pair` term is −∞ by definition without negatives.
      name: `${name}: C = 1`,
      run: () => {
        const { loss, logits, grads } = createHead(name).forward(validInputs(name, 2, 3, 1));
        return { loss, logits, grads };
      },
      expect: 'finite',
    },
    {
      name: `${name}: marginLogits cos of wrong length`,
      run: () => createHead(name).marginLogits(new Float64Array(5), 3, Int32Array.of(0, 1)),
      mentions: /'cos'|head/,
    },
    {
      name: `${name}: marginLogits label out of range`,
      run: () => createHead(name).marginLogits(new Float64Array(6), 3, Int32Array.of(0, 4)),
      mentions: /labels\[1\]|head/,
    },
    {
      name: `${name}: marginLogits NaN cosine`,
      run: () =>
        createHead(name).marginLogits(Float64Array.of(0, Number.NaN, 0, 0, 0, 0), 3, Int32Array.of(0, 1)),
      mentions: /'cos'|head/,
    },
    {
      name: `${name}: marginLogits C = 0`,
      run: () => createHead(name).marginLogits(new Float64Array(0), 0, Int32Array.of(0)),
      mentions: "'C'",
    },
    {
      name: `${name}: marginLogits xNorm of wrong length`,
      run: () =>
        createHead(name).marginLogits(new Float64Array(6), 3, Int32Array.of(0, 1), new Float64Array(1)),
      mentions: /xNorm|head/,
    },
  ];
  for (const [extra, values] of Object.entries(ok.extras ?? {})) {
    const arr = values as number[];
    cases.push(
      {
        name: `${name}: extras.${extra} missing`,
        run: fwd({ ...ok, extras: {} }),
        mentions: `extras.${extra}`,
      },
      {
        name: `${name}: extras.${extra} too short`,
        run: fwd({ ...ok, extras: { ...ok.extras, [extra]: arr.slice(1) } }),
        mentions: `extras.${extra}`,
      },
      {
        name: `${name}: extras.${extra} holds NaN`,
        run: fwd({ ...ok, extras: { ...ok.extras, [extra]: arr.map(() => Number.NaN) } }),
        mentions: `extras.${extra}`,
      },
    );
  }
  return cases;
}

const geometry: GeometrySpec = { normalizeX: true, normalizeW: 'functional', subCenters: 1, clamp: 1 };
const arcMargin: MarginSpec = {
  angleMap: 'cos',
  target: { kind: 'angular', m1: 1, m2: 0.5, m3: 0, fallback: 'thmm' },
  negatives: { kind: 'plain' },
  scale: 64,
  loss: { kind: 'ce' },
  gradient: 'full',
};

function operatorCases(): BadInput[] {
  const rng = createRng(3);
  const B = 2;
  const D = 3;
  const X = Float64Array.from({ length: B * D }, () => rng.normal());
  const W = Float64Array.from({ length: 3 * D }, () => rng.normal());
  const labels = Int32Array.of(0, 2);
  const base = { X, W, labels, B, D, geometry, margin: arcMargin };
  const op = (edit: Record<string, unknown>) => () =>
    marginSoftmax({ ...base, ...edit } as Parameters<typeof marginSoftmax>[0]);
  const m = (edit: Partial<MarginSpec>) => op({ margin: { ...arcMargin, ...edit } });
  const target = (edit: Record<string, unknown>) =>
    m({ target: { ...arcMargin.target, ...edit } as MarginSpec['target'] });
  return [
    { name: 'operator: B = 0', run: op({ B: 0 }), mentions: "'B'" },
    { name: 'operator: B fractional', run: op({ B: 1.5 }), mentions: "'B'" },
    { name: 'operator: D negative', run: op({ D: -3 }), mentions: "'D'" },
    { name: 'operator: X shorter than B·D', run: op({ X: X.subarray(1) }), mentions: "'X'" },
    { name: 'operator: W empty', run: op({ W: new Float64Array(0) }), mentions: "'W'" },
    { name: 'operator: labels of wrong length', run: op({ labels: Int32Array.of(0) }), mentions: "'labels'" },
    { name: 'operator: label out of range', run: op({ labels: Int32Array.of(0, 3) }), mentions: 'labels[1]' },
    { name: 'operator: negative label', run: op({ labels: Int32Array.of(-1, 0) }), mentions: 'labels[0]' },
    {
      name: 'operator: X holds NaN',
      run: op({ X: X.map((v, i) => (i === 4 ? Number.NaN : v)) }),
      mentions: "'X'",
    },
    {
      name: 'operator: W holds Inf',
      run: op({ W: W.map((v, i) => (i === 0 ? Infinity : v)) }),
      mentions: "'W'",
    },
    { name: 'operator: bias of wrong length', run: op({ bias: new Float64Array(2) }), mentions: "'bias'" },
    {
      name: 'operator: subCenters 0',
      run: op({ geometry: { ...geometry, subCenters: 0 } }),
      mentions: 'subCenters',
    },
    { name: 'operator: scale 1e9', run: m({ scale: 1e9 }), expect: 'finite' },
    { name: 'operator: additive angular margin 10', run: target({ m2: 10 }), expect: 'finite' },
    { name: 'operator: cosine margin 10', run: target({ m3: 10 }), expect: 'finite' },
    { name: 'operator: scale NaN', run: m({ scale: Number.NaN }), mentions: 'scale' },
    { name: 'operator: margin NaN', run: target({ m2: Number.NaN }), mentions: 'm2' },
    { name: 'operator: m1 Infinity', run: target({ m1: Infinity }), mentions: 'm1' },
  ];
}

function layerCases(): BadInput[] {
  const labelsOf = (values: number[], shape: number[]) => tf.tensor(values, shape);
  /** Runs the layer on 2×4 embeddings and returns the loss for `yTrue`. */
  const lossWith = (yTrue: () => tf.Tensor, x?: number[]) => () => {
    const layer = new HeadLayer({ head: 'arcface', classes: 3 });
    try {
      return tf.tidy(() => {
        const X = tf.tensor2d(x ?? [1, 0, 0, 0, 0, 1, 0, 0], [2, 4]);
        const y = layer.apply(X, { training: true }) as tf.Tensor;
        const loss = marginLoss(layer)(yTrue(), y);
        return loss.dataSync()[0];
      });
    } finally {
      layer.dispose();
    }
  };
  return [
    {
      name: 'HeadLayer: unknown head',
      run: () => new HeadLayer({ head: 'nope', classes: 3 }),
      mentions: 'nope',
    },
    {
      name: 'HeadLayer: classes 0',
      run: () => new HeadLayer({ head: 'arcface', classes: 0 }),
      mentions: 'classes',
    },
    {
      name: 'HeadLayer: classes 2.5',
      run: () => new HeadLayer({ head: 'arcface', classes: 2.5 }),
      mentions: 'classes',
    },
    {
      name: 'HeadLayer: classes a string',
      run: () => new HeadLayer({ head: 'arcface', classes: '3' as unknown as number }),
      mentions: 'classes',
    },
    {
      name: 'HeadLayer: bad parameter',
      run: () => new HeadLayer({ head: 'arcface', classes: 3, params: { scale: 'big' } }),
      mentions: 'arcface.scale',
    },
    {
      name: 'HeadLayer: adacos with one class',
      run: () => new HeadLayer({ head: 'adacos', classes: 1 }),
      mentions: 'adacos',
    },
    { name: 'HeadLayer: args null', run: () => new HeadLayer(null as never), mentions: 'args' },
    {
      name: 'HeadLayer: rank-3 input',
      run: () => {
        const layer = new HeadLayer({ head: 'arcface', classes: 3 });
        return tf.tidy(() => layer.apply(tf.zeros([2, 3, 4])) as tf.Tensor).shape;
      },
      mentions: 'input',
    },
    { name: 'marginLoss: not a layer', run: () => marginLoss({} as HeadLayer), mentions: 'layer' },
    { name: 'marginLoss: label = C', run: lossWith(() => labelsOf([0, 3], [2])), mentions: 'labels[1]' },
    {
      name: 'marginLoss: negative label',
      run: lossWith(() => labelsOf([-1, 0], [2])),
      mentions: 'labels[0]',
    },
    {
      name: 'marginLoss: fractional label',
      run: lossWith(() => labelsOf([0.5, 1], [2])),
      mentions: 'labels[0]',
    },
    {
      name: 'marginLoss: NaN label',
      run: lossWith(() => labelsOf([Number.NaN, 1], [2])),
      mentions: 'labels[0]',
    },
    {
      name: 'marginLoss: labels [B, 2]',
      run: lossWith(() => labelsOf([0, 1, 1, 0], [2, 2])),
      mentions: 'labels',
    },
    {
      name: 'marginLoss: three labels for two rows',
      run: lossWith(() => labelsOf([0, 1, 2], [3])),
      mentions: 'labels',
    },
    // One-hot rows were argMaxed: smoothed, multi-hot or empty rows silently became some class.
    {
      name: 'marginLoss: smoothed one-hot row',
      run: lossWith(() => labelsOf([0.9, 0.05, 0.05, 0, 1, 0], [2, 3])),
      mentions: 'labels[0]',
    },
    {
      name: 'marginLoss: two classes in one row',
      run: lossWith(() => labelsOf([1, 0, 0, 0, 1, 1], [2, 3])),
      mentions: 'labels[1]',
    },
    {
      name: 'marginLoss: a row of zeros',
      run: lossWith(() => labelsOf([1, 0, 0, 0, 0, 0], [2, 3])),
      mentions: 'labels[1]',
    },
    {
      name: 'marginLoss: a one-hot row holding 2',
      run: lossWith(() => labelsOf([2, 0, 0, 0, 1, 0], [2, 3])),
      mentions: 'labels[0]',
    },
    {
      name: 'HeadLayer: another embedding size than it was built for',
      run: () => {
        const layer = new HeadLayer({ head: 'arcface', classes: 3 });
        try {
          tf.tidy(() => {
            layer.apply(tf.zeros([2, 4])); // builds the layer for D = 4
          });
          return tf.tidy(() => (layer.apply(tf.zeros([2, 5])) as tf.Tensor).shape);
        } finally {
          layer.dispose();
        }
      },
      mentions: /expected B×4 embeddings.*got 2×5/,
    },
    {
      name: 'marginLoss: NaN embedding',
      run: lossWith(() => labelsOf([0, 1], [2]), [Number.NaN, 0, 0, 0, 0, 1, 0, 0]),
      mentions: /'X'|embedding/,
    },
  ];
}

describe('bad inputs are rejected with typed errors', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each(headNames.map((n) => [n]))('head %s', async (name) => {
    const before = tally.problems.length;
    await tally.checkAll([
      ...headCases(name),
      { name: `${name}: unknown head name`, run: () => createHead(`${name}-x`), mentions: `${name}-x` },
    ]);
    expect(tally.problems.slice(before)).toEqual([]);
  });

  it('the fp64 operator', async () => {
    const before = tally.problems.length;
    await tally.checkAll(operatorCases());
    expect(tally.problems.slice(before)).toEqual([]);
  });

  it('the TF.js layer and loss (cpu backend)', async () => {
    const before = tally.problems.length;
    const tensorsBefore = tf.memory().numTensors;
    await tally.checkAll(layerCases());
    // A rejected call must not leave tensors behind either.
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(tally.problems.slice(before)).toEqual([]);
  });

  it('every bad input was tried and rejected cleanly', () => {
    expect(tally.tried).toBeGreaterThan(600);
    expect(tally.clean).toBe(tally.tried);
  });
});
