/**
 * Training-mode batch normalisation: the native kernels and the BatchNorm layer against tf.layers'
 * batchNormalization (TF.js's own moments + batchNorm composition) — output, gradients for x, gamma and
 * beta, the moving statistics after a step, inference mode, and serialisation.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { loadEngine, requireEngine } from '../../src/engine/index.js';
import {
  batchNormTraining,
  batchNormTrainingStep,
  registerNativeKernels,
  unregisterNativeKernels,
} from '../../src/kernels/index.js';
import { BatchNorm } from '../../src/train/backbones/batch-norm.js';
import { mobilefacenet } from '../../src/train/index.js';
import { both, expectClose, onCpuBackend, rng, tensorOf, trainingLosses } from '../helpers/tf-kernels.js';

const engine = loadEngine();
const next = rng(20261206);
const random = (shape: number[], scale = 1, shift = 0) => tensorOf(shape, () => next() * scale + shift);

describe.skipIf(!engine)('native training-mode batch normalisation', () => {
  onCpuBackend();

  it.each([
    { shape: [4, 5, 6, 3], scale: 1, shift: 0 },
    { shape: [2, 7, 7, 37], scale: 3, shift: 5 },
    { shape: [64, 16], scale: 0.01, shift: -2 },
    { shape: [1, 1, 1, 8], scale: 1, shift: 0 },
    // Rows run in spans of at least 64 values: channel counts that do and do not divide 64, partial last
    // spans, and many spans per task.
    { shape: [3, 5, 7, 1], scale: 2, shift: 1 },
    { shape: [5, 3, 7, 6], scale: 1, shift: -3 },
    { shape: [2, 3, 5, 65], scale: 1, shift: 0 },
    { shape: [16, 28, 28, 8], scale: 1.5, shift: 0.5 },
    { shape: [5, 27, 29, 12], scale: 1, shift: 0 },
  ])(
    'output, statistics and gradients match TF.js moments + batchNorm: $shape',
    ({ shape, scale, shift }) => {
      const x = random(shape, scale, shift);
      const channels = shape[shape.length - 1];
      const gamma = random([channels], 0.5, 1) as tf.Tensor1D;
      const beta = random([channels]) as tf.Tensor1D;
      const probe = random(shape);
      const { ref, got } = both(() => {
        const { y, mean, variance } = batchNormTraining(tf, x, gamma, beta, 1e-3);
        const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(batchNormTraining(tf, a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3).y, probe)),
        )([x, gamma, beta]);
        return [y, mean, variance, ...grads];
      });
      expectClose(ref, got, 2e-4);
    },
  );

  it.each([
    { shape: [64, 9, 9, 5], scale: 0.01, shift: 1000 },
    { shape: [7, 3, 3, 33], scale: 1e-3, shift: -40 },
    { shape: [300, 2], scale: 5, shift: 0 },
  ])(
    'statistics of values far from zero (spread $scale around $shift) match float64 sums: $shape',
    ({ shape, scale, shift }) => {
      registerNativeKernels(tf);
      const x = random(shape, scale, shift);
      const { mean, variance } = batchNormTraining(
        tf,
        x,
        tf.ones([shape.at(-1)!]),
        tf.zeros([shape.at(-1)!]),
        1e-3,
      );
      const X = x.dataSync();
      const C = shape.at(-1)!;
      const rows = X.length / C;
      const [M, V] = [mean.dataSync(), variance.dataSync()];
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += X[r * C + c];
        const m = s / rows;
        let q = 0;
        for (let r = 0; r < rows; r++) q += (X[r * C + c] - m) ** 2;
        const v = q / rows;
        // The mean to float32 rounding plus float sums of short blocks (relative to the spread); the
        // variance to a few float32 ulps of itself: no digits lost to cancellation.
        expect(Math.abs(M[c] - m)).toBeLessThanOrEqual(Math.abs(m) * 2 ** -23 + Math.sqrt(v) * 1e-6);
        expect(Math.abs(V[c] - v)).toBeLessThanOrEqual(v * 1e-5);
      }
    },
  );

  it.each([
    { shape: [4, 5, 6, 3], momentum: 0.99 },
    { shape: [2, 7, 7, 37], momentum: 0.9 },
    { shape: [64, 16], momentum: 0.5 },
  ])(
    'one step updates the moving statistics as tf.layers does, to the bit: $shape',
    ({ shape, momentum }) => {
      const x = random(shape, 2, 1);
      const channels = shape[shape.length - 1];
      const gamma = random([channels], 0.5, 1) as tf.Tensor1D;
      const beta = random([channels]) as tf.Tensor1D;
      const moving = {
        mean: random([channels]) as tf.Tensor1D,
        variance: random([channels], 0.5, 1) as tf.Tensor1D,
      };
      for (const native of [true, false]) {
        if (native) registerNativeKernels(tf);
        else unregisterNativeKernels(tf);
        const step = batchNormTrainingStep(tf, x, gamma, beta, 1e-3, { ...moving, momentum });
        const { y, mean, variance } = batchNormTraining(tf, x, gamma, beta, 1e-3);
        // tf.layers' update, as TF.js ops on the same batch statistics.
        const update = (old: tf.Tensor, batch: tf.Tensor) =>
          tf.sub(old, tf.mul(tf.sub(old, batch), 1 - momentum));
        expect(step.y.dataSync()).toEqual(y.dataSync());
        expect(step.movingMean.dataSync()).toEqual(update(moving.mean, mean).dataSync());
        expect(step.movingVariance.dataSync()).toEqual(update(moving.variance, variance).dataSync());
      }
    },
  );

  it('a step is one forward kernel and one gradient kernel, with gradients for x, gamma and beta', () => {
    registerNativeKernels(tf);
    const x = random([3, 4, 4, 5]);
    const gamma = random([5], 0.5, 1) as tf.Tensor1D;
    const beta = random([5]) as tf.Tensor1D;
    const moving = {
      mean: tf.zeros([5]) as tf.Tensor1D,
      variance: tf.ones([5]) as tf.Tensor1D,
      momentum: 0.9,
    };
    const probe = random([3, 4, 4, 5]);
    const forward = vi.spyOn(requireEngine(), 'batchNormTrain');
    const backward = vi.spyOn(requireEngine(), 'batchNormTrainGrad');
    try {
      const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(
          tf.mul(batchNormTrainingStep(tf, a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3, moving).y, probe),
        ),
      )([x, gamma, beta]);
      expect(forward).toHaveBeenCalledTimes(1);
      expect(backward).toHaveBeenCalledTimes(1);
      const ref = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(batchNormTraining(tf, a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3).y, probe)),
      )([x, gamma, beta]);
      expectClose(ref, grads, 0);
    } finally {
      forward.mockRestore();
      backward.mockRestore();
    }
  });

  it('runs as the native kernels while they are registered, and as TF.js ops after', () => {
    const x = random([2, 3, 3, 4]);
    const gamma = tf.ones([4]) as tf.Tensor1D;
    const beta = tf.zeros([4]) as tf.Tensor1D;
    const forward = vi.spyOn(requireEngine(), 'batchNormTrain');
    const backward = vi.spyOn(requireEngine(), 'batchNormTrainGrad');
    try {
      registerNativeKernels(tf);
      tf.grad((a: tf.Tensor) => tf.sum(batchNormTraining(tf, a, gamma, beta, 1e-3).y))(x);
      expect(forward).toHaveBeenCalledTimes(1);
      expect(backward).toHaveBeenCalledTimes(1);
      unregisterNativeKernels(tf);
      batchNormTraining(tf, x, gamma, beta, 1e-3);
      expect(forward).toHaveBeenCalledTimes(1);
    } finally {
      forward.mockRestore();
      backward.mockRestore();
    }
  });

  it('the BatchNorm layer trains, updates its moving statistics and infers like tf.layers batchNormalization', () => {
    const x = random([6, 5, 5, 3], 2, 1);
    const target = random([6, 5, 5, 3]);
    const run = (layer: tf.layers.Layer, native: boolean) => {
      if (native) registerNativeKernels(tf);
      else unregisterNativeKernels(tf);
      const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [5, 5, 3] }), layer] });
      const opt = tf.train.sgd(0.1);
      for (let s = 0; s < 2; s++) {
        opt.minimize(
          () =>
            tf.mean(tf.square(tf.sub(model.apply(x, { training: true }) as tf.Tensor, target))) as tf.Scalar,
        );
      }
      const inference = model.apply(x, { training: false }) as tf.Tensor;
      return [...model.getWeights().map((w) => w.clone()), inference];
    };
    const ref = run(tf.layers.batchNormalization({ epsilon: 1e-5 }), false);
    const ours = run(new BatchNorm({ epsilon: 1e-5 }), true);
    const oursOnOps = run(new BatchNorm({ epsilon: 1e-5 }), false);
    // gamma, beta, moving mean, moving variance (same order as tf.layers), then the inference output.
    expect(ours.map((t) => t.shape)).toEqual(ref.map((t) => t.shape));
    expectClose(ref, ours, 2e-4);
    expectClose(ref, oursOnOps, 1e-6);
    // The moving statistics moved: this comparison is not between two sets of initial values.
    expect(Math.abs(ref[2].dataSync()[0])).toBeGreaterThan(1e-3);
  });

  it('round-trips through tf.layers serialisation', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.inputLayer({ inputShape: [3, 3, 2] }),
        new BatchNorm({ epsilon: 1e-5, momentum: 0.9 }),
      ],
    });
    const back = await tf.models.modelFromJSON({
      modelTopology: model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'],
    });
    const layer = back.layers.at(-1) as BatchNorm;
    expect(layer).toBeInstanceOf(BatchNorm);
    expect(layer.epsilon).toBe(1e-5);
    expect(layer.momentum).toBe(0.9);
    expect(back.getWeights().map((w) => w.shape)).toEqual([[2], [2], [2], [2]]);
  });

  it('MobileFaceNet takes the same first training steps with the native kernels as on TF.js ops', () => {
    const losses = (native: boolean) => {
      if (native) registerNativeKernels(tf);
      else unregisterNativeKernels(tf);
      return trainingLosses(
        mobilefacenet({ inputShape: [32, 32, 3], embeddingDim: 8, seed: 3, width: 0.25 }),
        [4, 32, 32, 3],
        8,
      );
    };
    const ref = losses(false);
    const got = losses(true);
    for (let s = 0; s < ref.length; s++)
      expect(Math.abs(got[s] - ref[s])).toBeLessThan(1e-4 * Math.max(1, ref[s]));
    expect(ref[2]).not.toBe(ref[0]);
  });
});
