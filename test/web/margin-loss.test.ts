/**
 * The live-training panels' TF.js losses (float32) against the library's fp64 heads of the same name:
 * loss and gradient with respect to the embeddings, on random 2-D embeddings whose angles cover ArcFace's
 * fallback region.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHead } from '../../src/heads/registry.js';
import { createRng } from '../../src/rng.js';
import { headLoss } from '../../web/src/train/margin-loss.js';
import { decodeMnistSubset, encodeMnistSubset } from '../../web/src/train/mnist-format.js';
import type { TrainableHead, TrainableParams } from '../../web/src/train/trainable.js';

const B = 24;
const D = 2;
const C = 10;

/** fp32 against fp64: relative to the largest reference value (DESIGN.md, numerics). */
const REL = 1e-4;

function problem(seed: number) {
  const rng = createRng(seed);
  const X = Float64Array.from({ length: B * D }, () => 3 * rng.normal());
  const W = Float64Array.from({ length: C * D }, () => rng.normal());
  const labels = Int32Array.from({ length: B }, () => rng.int(C));
  const bias = Float64Array.from({ length: C }, () => 0.1 * rng.normal());
  return { X, W, labels, bias };
}

function tfLossAndGrad(
  head: TrainableHead,
  params: TrainableParams,
  p: ReturnType<typeof problem>,
): { loss: number; dX: Float64Array } {
  const { value, grad } = tf.tidy(() => {
    const W = tf.tensor2d(Float32Array.from(p.W), [C, D]);
    const bias = head === 'softmax' ? tf.tensor1d(Float32Array.from(p.bias)) : null;
    const oneHot = tf.oneHot(tf.tensor1d(p.labels, 'int32'), C).toFloat() as tf.Tensor2D;
    const f = (x: tf.Tensor) => headLoss(head, params, x as tf.Tensor2D, W, bias, oneHot);
    return tf.valueAndGrad(f)(tf.tensor2d(Float32Array.from(p.X), [B, D]));
  });
  const out = { loss: value.dataSync()[0], dX: Float64Array.from(grad.dataSync()) };
  tf.dispose([value, grad]);
  return out;
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('panel losses match the fp64 heads', () => {
  const cases: [TrainableHead, TrainableParams, Record<string, unknown>][] = [
    ['softmax', { scale: 1, margin: 0 }, {}],
    ['normface', { scale: 16, margin: 0 }, { scale: 16 }],
    ['cosface', { scale: 16, margin: 0.2 }, { scale: 16, margin: 0.2 }],
    ['arcface', { scale: 16, margin: 0.3 }, { scale: 16, margin: 0.3 }],
    ['arcface', { scale: 30, margin: 0.9 }, { scale: 30, margin: 0.9 }],
  ];
  for (const [head, params, refParams] of cases) {
    it(`${head} s=${params.scale} m=${params.margin}`, () => {
      for (const seed of [1, 2, 3]) {
        const p = problem(seed);
        const ref = createHead(head, refParams).forward({
          X: p.X,
          labels: p.labels,
          W: p.W,
          extras: head === 'softmax' ? { bias: p.bias } : undefined,
        });
        const got = tfLossAndGrad(head, params, p);
        expect(Math.abs(got.loss - ref.loss)).toBeLessThan(REL * Math.max(1, Math.abs(ref.loss)));
        const scale = Math.max(1e-12, maxAbs(ref.grads.X));
        for (let i = 0; i < B * D; i++)
          expect(Math.abs(got.dX[i] - ref.grads.X[i])).toBeLessThan(REL * scale);
      }
    });
  }

  it('the ArcFace cases reach the fallback region (θy + m > π)', () => {
    let past = 0;
    for (const seed of [1, 2, 3]) {
      const p = problem(seed);
      for (let i = 0; i < B; i++) {
        const x = [p.X[2 * i], p.X[2 * i + 1]];
        const w = [p.W[2 * p.labels[i]], p.W[2 * p.labels[i] + 1]];
        const cos = (x[0] * w[0] + x[1] * w[1]) / (Math.hypot(x[0], x[1]) * Math.hypot(w[0], w[1]));
        if (Math.acos(cos) + 0.9 > Math.PI) past++;
      }
    }
    expect(past).toBeGreaterThan(0);
  });
});

describe('MNIST asset format', () => {
  it('round-trips and refuses damaged files', () => {
    const subset = {
      count: 3,
      rows: 2,
      cols: 2,
      labels: Uint8Array.from([7, 0, 9]),
      pixels: Uint8Array.from({ length: 12 }, (_, i) => i * 20),
    };
    const bytes = encodeMnistSubset(subset);
    expect(bytes.length).toBe(12 + 3 * 5);
    expect(decodeMnistSubset(bytes)).toEqual(subset);
    expect(() => decodeMnistSubset(bytes.subarray(0, bytes.length - 1))).toThrow(/expected 27 bytes, got 26/);
    const wrong = bytes.slice();
    wrong[0] = 0;
    expect(() => decodeMnistSubset(wrong)).toThrow(/not a FVMN file/);
  });
});
