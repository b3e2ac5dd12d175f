import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/index.js';
import { pooledBytes } from '../../src/kernels/buffer-pool.js';
import { registerNativeKernels, unregisterNativeKernels } from '../../src/kernels/index.js';
import { lenetpp } from '../../src/train/index.js';
import { onCpuBackend, rng, tensorOf, trainingLosses } from '../helpers/tf-kernels.js';

const engine = loadEngine();
const next = rng(20261206);

const SHAPE = [4, 16, 16, 8];
const BYTES = SHAPE.reduce((p, d) => p * d, 1) * 4;

/** The backend's own array behind `t`, read without going through readSync (which would mark it shared). */
function backendValues(t: tf.Tensor): unknown {
  const backend = tf.backend() as unknown as { data: { get(id: object): { values: unknown } } };
  return backend.data.get(t.dataId).values;
}

/** A native PReLU output (one activation-sized kernel output) of random input. */
function activation(): tf.Tensor {
  return tf.tidy(() => tf.prelu(tensorOf(SHAPE, next), tf.fill([1, 1, 8], 0.25)));
}

describe.skipIf(!engine)('reuse of native kernel outputs on the cpu backend', () => {
  onCpuBackend();

  it('gives a disposed output array to the next output of that size', () => {
    expect(registerNativeKernels(tf)).toBe(true);
    const first = activation();
    const array = backendValues(first);
    const before = pooledBytes();
    first.dispose();
    expect(pooledBytes()).toBe(before + BYTES);
    const second = activation();
    expect(backendValues(second)).toBe(array);
    expect(pooledBytes()).toBe(before);
    second.dispose();
  });

  it('computes the same values in a reused array as in a fresh one', () => {
    expect(registerNativeKernels(tf)).toBe(true);
    const x = tensorOf(SHAPE, next);
    const alpha = tf.fill([1, 1, 8], 0.1);
    const fresh = tf.prelu(x, alpha);
    const expected = Float32Array.from(fresh.dataSync());
    // Dirty a pooled array of that size, then compute again into it.
    activation().dispose();
    const again = tf.prelu(x, alpha);
    expect(again.dataSync()).toEqual(expected);
    tf.dispose([x, alpha, fresh, again]);
  });

  it('never reuses an array whose values were read out', async () => {
    expect(registerNativeKernels(tf)).toBe(true);
    for (const read of [(t: tf.Tensor) => t.dataSync(), (t: tf.Tensor) => t.data()]) {
      const y = activation();
      const values = (await read(y)) as Float32Array;
      const copy = Float32Array.from(values);
      y.dispose();
      const others = [activation(), activation()];
      expect(others.map(backendValues)).not.toContain(values);
      expect(values).toEqual(copy);
      tf.dispose(others);
    }
  });

  it('never reuses an array that a view of it (a contiguous slice) still reads', () => {
    expect(registerNativeKernels(tf)).toBe(true);
    const y = activation();
    const array = backendValues(y);
    const head = tf.slice(y, [0, 0, 0, 0], [1, 16, 16, 8]);
    const expected = Float32Array.from(backendValues(head) as Float32Array);
    y.dispose();
    const others = [activation(), activation()];
    expect(others.map(backendValues)).not.toContain(array);
    expect(head.dataSync()).toEqual(expected);
    tf.dispose([head, ...others]);
  });

  it('reuses nothing for a tensor that another still shares (reshape keeps the data)', () => {
    expect(registerNativeKernels(tf)).toBe(true);
    const y = activation();
    const flat = tf.reshape(y, [-1]);
    const before = pooledBytes();
    y.dispose();
    expect(pooledBytes()).toBe(before);
    flat.dispose();
    expect(pooledBytes()).toBe(before + BYTES);
  });

  it('restores the backend and empties the pool when the kernels are unregistered', () => {
    expect(registerNativeKernels(tf)).toBe(true);
    activation().dispose();
    expect(pooledBytes()).toBeGreaterThan(0);
    unregisterNativeKernels(tf);
    expect(pooledBytes()).toBe(0);
    const backend = tf.backend() as object;
    for (const name of ['write', 'move', 'readSync', 'read', 'disposeData']) {
      expect(Object.getOwnPropertyDescriptor(backend, name)).toBeUndefined();
    }
    // Outputs of TF.js's own kernels are not ours to pool.
    activation().dispose();
    expect(pooledBytes()).toBe(0);
  });

  it('leaves training unchanged: the same losses with reuse as on the first, fresh, steps', () => {
    expect(registerNativeKernels(tf)).toBe(true);
    const options = { inputShape: [12, 12, 1] as const, embeddingDim: 2, seed: 3, width: 0.5 };
    const first = trainingLosses(lenetpp(options), [8, 12, 12, 1], 2);
    // The second run takes its activations from the arrays the first one left in the pool.
    expect(pooledBytes()).toBeGreaterThan(0);
    const second = trainingLosses(lenetpp(options), [8, 12, 12, 1], 2);
    expect(second).toEqual(first);
  });
});
