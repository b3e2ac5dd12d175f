/**
 * One step on a small model: it trains, clips, decays only kernels, and turns a non-finite value into the
 * divergence error that names the checkpoint kept. A resumed run takes the head state from state.json.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HeadLayer } from '../../../src/tf/index.js';
import { parseTrainConfig } from '../../../src/train/config.js';
import { TrainingDivergedError } from '../../../src/train/errors.js';
import { DivergenceGuard } from '../../../src/train/loop/divergence.js';
import { restoreCheckpoint } from '../../../src/train/loop/restore.js';
import { emptyEpochStats, type TrainingState } from '../../../src/train/loop/state.js';
import { clipByGlobalNorm, createStep } from '../../../src/train/loop/step.js';
import { RunFolder } from '../../../src/train/run-dir.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** 2×2×1 images → dense 3 → head over 4 classes (the head named by `head`). */
function tinyModel(head: string, params: Record<string, number> = {}) {
  const input = tf.input({ shape: [2, 2, 1] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) });
  const features = dense.apply(flat) as tf.SymbolicTensor;
  const layer = new HeadLayer({ head, params, classes: 4, seed: 5 });
  const model = tf.model({ inputs: input, outputs: layer.apply(features) as tf.SymbolicTensor });
  return { model, head: layer };
}

const images = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + 1));
const labels = Int32Array.from([0, 1, 2, 3]);

describe('createStep', () => {
  it('returns a finite loss and the correct count, and moves every trainable weight', async () => {
    const { model, head } = tinyModel('arcface', { scale: 8, margin: 0.2 });
    const config = parseTrainConfig({ head: 'arcface', weightDecay: 0, clipNorm: 0 });
    const guard = new DivergenceGuard(config, head);
    const step = createStep(
      { model, head, optimizer: tf.train.sgd(0.5), imageShape: [2, 2, 1] },
      config,
      guard,
    );
    const before = model.trainableWeights.map((w) => w.read().dataSync().slice());
    const { loss, correct } = await step(images, labels, 0);
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThan(0);
    expect(correct).toBeGreaterThanOrEqual(0);
    expect(correct).toBeLessThanOrEqual(4);
    model.trainableWeights.forEach((w, i) => {
      const after = w.read().dataSync();
      expect(
        after.some((v, j) => v !== before[i][j]),
        w.name,
      ).toBe(true);
    });
  });

  it('non-finite weights stop the step with the divergence error naming the last checkpoint', async () => {
    const { model, head } = tinyModel('cosface', { scale: 8, margin: 0.2 });
    const config = parseTrainConfig({ head: 'cosface' });
    const guard = new DivergenceGuard(config, head, 40);
    const step = createStep(
      { model, head, optimizer: tf.train.sgd(0.1), imageShape: [2, 2, 1] },
      config,
      guard,
    );
    const kernel = model.trainableWeights[0];
    kernel.write(tf.fill(kernel.shape as number[], Number.NaN));
    const failure = await step(images, labels, 41).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TrainingDivergedError);
    expect((failure as TrainingDivergedError).step).toBe(42);
    expect((failure as TrainingDivergedError).checkpointStep).toBe(40);
    expect((failure as Error).message).toContain('--lr');
  });
});

describe('clipByGlobalNorm', () => {
  it('scales all gradients by max/norm when the norm is larger, and leaves them otherwise', () => {
    const grads = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) }; // norm 5
    clipByGlobalNorm(grads, ['a', 'b'], 1, () => new Error('x'));
    expect(Array.from(grads.a.dataSync())).toEqual([expect.closeTo(0.6, 6), 0]);
    expect(Array.from(grads.b.dataSync())).toEqual([0, expect.closeTo(0.8, 6)]);
    const small = { a: tf.tensor1d([0.3, 0]) };
    clipByGlobalNorm(small, ['a'], 1, () => new Error('x'));
    expect(Array.from(small.a.dataSync())).toEqual([expect.closeTo(0.3, 6), 0]);
  });

  it('a non-finite norm throws the given error', () => {
    const grads = { a: tf.tensor1d([Number.POSITIVE_INFINITY, 0]) };
    expect(() => clipByGlobalNorm(grads, ['a'], 1, () => new RangeError('diverged'))).toThrow('diverged');
  });
});

describe('restoreCheckpoint', () => {
  it('sets weights, counters and the head state the checkpoint recorded', async () => {
    const { model, head } = tinyModel('curricularface');
    const saved = model.getWeights().map((w) => tf.add(w, 1));
    const expected = saved.map((w) => w.dataSync().slice());
    const state: TrainingState = { step: 0, epochStats: emptyEpochStats() };
    const optimizer = tf.train.momentum(0.1, 0.9);
    const before = head.getHeadState();
    expect(before.t).toBeDefined();
    const headState = { ...before, t: before.t + 0.25 };
    await restoreCheckpoint(
      {
        weights: saved,
        // The iteration count alone: the optimiser has not stepped yet.
        optimizer: { shapes: [[]], values: new Float32Array([0]) },
        state: {
          version: 1,
          epoch: 1,
          step: 7,
          iteration: { version: 1, seed: 1, shuffle: true, flip: false, size: 4, epoch: 1, position: 0 },
          rng: null,
          headState,
          optimizerShapes: [],
          epochStats: { seen: 4, correct: 2, lossSum: 3 },
        },
      },
      { model, head, optimizer, run: new RunFolder('/nonexistent') },
      state,
    );
    expect(state).toEqual({ step: 7, epochStats: { seen: 4, correct: 2, lossSum: 3 } });
    expect(head.getHeadState().t).toBeCloseTo(before.t + 0.25, 6);
    // Every weight but the layer's state slot (set from state.json just after) is the saved one.
    const stateSize = Object.keys(before).length;
    const restored = model.getWeights();
    const matching = restored.filter((w, i) =>
      Array.from(w.dataSync()).every((v, j) => v === expected[i][j]),
    );
    expect(matching.length).toBe(restored.length - 1);
    expect(restored.some((w) => w.size === stateSize)).toBe(true);
  });
});
