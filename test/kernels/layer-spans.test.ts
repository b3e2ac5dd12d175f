/**
 * The per-channel layer kernels (PReLU, training-mode batch normalisation), whose loops run along spans
 * of whole rows at the width of each instruction set: at every dispatch level the CPU runs, on random
 * shapes (channel counts that do and do not divide a span, partial last spans, one and many tasks),
 * they match TF.js's own ops, and every level and thread count gives the same bits.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadEngine, setDispatch, setThreads } from '../../src/engine/index.js';
import { batchNormTraining } from '../../src/kernels/index.js';
import { dispatchLevels } from '../helpers/dispatch-levels.js';
import { both, expectClose, onCpuBackend, rng, tensorOf } from '../helpers/tf-kernels.js';

const engine = loadEngine();

describe.skipIf(!engine)('span loops of the PReLU and batch-norm kernels', () => {
  onCpuBackend();
  const levels = dispatchLevels();
  const draw = rng(20261208);
  const int = (lo: number, hi: number) => lo + Math.floor(((draw() + 1) / 2) * (hi - lo + 1));

  /** Random NHWC shapes: 1–130 channels, a few with enough values for many tasks. */
  const shapes = (count: number) =>
    Array.from({ length: count }, (_, i) => {
      const big = i % 4 === 3;
      return [int(1, big ? 24 : 4), int(1, big ? 30 : 9), int(1, big ? 30 : 9), int(1, big ? 20 : 130)];
    });

  /** PReLU and batch norm outputs and gradients for one input, with the kernels registered now. */
  const layers = (
    x: tf.Tensor,
    alpha: tf.Tensor,
    gamma: tf.Tensor1D,
    beta: tf.Tensor1D,
    probe: tf.Tensor,
  ) => {
    const prelu = tf.grads((a: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(tf.prelu(a, s), probe)))([x, alpha]);
    const bn = batchNormTraining(tf, x, gamma, beta, 1e-3);
    const bnGrads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(batchNormTraining(tf, a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3).y, probe)),
    )([x, gamma, beta]);
    return [tf.prelu(x, alpha), ...prelu, bn.y, bn.mean, bn.variance, ...bnGrads];
  };

  it.each(levels)(
    'match TF.js ops on random shapes, the same bits at every level and thread count (%s)',
    (level) => {
      for (const shape of shapes(12)) {
        const C = shape[3];
        const x = tensorOf(shape, () => draw() * 2 + 0.5);
        const alpha = tensorOf([C], draw);
        const gamma = tensorOf([C], () => draw() * 0.5 + 1) as tf.Tensor1D;
        const beta = tensorOf([C], draw) as tf.Tensor1D;
        const probe = tensorOf(shape, draw);
        setDispatch(level);
        setThreads(0);
        const { ref, got } = both(() => layers(x, alpha, gamma, beta, probe));
        const where = `${level}, shape ${shape}`;
        try {
          // PReLU's output and dx are exact; its dalpha and the batch norm are sums in another order.
          expectClose(ref.slice(0, 2), got.slice(0, 2), 0);
          expectClose(ref.slice(2), got.slice(2), 2e-4);
        } catch (error) {
          throw new Error(`${where}: ${(error as Error).message}`);
        }
        setDispatch('scalar');
        setThreads(1);
        const baseline = layers(x, alpha, gamma, beta, probe);
        for (let i = 0; i < got.length; i++) {
          expect(Array.from(got[i].dataSync()), `${where}, output ${i}`).toEqual(
            Array.from(baseline[i].dataSync()),
          );
        }
        tf.dispose([x, alpha, gamma, beta, probe, ...ref, ...got, ...baseline]);
      }
    },
  );
});
