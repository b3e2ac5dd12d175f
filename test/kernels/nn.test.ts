import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import {
  type DispatchLevel,
  engineInfo,
  loadEngine,
  requireEngine,
  setDispatch,
  setThreads,
} from '../../src/engine/index.js';
import {
  NATIVE_KERNEL_NAMES,
  nativeKernelActive,
  registerNativeKernels,
  unregisterNativeKernels,
} from '../../src/kernels/index.js';
import { lenetpp } from '../../src/train/index.js';
import { both, expectClose, onCpuBackend, rng, tensorOf, trainingLosses } from '../helpers/tf-kernels.js';

const engine = loadEngine();

const next = rng(20261129);

/** Uniform values in [-1, 1), or small integers (many ties) when `ints` is set. */
function random(shape: number[], ints = false): tf.Tensor {
  return tensorOf(shape, () => (ints ? Math.round(next() * 2) : next()));
}

describe.skipIf(!engine)('native PReLU and max-pooling kernels', () => {
  onCpuBackend();

  it('registers with the other native kernels and restores kernels and the PReLU gradient', () => {
    unregisterNativeKernels(tf);
    const kernels = [
      'Prelu',
      'MaxPool',
      'MaxPoolGrad',
      'DepthwiseConv2dNative',
      'DepthwiseConv2dNativeBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter',
    ] as const;
    const originals = kernels.map((n) => tf.getKernel(n, 'cpu')?.kernelFunc);
    const grad = tf.getGradient('Prelu');
    expect(tf.getKernel('FvlPreluGrad', 'cpu')).toBeUndefined();
    expect(registerNativeKernels(tf)).toBe(true);
    expect(registerNativeKernels(tf)).toBe(true);
    for (const n of kernels) expect(NATIVE_KERNEL_NAMES).toContain(n);
    expect(kernels.every((n) => nativeKernelActive(tf, n))).toBe(true);
    for (const [i, n] of kernels.entries()) expect(tf.getKernel(n, 'cpu')?.kernelFunc).not.toBe(originals[i]);
    expect(tf.getGradient('Prelu').gradFunc).not.toBe(grad.gradFunc);
    expect(tf.getKernel('FvlPreluGrad', 'cpu')).toBeDefined();
    unregisterNativeKernels(tf);
    unregisterNativeKernels(tf);
    expect(kernels.map((n) => tf.getKernel(n, 'cpu')?.kernelFunc)).toEqual(originals);
    expect(tf.getGradient('Prelu').gradFunc).toBe(grad.gradFunc);
    expect(tf.getKernel('FvlPreluGrad', 'cpu')).toBeUndefined();
    expect(kernels.some((n) => nativeKernelActive(tf, n))).toBe(false);
  });

  const preluCases: [string, number[], number[]][] = [
    ['per channel [1,1,C]', [3, 7, 5, 6], [1, 1, 6]],
    ['per channel [C]', [2, 9, 11, 13], [13]],
    ['scalar alpha', [2, 5, 3, 4], [1]],
    ['rank 2, per column', [17, 31], [31]],
    ['large, threaded', [8, 28, 28, 16], [1, 1, 16]],
    // Rows are processed in spans of at least 64 values: channel counts that do and do not divide 64, row
    // counts that leave a partial last span, and many spans per task.
    ['1 channel, partial span', [3, 7, 5, 1], [1, 1, 1]],
    ['3 channels, partial span', [1, 9, 7, 3], [3]],
    ['17 channels', [2, 5, 7, 17], [1, 1, 17]],
    ['65 channels', [2, 3, 7, 65], [65]],
    ['8 channels, threaded', [16, 28, 28, 8], [1, 1, 8]],
    ['6 channels, threaded, partial span', [7, 27, 29, 6], [1, 1, 6]],
  ];

  it.each(preluCases)('Prelu forward and gradient match tfjs: %s', (_, xShape, aShape) => {
    const x = random(xShape);
    const alpha = random(aShape);
    const dy = random(xShape);
    const spy = vi.spyOn(requireEngine(), 'preluBackward');
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.prelu(a, b));
    const { ref, got } = both(() => [tf.prelu(x, alpha), ...grads([x, alpha], dy)]);
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    // Forward and dx are elementwise (exact); dalpha is a sum, accumulated in another order.
    expectClose(ref.slice(0, 2), got.slice(0, 2), 0);
    expectClose(ref.slice(2), got.slice(2), 1e-5);
    tf.dispose([x, alpha, dy, ...ref, ...got]);
  });

  it('Prelu with alpha along another axis falls back to the original kernel and gradient', () => {
    const x = random([2, 4, 5, 3]);
    const alpha = random([4, 1, 1]);
    const dy = random([2, 4, 5, 3]);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.prelu(a, b));
    const spy = vi.spyOn(requireEngine(), 'preluForward');
    const { ref, got } = both(() => [tf.prelu(x, alpha), ...grads([x, alpha], dy)]);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    expectClose(ref, got, 0);
    tf.dispose([x, alpha, dy, ...ref, ...got]);
  });

  it('PReLU gradient on x ≤ 0 and NaN follows tfjs (mask x > 0)', () => {
    const x = tf.tensor([0, -0, -1, 2, Number.NaN, 3], [1, 6]);
    const alpha = tf.tensor([0.5, 0.25, 0.1, 0.2, 0.3, 0.4]);
    const dy = tf.tensor([1, 2, 3, 4, 5, 6], [1, 6]);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.prelu(a, b));
    const { ref, got } = both(() => grads([x, alpha], dy));
    for (let t = 0; t < 2; t++) {
      const r = Array.from(ref[t].dataSync());
      const g = Array.from(got[t].dataSync());
      expect(g.map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(
        r.map((v) => (Number.isNaN(v) ? 'NaN' : v)),
      );
    }
    tf.dispose([x, alpha, dy, ...ref, ...got]);
  });

  it.each([
    ['8 channels, threaded', [16, 28, 28, 8]],
    ['17 channels, partial span', [3, 7, 5, 17]],
    ['1 channel', [2, 9, 11, 1]],
  ] as const)(
    'a Sum of the PReLU gradient over all axes but the last takes the sums of its pass: %s',
    (_, shape) => {
      const C = shape[3];
      const x = random([...shape]);
      const alpha = random([1, 1, C]);
      const dy = random([...shape]);
      const dxOf = (): tf.Tensor =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.prelu(a, b))([x, alpha], dy)[0];
      const sums = (dx: tf.Tensor) => [
        tf.sum(dx, [0, 1, 2]),
        tf.sum(tf.reshape(dx, [-1, C]), 0),
        tf.sum(dx, [0, 1, 2], true),
      ];
      const spy = vi.spyOn(requireEngine(), 'reduceSum');
      const { ref, got } = both(() => sums(dxOf()));
      expect(spy).not.toHaveBeenCalled();
      // Other reductions of the same dx, and a Mean, are summed in full.
      const { ref: refOther, got: gotOther } = both(() => {
        const dx = dxOf();
        return [tf.sum(dx, [0, 1]), tf.mean(dx, [0, 1, 2]), tf.sum(dx, [1, 2, 3])];
      });
      expect(spy).toHaveBeenCalledTimes(3);
      spy.mockRestore();
      // Sums of up to 12 544 terms in another order than tfjs.
      expectClose(ref, got, 1e-5);
      expectClose(refOther, gotOther, 1e-5);
      tf.dispose([x, alpha, dy, ...ref, ...got, ...refOther, ...gotOther]);
    },
  );

  it('the sums of a PReLU gradient are the same bits at every dispatch level and thread count', () => {
    const shape = [9, 21, 19, 12];
    const x = random(shape);
    const alpha = random([12]);
    const dy = random(shape);
    const info = engineInfo();
    const levels: DispatchLevel[] = info.available ? info.levels : [];
    const original: DispatchLevel = info.available ? info.dispatch : 'scalar';
    registerNativeKernels(tf);
    const runs: number[][] = [];
    try {
      for (const level of levels) {
        for (const threads of [1, 0]) {
          setDispatch(level);
          setThreads(threads);
          const dx = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.prelu(a, b))([x, alpha], dy)[0];
          const s = tf.sum(dx, [0, 1, 2]);
          runs.push(Array.from(s.dataSync()));
          tf.dispose([dx, s]);
        }
      }
    } finally {
      setDispatch(original);
      setThreads(0);
    }
    expect(runs.length).toBeGreaterThan(1);
    for (const run of runs) expect(run).toEqual(runs[0]);
    tf.dispose([x, alpha, dy]);
  });

  type PoolCase = [string, number[], [number, number], [number, number], 'same' | 'valid' | number, boolean];
  const poolCases: PoolCase[] = [
    ['2×2/2 same, odd size', [3, 7, 9, 5], [2, 2], [2, 2], 'same', false],
    ['2×2/2 valid, odd size', [2, 7, 9, 4], [2, 2], [2, 2], 'valid', false],
    ['3×3/1 same, overlapping', [2, 6, 7, 3], [3, 3], [1, 1], 'same', false],
    ['3×3/2 valid', [2, 11, 10, 6], [3, 3], [2, 2], 'valid', false],
    ['3×3/3 same', [1, 10, 8, 7], [3, 3], [3, 3], 'same', false],
    ['2×3/(1,2) same', [2, 9, 8, 5], [2, 3], [1, 2], 'same', false],
    ['3×3/2 explicit pad 1', [2, 8, 9, 4], [3, 3], [2, 2], 1, false],
    ['ties: 2×2/2 same, integer values', [4, 9, 9, 8], [2, 2], [2, 2], 'same', true],
    ['ties: 3×3/1 same, integer values', [2, 7, 6, 70], [3, 3], [1, 1], 'same', true],
    ['ties: 3×3/2 valid, integer values', [3, 9, 11, 3], [3, 3], [2, 2], 'valid', true],
    ['LeNet++ size, threaded', [16, 28, 28, 8], [2, 2], [2, 2], 'same', false],
    ['2×2/3 valid, gaps between windows', [2, 11, 10, 9], [2, 2], [3, 3], 'valid', false],
    ['1×2/(2,3) same, gaps', [3, 7, 8, 17], [1, 2], [2, 3], 'same', false],
    ['ties: 2×2/2 valid, many channels', [2, 6, 5, 37], [2, 2], [2, 2], 'valid', true],
    ['3×3/3 valid, uncovered edges', [2, 10, 11, 16], [3, 3], [3, 3], 'valid', false],
  ];

  it.each(poolCases)('MaxPool and its gradient match tfjs: %s', (_, shape, size, strides, pad, ints) => {
    const x = random(shape, ints);
    const pool = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, size, strides, pad);
    const outShape = tf.tidy(() => pool(x).shape);
    const dy = random(outShape);
    const grad = tf.grad(pool);
    const spy = vi.spyOn(requireEngine(), 'maxPoolGrad');
    const { ref, got } = both(() => [pool(x), grad(x, dy)]);
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    // The maximum is exact. The gradient adds the same terms in the same order, but tfjs sums in double
    // before rounding and the native kernel in float: overlapping windows may differ by an ulp or two.
    expectClose(ref.slice(0, 1), got.slice(0, 1), 0);
    expectClose(ref.slice(1), got.slice(1), 1e-6);
    tf.dispose([x, dy, ...ref, ...got]);
  });

  it('MaxPool gives -inf padding no gradient and NaN never wins', () => {
    const x = tf.tensor([Number.NaN, -5, -7, Number.NaN, -1, -2, -3, -4, -6], [1, 3, 3, 1]);
    const pool = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'same');
    const dy = tf.tensor([1, 2, 3, 4], [1, 2, 2, 1]);
    const { ref, got } = both(() => [pool(x), tf.grad(pool)(x, dy)]);
    expectClose(ref, got, 0);
    tf.dispose([x, dy, ...ref, ...got]);
  });

  it.each([
    [[2, 8, 6, 19], 2, 2, 'same'],
    [[3, 9, 7, 4], 2, 2, 'valid'],
    [[2, 9, 9, 5], 2, 3, 'valid'],
  ] as const)(
    'MaxPool and its gradient of %j (window %i, stride %i, %s): NaN and ±inf, and a reused output array',
    (shape, size, stride, pad) => {
      const n = shape.reduce((p, d) => p * d, 1);
      const special = [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0, -0];
      const x = tensorOf([...shape], () => {
        const u = next();
        return u > 0.8 ? special[Math.floor((u - 0.8) * 25) % special.length] : u;
      });
      const pool = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, size, stride, pad);
      const dy = random(tf.tidy(() => pool(x).shape));
      unregisterNativeKernels(tf);
      const ref = [pool(x), tf.grad(pool)(x, dy)];
      expect(registerNativeKernels(tf)).toBe(true);
      // An array of dx's length, full of non-zero values, goes back to the pool for the gradient to reuse.
      tf.dispose(tf.add(tf.fill([n], 3), tf.scalar(1)));
      const got = [pool(x), tf.grad(pool)(x, dy)];
      const show = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => (Number.isNaN(v) ? 'NaN' : v));
      expect(got.map(show)).toEqual(ref.map(show));
      tf.dispose([x, dy, ...ref, ...got]);
    },
  );

  it('int32 max pooling goes to the original kernel', () => {
    const x = tf.tensor([1, 5, 2, 3], [1, 2, 2, 1], 'int32');
    registerNativeKernels(tf);
    const spy = vi.spyOn(requireEngine(), 'maxPool');
    const y = tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid');
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    expect(Array.from(y.dataSync())).toEqual([5]);
    tf.dispose([x, y]);
  });

  type DwCase = [string, number[], number[], [number, number], 'same' | 'valid' | number, [number, number]];
  const dwCases: DwCase[] = [
    ['3×3/1 same', [2, 9, 7, 5], [3, 3, 5, 1], [1, 1], 'same', [1, 1]],
    ['3×3/2 same, odd size', [3, 11, 9, 6], [3, 3, 6, 1], [2, 2], 'same', [1, 1]],
    ['3×3/2 valid, multiplier 2', [2, 10, 11, 4], [3, 3, 4, 2], [2, 2], 'valid', [1, 1]],
    ['5×3/(3,1) same, multiplier 3', [2, 13, 8, 3], [5, 3, 3, 3], [3, 1], 'same', [1, 1]],
    ['2×2/3 explicit pad 1', [1, 10, 10, 7], [2, 2, 7, 1], [3, 3], 1, [1, 1]],
    ['7×7 valid over the whole map (GDConv)', [4, 7, 7, 16], [7, 7, 16, 1], [1, 1], 'valid', [1, 1]],
    ['MobileFaceNet size, threaded', [4, 28, 28, 32], [3, 3, 32, 1], [1, 1], 'same', [1, 1]],
    [
      '3×3/2 same, 37 channels: register blocks and a tail',
      [2, 9, 10, 37],
      [3, 3, 37, 1],
      [2, 2],
      'same',
      [1, 1],
    ],
    ['3×3/1 same, 1 channel', [3, 6, 5, 1], [3, 3, 1, 1], [1, 1], 'same', [1, 1]],
    ['3×3/1 same, 256 channels', [1, 5, 6, 256], [3, 3, 256, 1], [1, 1], 'same', [1, 1]],
    ['4×4/(2,3) explicit pad 2, 48 channels', [2, 9, 11, 48], [4, 4, 48, 1], [2, 3], 2, [1, 1]],
  ];

  it.each(dwCases)(
    'depthwise convolution and its gradients match tfjs: %s',
    (_, xs, fs, strides, pad, dil) => {
      const x = random(xs);
      const w = random(fs);
      const conv = (a: tf.Tensor, b: tf.Tensor) =>
        tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad, 'NHWC', dil);
      const outShape = tf.tidy(() => conv(x, w).shape);
      const dy = random(outShape);
      const grads = tf.grads(conv);
      const spies = (['depthwiseConv', 'depthwiseConvGradInput', 'depthwiseConvGradFilter'] as const).map(
        (k) => vi.spyOn(requireEngine(), k),
      );
      const { ref, got } = both(() => [conv(x, w), ...grads([x, w], dy)]);
      const calls = spies.map((spy) => spy.mock.calls.length);
      for (const spy of spies) spy.mockRestore();
      // The forward pass runs twice (once more inside tf.grads), each gradient once.
      expect(calls).toEqual([2, 1, 1]);
      // Sums of up to batch·outH·outW terms, accumulated in another order than tfjs.
      expectClose(ref, got, 1e-5);
      tf.dispose([x, w, dy, ...ref, ...got]);
    },
  );

  it('dilated depthwise convolution matches tfjs', () => {
    const x = random([2, 12, 11, 4]);
    const w = random([3, 3, 4, 2]);
    const { ref, got } = both(() =>
      tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', [2, 3]),
    );
    expectClose(ref, got, 1e-5);
    tf.dispose([x, w, ...ref, ...got]);
  });

  it('a LeNet++ training step gives the same losses with and without the native kernels', () => {
    const losses = (native: boolean): number[] => {
      if (native) registerNativeKernels(tf);
      else unregisterNativeKernels(tf);
      const model = lenetpp({ inputShape: [28, 28, 1], embeddingDim: 2, seed: 1, width: 0.25 });
      return trainingLosses(model, [4, 28, 28, 1], 2);
    };
    const ref = losses(false);
    const got = losses(true);
    expect(ref[2]).not.toBe(ref[0]);
    for (let s = 0; s < 3; s++)
      expect(Math.abs(got[s] - ref[s])).toBeLessThanOrEqual(1e-4 * Math.max(1, ref[s]));
  });
});
