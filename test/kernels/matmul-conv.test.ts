import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { loadEngine, requireEngine } from '../../src/engine/index.js';
import {
  NATIVE_KERNEL_NAMES,
  nativeKernelActive,
  registerNativeKernels,
  unregisterNativeKernels,
} from '../../src/kernels/index.js';
import { both, expectClose as expectCloseIn, onCpuBackend, rng, tensorOf } from '../helpers/tf-kernels.js';

const engine = loadEngine();
const required = process.env.FACEVERLOSS_REQUIRE_NATIVE === '1';

const next = rng(20261128);

/** Same shapes, and max |got − ref| ≤ 1e-4 · max(1, max |ref|) with every value finite. */
function expectClose(ref: tf.Tensor[], got: tf.Tensor[]): void {
  expectCloseIn(ref, got, 1e-4);
}

function random(shape: number[]): tf.Tensor {
  return tensorOf(shape, next);
}

it('the native engine is loaded whenever FACEVERLOSS_REQUIRE_NATIVE=1', () => {
  if (required) expect(engine).not.toBeNull();
  else expect(required).toBe(false);
});

describe.skipIf(!engine)('native TF.js cpu kernels', () => {
  onCpuBackend();

  it('registers idempotently and restores the original kernels', () => {
    unregisterNativeKernels(tf);
    const originals = NATIVE_KERNEL_NAMES.map((n) => tf.getKernel(n, 'cpu')?.kernelFunc);
    expect(originals.every((f) => typeof f === 'function')).toBe(true);
    expect(registerNativeKernels(tf)).toBe(true);
    const first = NATIVE_KERNEL_NAMES.map((n) => tf.getKernel(n, 'cpu')?.kernelFunc);
    expect(registerNativeKernels(tf)).toBe(true);
    const second = NATIVE_KERNEL_NAMES.map((n) => tf.getKernel(n, 'cpu')?.kernelFunc);
    expect(second).toEqual(first);
    for (let i = 0; i < originals.length; i++) expect(first[i]).not.toBe(originals[i]);
    expect(NATIVE_KERNEL_NAMES.every((n) => nativeKernelActive(tf, n))).toBe(true);
    unregisterNativeKernels(tf);
    unregisterNativeKernels(tf);
    const restored = NATIVE_KERNEL_NAMES.map((n) => tf.getKernel(n, 'cpu')?.kernelFunc);
    expect(restored).toEqual(originals);
    expect(NATIVE_KERNEL_NAMES.some((n) => nativeKernelActive(tf, n))).toBe(false);
  });

  it('runs float32 matrix products through the native sgemm', () => {
    registerNativeKernels(tf);
    const spy = vi.spyOn(requireEngine(), 'sgemm');
    try {
      tf.tidy(() => tf.matMul(random([5, 7]), random([7, 3])).dataSync());
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  const matCases: [string, number[], number[], boolean, boolean][] = [
    ['1×1·1×1', [1, 1], [1, 1], false, false],
    ['NN odd', [7, 13], [13, 5], false, false],
    ['NT', [33, 65], [17, 65], false, true],
    ['TN', [65, 33], [65, 17], true, false],
    ['TT', [19, 9], [11, 19], true, true],
    ['batch · shared right', [3, 6, 10], [10, 4], false, false],
    ['batch · shared right, transA', [3, 10, 6], [10, 4], true, false],
    ['shared left · batch', [6, 10], [4, 10, 5], false, false],
    ['broadcast batch 2×1 · 1×3', [2, 1, 5, 8], [1, 3, 7, 8], false, true],
    ['equal batches', [4, 9, 2], [4, 2, 9], false, false],
  ];

  it.each(matCases)('BatchMatMul matches tfjs: %s', (_, aShape, bShape, ta, tb) => {
    const a = random(aShape);
    const b = random(bShape);
    // TF.js's cpu kernel indexes batches modulo their count, which is not numpy broadcasting for mixed
    // shapes like 2×1 against 1×3; the reference therefore gets explicitly broadcast operands.
    const outBatch = tf.backend_util.assertAndGetBroadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
    const full = (t: tf.Tensor, shape: number[]) =>
      outBatch.length === 0 ? t : tf.broadcastTo(t, [...outBatch, ...shape.slice(-2)]);
    unregisterNativeKernels(tf);
    const ref = tf.matMul(full(a, aShape), full(b, bShape), ta, tb);
    registerNativeKernels(tf);
    const got = tf.matMul(a, b, ta, tb);
    expectClose([ref], [got]);
    tf.dispose([a, b, ref, got]);
  });

  const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;

  it.each(activations)('_FusedMatMul with bias and %s matches tfjs', (activation) => {
    const a = random([2, 11, 6]);
    const b = random([9, 6]);
    const bias = random([9]);
    const alpha = random([9]);
    const { ref, got } = both(() =>
      tf.fused.matMul({
        a: a as tf.Tensor3D,
        b: b as tf.Tensor2D,
        transposeB: true,
        bias: tf.mul(bias, 4),
        activation,
        preluActivationWeights: activation === 'prelu' ? alpha : undefined,
        leakyreluAlpha: 0.3,
      }),
    );
    expectClose(ref, got);
  });

  it('_FusedMatMul with scalar bias, transposeA, and with a full-matrix bias (fallback) matches tfjs', () => {
    const a = random([13, 7]);
    const b = random([13, 5]);
    const scalarBias = tf.scalar(0.75);
    const fullBias = random([7, 5]);
    const scalarCase = both(() =>
      tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeA: true, bias: scalarBias }),
    );
    expectClose(scalarCase.ref, scalarCase.got);
    const fullCase = both(() =>
      tf.fused.matMul({
        a: a as tf.Tensor2D,
        b: b as tf.Tensor2D,
        transposeA: true,
        bias: fullBias,
        activation: 'relu',
      }),
    );
    expectClose(fullCase.ref, fullCase.got);
  });

  it('int32 matrix products go to the original kernel and stay exact', () => {
    registerNativeKernels(tf);
    const got = tf.matMul(
      tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'),
      tf.tensor2d([7, 8, 9, 10, 11, 12], [3, 2], 'int32'),
    );
    expect(got.dtype).toBe('int32');
    // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12], by hand.
    expect(Array.from(got.dataSync())).toEqual([58, 64, 139, 154]);
  });

  type ConvCase = {
    name: string;
    x: [number, number, number, number];
    f: [number, number, number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
    dilations?: number | [number, number];
  };
  const convCases: ConvCase[] = [
    { name: '3×3 same', x: [2, 9, 11, 3], f: [3, 3, 3, 5], strides: 1, pad: 'same' },
    { name: '3×3 valid stride 2', x: [2, 9, 11, 3], f: [3, 3, 3, 4], strides: 2, pad: 'valid' },
    { name: '5×5 valid (LeNet)', x: [3, 14, 14, 6], f: [5, 5, 6, 16], strides: 1, pad: 'valid' },
    {
      name: 'stride 2×3 same, even filter',
      x: [1, 10, 13, 2],
      f: [4, 2, 2, 3],
      strides: [2, 3],
      pad: 'same',
    },
    {
      name: 'explicit padding',
      x: [2, 7, 8, 3],
      f: [3, 2, 3, 2],
      strides: [1, 2],
      pad: [
        [0, 0],
        [1, 2],
        [2, 1],
        [0, 0],
      ],
    },
    { name: '3×3 same, 33 channels', x: [1, 5, 6, 33], f: [3, 3, 33, 4], strides: 1, pad: 'same' },
    { name: '1×1 pointwise', x: [2, 5, 6, 7], f: [1, 1, 7, 4], strides: 1, pad: 'valid' },
    { name: '1×1 stride 2', x: [2, 5, 6, 7], f: [1, 1, 7, 4], strides: 2, pad: 'same' },
  ];

  it.each(convCases)('Conv2D and its gradients match tfjs: $name', ({ x, f, strides, pad }) => {
    const xs = random(x) as tf.Tensor4D;
    const fs = random(f) as tf.Tensor4D;
    const probe = tf.tidy(() => random(tf.conv2d(xs, fs, strides, pad).shape));
    // Forward, input gradient (Conv2DBackpropInput) and filter gradient (Conv2DBackpropFilter).
    const { ref, got } = both(() => {
      const y = tf.conv2d(xs, fs, strides, pad);
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), probe)),
      )([xs, fs]);
      return [y, dx, df];
    });
    expectClose(ref, got);
  });

  it.each([
    { name: 'dilation 2 same', dilations: 2, pad: 'same' as const },
    { name: 'dilation 2×3 valid', dilations: [2, 3] as [number, number], pad: 'valid' as const },
  ])('dilated Conv2D matches tfjs: $name', ({ dilations, pad }) => {
    const xs = random([2, 12, 13, 3]) as tf.Tensor4D;
    const fs = random([3, 3, 3, 4]) as tf.Tensor4D;
    const { ref, got } = both(() => tf.conv2d(xs, fs, 1, pad, 'NHWC', dilations));
    expectClose(ref, got);
  });

  it.each(activations)('FusedConv2D with per-channel bias and %s matches tfjs', (activation) => {
    const xs = random([2, 9, 8, 3]) as tf.Tensor4D;
    const fs = random([3, 2, 3, 5]) as tf.Tensor4D;
    const bias = random([5]);
    const alpha = random([5]);
    const { ref, got } = both(() =>
      tf.fused.conv2d({
        x: xs,
        filter: fs,
        strides: [2, 1],
        pad: 'same',
        bias: tf.mul(bias, 3),
        activation,
        preluActivationWeights: activation === 'prelu' ? alpha : undefined,
        leakyreluAlpha: 0.15,
      }),
    );
    expectClose(ref, got);
  });

  it('FusedConv2D gradients and a full-shape bias (fallback) match tfjs', () => {
    const xs = random([2, 6, 7, 3]) as tf.Tensor4D;
    const fs = random([3, 3, 3, 4]) as tf.Tensor4D;
    const bias = random([4]);
    const fullBias = random([2, 6, 7, 4]);
    const probe = random([2, 6, 7, 4]);
    const { ref, got } = both(() => {
      const fallbackCase = tf.fused.conv2d({ x: xs, filter: fs, strides: 1, pad: 'same', bias: fullBias });
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.fused.conv2d({
              x: a as tf.Tensor4D,
              filter: b as tf.Tensor4D,
              strides: 1,
              pad: 'same',
              bias: c,
              activation: 'relu',
            }),
            probe,
          ),
        ),
      )([xs, fs, bias]);
      return [fallbackCase, ...g];
    });
    expectClose(ref, got);
  });

  it('a tf.layers conv + dense model fits to the same weights with native kernels', async () => {
    const xs = random([6, 10, 10, 2]);
    const ys = random([6, 3]);
    const build = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [10, 10, 2], filters: 4, kernelSize: 3, activation: 'relu' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, activation: 'tanh' }),
        ],
      });
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
      return model;
    };
    const initial = build()
      .getWeights()
      .map((w) => w.clone());
    const train = async () => {
      const model = build();
      model.setWeights(initial);
      await model.fit(xs, ys, { epochs: 2, batchSize: 3, shuffle: false, verbose: 0 });
      return model.getWeights().map((w) => w.clone());
    };
    unregisterNativeKernels(tf);
    const ref = await train();
    registerNativeKernels(tf);
    const spy = vi.spyOn(requireEngine(), 'sgemm');
    try {
      const got = await train();
      // Forward (fused conv, fused dense) and backward products all ran natively.
      expect(spy.mock.calls.length).toBeGreaterThanOrEqual(4);
      expectClose(ref, got);
    } finally {
      spy.mockRestore();
    }
  });

  it('NCHW convolutions go to the original kernel', () => {
    const xs = random([2, 3, 7, 8]) as tf.Tensor4D;
    const fs = random([3, 3, 3, 4]) as tf.Tensor4D;
    const { ref, got } = both(() => tf.conv2d(xs, fs, 1, 'same', 'NCHW'));
    expect(got[0].shape).toEqual([2, 4, 7, 8]);
    expectClose(ref, got);
  });

  it('a small dense + conv model trains to the same weights with native kernels', () => {
    // Two SGD steps of conv → flatten → dense from identical initial weights, with and without.
    const xs = random([4, 8, 8, 2]) as tf.Tensor4D;
    const target = random([4, 3]);
    const f0 = random([3, 3, 2, 4]);
    const w0 = random([6 * 6 * 4, 3]);
    const train = () => {
      const f = tf.variable(f0.clone());
      const w = tf.variable(w0.clone());
      const opt = tf.train.sgd(0.05);
      for (let s = 0; s < 2; s++) {
        opt.minimize(() => {
          const h = tf.relu(tf.conv2d(xs, f as tf.Tensor4D, 1, 'valid'));
          const y = tf.matMul(tf.reshape(h, [4, 6 * 6 * 4]), w);
          return tf.mean(tf.square(tf.sub(y, target))) as tf.Scalar;
        });
      }
      const out = [f.clone(), w.clone()];
      tf.dispose([f, w]);
      opt.dispose();
      return out;
    };
    const { ref, got } = both(train);
    expectClose(ref, got);
  });
});
