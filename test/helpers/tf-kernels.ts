/**
 * What is shared by the native TF.js kernel tests: the switch to the cpu backend around a suite, a seeded
 * generator for tensor values, a run of the same computation with TF.js's own cpu kernels and with the
 * native ones, a closeness comparison of their results, and the losses of a short training run.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect } from 'vitest';
import { registerNativeKernels, unregisterNativeKernels } from '../../src/kernels/index.js';

/**
 * Called inside a `describe`: its tests run on the cpu backend; afterwards the native kernels are
 * unregistered and the backend that was active before is set again.
 */
export function onCpuBackend(): void {
  let previousBackend = '';
  beforeAll(async () => {
    previousBackend = tf.getBackend();
    await tf.setBackend('cpu');
  });
  afterAll(async () => {
    unregisterNativeKernels(tf);
    if (previousBackend) await tf.setBackend(previousBackend);
  });
}

/** A xorshift generator of values in [-1, 1), the same sequence for the same seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2147483648 - 1;
  };
}

/** A float32 tensor of `shape` filled in order by `draw`. */
export function tensorOf(shape: number[], draw: () => number): tf.Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = draw();
  return tf.tensor(v, shape);
}

/**
 * Run `f` with TF.js's own cpu kernels and then with the native ones; returns both results. The native
 * kernels stay registered afterwards.
 */
export function both(f: () => tf.Tensor | tf.Tensor[]): { ref: tf.Tensor[]; got: tf.Tensor[] } {
  unregisterNativeKernels(tf);
  const ref = [f()].flat();
  expect(registerNativeKernels(tf)).toBe(true);
  const got = [f()].flat();
  return { ref, got };
}

/**
 * Same shapes (and dtypes, with `dtypes` set), and max |got − ref| ≤ tol · max(1, max |ref|) with every
 * value finite.
 */
export function expectClose(ref: tf.Tensor[], got: tf.Tensor[], tol: number, { dtypes = false } = {}): void {
  expect(got.length).toBe(ref.length);
  for (let t = 0; t < ref.length; t++) {
    expect(got[t].shape).toEqual(ref[t].shape);
    if (dtypes) expect(got[t].dtype).toBe(ref[t].dtype);
    const r = ref[t].dataSync();
    const g = got[t].dataSync();
    let scale = 1;
    for (const v of r) scale = Math.max(scale, Math.abs(v));
    let worst = 0;
    for (let i = 0; i < r.length; i++) worst = Math.max(worst, Math.abs(g[i] - r[i]));
    expect(Number.isFinite(worst)).toBe(true);
    expect(worst).toBeLessThanOrEqual(tol * scale);
  }
}

/**
 * Losses of three SGD-with-momentum steps of `model` (a mean squared error against a fixed random
 * target of width `dim`) on a fixed random input of shape `input`; disposes the model afterwards.
 */
export function trainingLosses(model: tf.LayersModel, input: number[], dim: number): number[] {
  const x = tf.randomNormal(input, 0, 1, 'float32', 1);
  const target = tf.randomNormal([input[0], dim], 0, 1, 'float32', 2);
  const opt = tf.train.momentum(0.002, 0.9);
  const out: number[] = [];
  for (let s = 0; s < 3; s++) {
    const loss = opt.minimize(
      () => tf.mean(tf.square(tf.sub(model.apply(x, { training: true }) as tf.Tensor, target))) as tf.Scalar,
      true,
    )!;
    out.push(loss.dataSync()[0]);
    loss.dispose();
  }
  model.dispose();
  opt.dispose();
  tf.dispose([x, target]);
  return out;
}
