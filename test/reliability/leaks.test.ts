/**
 * Tensor leaks: a training step of a HeadLayer with marginLoss under an optimiser must release every
 * tensor it creates, so tf.memory().numTensors stays flat over many steps (a leak of one tensor per
 * step would exhaust GPU memory in a long run). Tiny shapes on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHead, headNames } from '../../src/heads/index.js';
import { createRng } from '../../src/rng.js';
import { HeadLayer, marginLoss, tfjsImplementation } from '../../src/tf/index.js';

const B = 4;
const D = 3;
const C = 5;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Tensor counts after each of `steps` SGD steps of `head` (a HeadLayer trained through marginLoss). */
function trainingCounts(head: string, steps: number): number[] {
  const layer = new HeadLayer({ head, classes: C, seed: 3 });
  const loss = marginLoss(layer);
  const optimizer = tf.train.sgd(0.05);
  const rng = createRng(9);
  const X = tf.tensor2d(
    Float32Array.from({ length: B * D }, () => rng.normal()),
    [B, D],
  );
  const labels = tf.tensor1d(
    Int32Array.from({ length: B }, (_, i) => i % C),
    'int32',
  );
  tf.tidy(() => {
    layer.apply(X); // builds the weights
  });
  const counts: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const value = optimizer.minimize(
        () => loss(labels, layer.apply(X, { training: true }) as tf.Tensor),
        true,
      );
      if (!Number.isFinite(value?.dataSync()[0])) throw new Error(`${head}: loss not finite at step ${s}`);
      value?.dispose();
      counts.push(tf.memory().numTensors);
    }
  } finally {
    layer.dispose();
    optimizer.dispose();
    X.dispose();
    labels.dispose();
  }
  return counts;
}

describe('no tensor leaks', () => {
  it('1,000 training steps of a stateful head (CurricularFace) keep numTensors flat', () => {
    const before = tf.memory().numTensors;
    const counts = trainingCounts('curricularface', 1000);
    // The layer keeps the tensors of its latest calls; after a few steps the count must not move.
    expect(counts[999]).toBe(counts[9]);
    expect(Math.max(...counts.slice(9))).toBe(counts[9]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(headNames.filter((n) => n !== 'curricularface').map((n) => [n]))(
    '%s: 12 training steps keep numTensors flat and release everything on dispose',
    (head) => {
      const before = tf.memory().numTensors;
      let counts: number[];
      try {
        counts = trainingCounts(head, 12);
      } catch (err) {
        // Heads without a TF.js path say so with a typed error; that is not a leak.
        if ((err as Error).name === 'UnsupportedConfigError') return;
        throw err;
      }
      expect(counts[11]).toBe(counts[3]);
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('the fp32 conformance implementation releases its tensors (50 steps)', () => {
    const head = createHead('adaface', {}, { rng: createRng(1) });
    const rng = createRng(2);
    const inputs = {
      X: Float64Array.from({ length: B * D }, () => rng.normal()),
      W: Float64Array.from({ length: C * D }, () => rng.normal()),
      labels: Int32Array.from({ length: B }, (_, i) => i % C),
    };
    const before = tf.memory().numTensors;
    for (let s = 0; s < 50; s++) tfjsImplementation(head, inputs);
    expect(tf.memory().numTensors).toBe(before);
  });
});
