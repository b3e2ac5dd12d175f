/**
 * The weight half of the native backward goes a block of weight rows at a time: the block's dŴ, the
 * normalisation Jacobian, then dW written out or the SGD step taken while the block is still in cache.
 * With more classes than several blocks hold and an embedding width that leaves a ragged column panel,
 * at every dispatch level: dW must match the fp64 oracle, the step must equal dW followed by a separate
 * momentum step, and the step must come out bit for bit the same on 1, 2 and 3 threads. Weights large enough
 * for huge pages take the same step and keep their values.
 *
 * Tolerance: |got − ref| ≤ 1e-4·max(1, max|ref|) per tensor (the golden rule), 1e-5 for W itself.
 */
import { describe, expect, it } from 'vitest';
import { NATIVE_TOLERANCE } from '../../src/engine/head-step.js';
import { engineInfo, loadEngine, setDispatch, setThreads } from '../../src/engine/index.js';
import { marginSoftmaxNative } from '../../src/engine/margin.js';
import { marginSoftmax } from '../../src/margin/reference.js';
import type { GeometrySpec, MarginSpec } from '../../src/margin/spec.js';
import { dispatchLevels } from '../helpers/dispatch-levels.js';
import { makeBatch } from '../helpers/inputs.js';

const engine = loadEngine();
const info = engineInfo();

const margin: MarginSpec = {
  angleMap: 'cos',
  target: { kind: 'angular', m1: 1, m2: 0.5, m3: 0, fallback: 'thmm' },
  negatives: { kind: 'plain' },
  scale: 30,
  loss: { kind: 'ce' },
  gradient: 'full',
};
const geometry: GeometrySpec = { normalizeX: true, normalizeW: 'functional', subCenters: 1, clamp: 1 };

/** Largest |got − ref| must stay within tol·max(1, max|ref|). */
function expectClose(name: string, got: ArrayLike<number>, ref: ArrayLike<number>, tol = NATIVE_TOLERANCE) {
  expect(got.length, `${name} length`).toBe(ref.length);
  let maxRef = 0;
  let worst = 0;
  for (let k = 0; k < ref.length; k++) {
    maxRef = Math.max(maxRef, Math.abs(ref[k]));
    const e = Math.abs(got[k] - ref[k]);
    worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : Math.max(worst, e);
  }
  expect(worst, name).toBeLessThanOrEqual(tol * Math.max(1, maxRef));
}

describe.skipIf(engine === null)('the weight step, block of rows by block of rows', () => {
  const levels = dispatchLevels();

  // C: several row blocks at every level (blocks are 128–240 rows); D: not a multiple of any panel width.
  const D = 37;
  const C = 1000;
  const b = makeBatch({
    D,
    C,
    targetCos: [0.9, 0.5, 0.1, -0.3, -0.8, 0.99, 0.7, 0.2, -0.1, 0.4, 0.6],
    seed: 21,
  });
  const X = Float32Array.from(b.X);
  const W0 = Float32Array.from(b.W);
  const v0 = Float32Array.from({ length: W0.length }, (_, k) => 0.01 * Math.sin(k));
  const [lr, momentum, weightDecay] = [0.1, 0.9, 5e-4];
  const common = { X, labels: b.labels, B: b.B, D, geometry, margin };

  it.each(levels)('%s: dW, and the SGD step on any number of threads', (level) => {
    setDispatch(level);
    setThreads(1);
    const ref = marginSoftmax({ ...common, X: Float64Array.from(X), W: Float64Array.from(W0) });
    const plain = marginSoftmaxNative({ ...common, W: W0.slice() });
    expectClose('dW', plain.dW as Float32Array, ref.dW);

    const vRef = new Float64Array(W0.length);
    const wRef = new Float64Array(W0.length);
    for (let k = 0; k < W0.length; k++) {
      vRef[k] = momentum * v0[k] + ref.dW[k] + weightDecay * W0[k];
      wRef[k] = W0[k] - lr * vRef[k];
    }
    let first: { W: Float32Array; velocity: Float32Array; dX: Float32Array } | undefined;
    for (const threads of [1, 2, 3]) {
      setThreads(threads);
      const W = W0.slice();
      const velocity = v0.slice();
      const { dX } = marginSoftmaxNative({ ...common, W, sgd: { lr, momentum, weightDecay, velocity } });
      if (first === undefined) {
        first = { W, velocity, dX };
        expectClose('velocity', velocity, vRef);
        expectClose('W', W, wRef, 1e-5);
        expectClose('dX', dX, ref.dX);
      } else {
        expect(W, `W on ${threads} threads`).toEqual(first.W);
        expect(velocity, `velocity on ${threads} threads`).toEqual(first.velocity);
        // dX = G·W over C = 1000 classes: several depth blocks, packed by the threads together.
        expect(dX, `dX on ${threads} threads`).toEqual(first.dX);
      }
    }
  });

  // W and its momentum of 12 MiB each: the engine asks for huge pages under them and has the pages already
  // there moved (collapsed) into huge ones, which must leave every value as it was.
  it('weights large enough for huge pages keep their values and take the same step', () => {
    if (info.available) setDispatch(info.dispatch);
    setThreads(2);
    const big = makeBatch({ D: 512, C: 6144, targetCos: [0.8, 0.3, -0.2, 0.6], seed: 8 });
    const args = { X: Float32Array.from(big.X), labels: big.labels, B: big.B, D: big.D, geometry, margin };
    const W = Float32Array.from(big.W);
    const v = Float32Array.from({ length: W.length }, (_, k) => 0.01 * Math.cos(k));
    const [W1, v1] = [W.slice(), v.slice()];
    const ref = marginSoftmax({ ...args, X: big.X, W: Float64Array.from(W) });
    marginSoftmaxNative({ ...args, W: W1, sgd: { lr, momentum, weightDecay, velocity: v1 } });
    const vRef = Float64Array.from(v, (vk, k) => momentum * vk + ref.dW[k] + weightDecay * W[k]);
    expectClose('velocity', v1, vRef);
    const wRef = Float64Array.from(W, (wk, k) => wk - lr * vRef[k]);
    expectClose('W', W1, wRef, 1e-5);
    // Read only (no step): not one bit of W may change.
    const W2 = W.slice();
    marginSoftmaxNative({ ...args, W: W2 });
    const [bits, bits2] = [new Uint32Array(W.buffer), new Uint32Array(W2.buffer)];
    let changed = 0;
    for (let k = 0; k < bits.length; k++) if (bits[k] !== bits2[k]) changed++;
    expect(changed, 'values of W changed').toBe(0);
  });

  // A batch of more rows than one thread keeps resident (the cosine product then runs blocked, and the
  // weight norms it sums while packing W come from its first row block).
  it.each(levels)('%s: a large batch matches the fp64 reference on any number of threads', (level) => {
    setDispatch(level);
    const big = makeBatch({
      D: 9,
      C: 70,
      targetCos: Array.from({ length: 700 }, (_, i) => Math.cos(0.3 + (2.5 * i) / 700)),
      seed: 5,
    });
    const args = { X: Float32Array.from(big.X), labels: big.labels, B: big.B, D: big.D, geometry, margin };
    const ref = marginSoftmax({ ...args, X: big.X, W: big.W });
    let first: Float32Array | undefined;
    for (const threads of [1, 2]) {
      setThreads(threads);
      const out = marginSoftmaxNative({ ...args, W: Float32Array.from(big.W) });
      expectClose('dW', out.dW as Float32Array, ref.dW);
      expectClose('dX', out.dX, ref.dX);
      if (first === undefined) first = out.dW as Float32Array;
      else expect(out.dW, `dW on ${threads} threads`).toEqual(first);
    }
  });
});
