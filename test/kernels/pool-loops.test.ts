/**
 * The 2×2 max-pooling loops, built once per instruction set: at every dispatch level the CPU runs, max
 * pooling and its gradient match TF.js's own kernels on shapes whose windows have four taps (channel
 * counts with a loop of their own, 8, 16 and 32, and others; strides that leave gaps; windows clipped by
 * 'same' padding; ties, NaN and infinities), and every level and thread count gives the same bits.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadEngine, setDispatch, setThreads } from '../../src/engine/index.js';
import { dispatchLevels } from '../helpers/dispatch-levels.js';
import { both, onCpuBackend, rng, tensorOf } from '../helpers/tf-kernels.js';

const engine = loadEngine();

describe.skipIf(!engine)('2×2 max-pooling loops at every dispatch level', () => {
  onCpuBackend();
  const levels = dispatchLevels();
  const draw = rng(20261206);
  const special = [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0, -0];

  type Case = [string, number[], [number, number], [number, number], 'same' | 'valid'];
  const cases: Case[] = [
    ['8 channels, same, odd size', [3, 13, 11, 8], [2, 2], [2, 2], 'same'],
    ['16 channels, valid', [2, 14, 14, 16], [2, 2], [2, 2], 'valid'],
    ['32 channels, same, 7×7 (a clipped last window)', [4, 7, 7, 32], [2, 2], [2, 2], 'same'],
    ['5 channels, same', [2, 9, 8, 5], [2, 2], [2, 2], 'same'],
    ['37 channels, valid', [2, 6, 9, 37], [2, 2], [2, 2], 'valid'],
    ['8 channels, stride 3: gaps between windows', [2, 11, 10, 8], [2, 2], [3, 3], 'valid'],
    ['16 channels, 3×3/3 same: windows clipped to 2×2', [2, 8, 8, 16], [3, 3], [3, 3], 'same'],
    ['LeNet++ size, threaded', [16, 28, 28, 8], [2, 2], [2, 2], 'same'],
  ];

  /** Max pooling and its gradient with the kernels registered now. */
  const pooled = (
    x: tf.Tensor,
    dy: tf.Tensor,
    size: [number, number],
    strides: [number, number],
    pad: 'same' | 'valid',
  ) => {
    const pool = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, size, strides, pad);
    return [pool(x), tf.grad(pool)(x, dy)];
  };
  const bits = (t: tf.Tensor) => Array.from(new Uint32Array(t.dataSync().slice().buffer));

  it.each(levels)('match TF.js to the bit, the same bits at every level and thread count (%s)', (level) => {
    for (const [name, shape, size, strides, pad] of cases) {
      // Few distinct values (many ties), some of them special.
      const x = tensorOf(shape, () => {
        const u = draw();
        return u > 0.9 ? special[Math.floor((u - 0.9) * 50) % special.length] : Math.round(u * 3);
      });
      const outShape = tf.tidy(() => tf.maxPool(x as tf.Tensor4D, size, strides, pad).shape);
      const dy = tensorOf(outShape, draw);
      setDispatch(level);
      setThreads(0);
      const { ref, got } = both(() => pooled(x, dy, size, strides, pad));
      setDispatch('scalar');
      setThreads(1);
      const baseline = pooled(x, dy, size, strides, pad);
      for (let i = 0; i < 2; i++) {
        const where = `${level}, ${name}, output ${i}`;
        expect(bits(got[i]), where).toEqual(bits(ref[i]));
        expect(bits(got[i]), where).toEqual(bits(baseline[i]));
      }
      tf.dispose([x, dy, ...ref, ...got, ...baseline]);
    }
  });
});
