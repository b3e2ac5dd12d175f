import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { loadEngine, requireEngine, setThreads } from '../../src/engine/index.js';
import { unregisterElementwiseKernels } from '../../src/kernels/elementwise.js';
import {
  NATIVE_KERNEL_NAMES,
  nativeKernelActive,
  registerNativeKernels,
  unregisterNativeKernels,
} from '../../src/kernels/index.js';
import { lenetpp, mobilefacenet } from '../../src/train/index.js';
import {
  both,
  expectClose as expectCloseIn,
  onCpuBackend,
  rng,
  tensorOf,
  trainingLosses,
} from '../helpers/tf-kernels.js';

const engine = loadEngine();

const next = rng(20261128);

/** Uniform values in [-1, 1) (never exactly 0, so divisions stay finite unless a test wants otherwise). */
function random(shape: number[]): tf.Tensor {
  return tensorOf(shape, () => next() || 0.5);
}

/** Same shapes and dtypes, and max |got − ref| ≤ tol · max(1, max |ref|) with every value finite. */
function expectClose(ref: tf.Tensor[], got: tf.Tensor[], tol: number): void {
  expectCloseIn(ref, got, tol, { dtypes: true });
}

/** Same shapes, dtypes and values, bit for bit (NaN matching NaN). */
function expectSame(ref: tf.Tensor[], got: tf.Tensor[]): void {
  expect(got.length).toBe(ref.length);
  for (let t = 0; t < ref.length; t++) {
    expect(got[t].shape).toEqual(ref[t].shape);
    expect(got[t].dtype).toBe(ref[t].dtype);
    expect(Array.from(got[t].dataSync())).toEqual(Array.from(ref[t].dataSync()));
  }
}

const BINARY: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ['add', tf.add],
  ['sub', tf.sub],
  ['mul', tf.mul],
  ['div', tf.div],
  ['squaredDifference', tf.squaredDifference],
];

const KERNELS = [
  'Add',
  'Sub',
  'Multiply',
  'RealDiv',
  'SquaredDifference',
  'Square',
  'FusedBatchNorm',
  'Sum',
  'Mean',
  'Tile',
] as const;

describe.skipIf(!engine)('native element-wise and reduction kernels', () => {
  onCpuBackend();

  it('registers with the other native kernels and restores the originals', () => {
    unregisterNativeKernels(tf);
    const originals = KERNELS.map((n) => tf.getKernel(n, 'cpu')?.kernelFunc);
    expect(originals.every((f) => typeof f === 'function')).toBe(true);
    expect(registerNativeKernels(tf)).toBe(true);
    expect(registerNativeKernels(tf)).toBe(true);
    for (const n of KERNELS) expect(NATIVE_KERNEL_NAMES).toContain(n);
    expect(KERNELS.every((n) => nativeKernelActive(tf, n))).toBe(true);
    for (const [i, n] of KERNELS.entries()) expect(tf.getKernel(n, 'cpu')?.kernelFunc).not.toBe(originals[i]);
    unregisterNativeKernels(tf);
    unregisterNativeKernels(tf);
    expect(KERNELS.map((n) => tf.getKernel(n, 'cpu')?.kernelFunc)).toEqual(originals);
    expect(KERNELS.some((n) => nativeKernelActive(tf, n))).toBe(false);
  });

  const shapes: [string, number[], number[]][] = [
    ['same shape', [3, 5, 7], [3, 5, 7]],
    ['row [C] on the right', [2, 4, 4, 6], [6]],
    ['row [C] on the left', [6], [2, 4, 4, 6]],
    ['row [1,1,1,C] on the right', [2, 3, 3, 6], [1, 1, 1, 6]],
    ['row [1,1,C] on the left, higher rank output', [1, 1, 5], [3, 2, 4, 5]],
    ['scalar on the right', [4, 5], []],
    ['scalar on the left', [], [4, 5]],
    ['size-1 tensor on the left', [1, 1], [3, 7]],
    ['both scalars', [], []],
    ['odd sizes', [7, 13], [13]],
    ['large same shape, threaded', [8, 28, 28, 16], [8, 28, 28, 16]],
    ['large row, threaded', [8, 28, 28, 16], [16]],
    ['large scalar, threaded', [], [8, 28, 28, 16]],
  ];
  const binaryCases = BINARY.flatMap(([name, f]) =>
    shapes.map(([s, a, b]) => [`${name}, ${s}`, f, a, b] as const),
  );

  it.each(binaryCases)('%s matches tfjs bit for bit', (_, f, aShape, bShape) => {
    const a = random(aShape);
    const b = random(bShape);
    const spy = vi.spyOn(requireEngine(), 'binaryOp');
    const { ref, got } = both(() => f(a, b));
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    expectSame(ref, got);
    tf.dispose([a, b, ...ref, ...got]);
  });

  it.each(BINARY)('%s propagates NaN and infinities as tfjs does', (_, f) => {
    const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, 1, -2.5, 3e38];
    const n = special.length;
    const av: number[] = [];
    const bv: number[] = [];
    for (const x of special) {
      for (const y of special) {
        av.push(x);
        bv.push(y);
      }
    }
    const a = tf.tensor(av, [n, n]);
    const b = tf.tensor(bv, [n, n]);
    const row = tf.tensor(special, [n]);
    const scalar = tf.scalar(Number.NaN);
    const { ref, got } = both(() => [f(a, b), f(a, row), f(row, a), f(a, scalar), f(scalar, b)]);
    expect(Array.from(ref[0].dataSync()).some(Number.isNaN)).toBe(true);
    expectSame(ref, got);
    tf.dispose([a, b, row, scalar, ...ref, ...got]);
  });

  it('a broadcast within each slice of the leading axis runs natively, slice by slice, bit for bit', () => {
    // [N, 1, 1, C] into [N, H, W, C] is what the gradient of a global average pooling multiplies.
    const pairs: [number[], number[]][] = [
      [
        [6, 1, 1, 5],
        [6, 3, 4, 5],
      ],
      [
        [4, 1],
        [4, 5],
      ],
      [
        [3, 1, 5],
        [1, 2, 5],
      ],
    ];
    for (const [as, bs] of pairs) {
      for (const [, f] of BINARY) {
        const a = random(as);
        const b = random(bs);
        const spy = vi.spyOn(requireEngine(), 'binaryOp');
        const { ref, got } = both(() => [f(a, b), f(b, a)]);
        expect(spy).toHaveBeenCalledTimes(2 * Math.max(as[0], bs[0]));
        spy.mockRestore();
        expectSame(ref, got);
        tf.dispose([a, b, ...ref, ...got]);
      }
    }
  });

  it('a broadcast along another axis goes to the original kernel', () => {
    const a = random([2, 3, 1]);
    const b = random([2, 3, 4]);
    const c = random([1, 3, 1]);
    const spy = vi.spyOn(requireEngine(), 'binaryOp');
    const { ref, got } = both(() => [tf.mul(a, b), tf.add(b, a), tf.sub(c, b), tf.div(b, c)]);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    expectSame(ref, got);
    tf.dispose([a, b, c, ...ref, ...got]);
  });

  it('int32 operands go to the original kernels', () => {
    const a = tf.tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    const b = tf.tensor([7, -1, 2], [3], 'int32');
    const binarySpy = vi.spyOn(requireEngine(), 'binaryOp');
    const reduceSpy = vi.spyOn(requireEngine(), 'reduceSum');
    const { ref, got } = both(() => [tf.add(a, b), tf.mul(a, b), tf.sub(b, a), tf.sum(a, 0), tf.mean(a, 1)]);
    expect(binarySpy).not.toHaveBeenCalled();
    expect(reduceSpy).not.toHaveBeenCalled();
    binarySpy.mockRestore();
    reduceSpy.mockRestore();
    expectSame(ref, got);
    expect(got.slice(0, 4).every((t) => t.dtype === 'int32')).toBe(true);
    tf.dispose([a, b, ...ref, ...got]);
  });

  const reductions: [string, number[], number | number[] | undefined, boolean][] = [
    ['leading [0,1,2] of NHWC', [4, 5, 6, 7], [0, 1, 2], false],
    ['leading [0,1,2] of NHWC, keepDims', [4, 5, 6, 7], [0, 1, 2], true],
    ['leading axes given out of order', [3, 4, 5], [1, 0], false],
    ['innermost axis -1', [6, 9, 11], -1, false],
    ['innermost axis -1, keepDims', [6, 9, 11], -1, true],
    ['trailing block [2,3]', [3, 4, 5, 6], [2, 3], true],
    ['middle block [1,2] (global pooling)', [4, 7, 7, 10], [1, 2], false],
    ['middle block [1,2], keepDims', [4, 7, 7, 10], [1, 2], true],
    ['all axes (undefined)', [5, 3, 7], undefined, false],
    ['all axes, keepDims', [5, 3, 7], undefined, true],
    ['axis 0 of rank 1', [37], 0, false],
    ['large leading, threaded (bias gradient)', [64, 24, 24, 8], [0, 1, 2], false],
    ['large trailing, threaded', [3, 70001], 1, false],
    ['large all axes, threaded', [8, 28, 28, 16], undefined, true],
    // Fewer than 64 columns are summed in spans of whole rows: column counts that do and do not divide 64,
    // row counts that leave a partial span, one chunk and many.
    ['3 columns, partial span', [7, 9, 3], [0, 1], false],
    ['37 columns, threaded', [40, 31, 37], [0, 1], false],
    ['63 columns', [13, 11, 63], [0, 1], true],
    ['2 columns of each of 5 rows of blocks', [5, 333, 2], 1, false],
  ];
  const reduceCases = reductions.flatMap(([s, shape, axis, keep]) => [
    [`Sum, ${s}`, 'sum', shape, axis, keep] as const,
    [`Mean, ${s}`, 'mean', shape, axis, keep] as const,
  ]);

  it.each(reduceCases)('%s matches tfjs', (_, op, shape, axis, keepDims) => {
    const x = random(shape);
    const spy = vi.spyOn(requireEngine(), 'reduceSum');
    const { ref, got } = both(() => (op === 'sum' ? tf.sum(x, axis, keepDims) : tf.mean(x, axis, keepDims)));
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    // Both accumulate in double; the orders differ, and tfjs's mean divides every element first.
    expectClose(ref, got, 1e-6);
    tf.dispose([x, ...ref, ...got]);
  });

  it('sums do not depend on the number of threads', () => {
    const x = random([16, 24, 24, 8]);
    expect(registerNativeKernels(tf)).toBe(true);
    const run = (threads: number) => {
      setThreads(threads);
      return [tf.sum(x, [0, 1, 2]), tf.mean(x, [1, 2]), tf.sum(x), tf.mean(x, -1)];
    };
    try {
      const one = run(1);
      const three = run(3);
      expectSame(one, three);
      tf.dispose([...one, ...three]);
    } finally {
      setThreads(0);
    }
    tf.dispose(x);
  });

  it('reductions propagate NaN and infinities', () => {
    const v = new Float32Array(4 * 3 * 5).map(() => next());
    v[7] = Number.NaN;
    v[20] = Number.POSITIVE_INFINITY;
    v[23] = Number.POSITIVE_INFINITY;
    v[38] = Number.NEGATIVE_INFINITY;
    v[53] = Number.POSITIVE_INFINITY;
    const x = tf.tensor(v, [4, 3, 5]);
    const { ref, got } = both(() => [tf.sum(x, [0, 1]), tf.mean(x, 2), tf.sum(x, [1, 2], true), tf.mean(x)]);
    const flags = ref.flatMap((t) => Array.from(t.dataSync()).map((y) => (Number.isNaN(y) ? 'nan' : y)));
    expect(flags).toContain('nan');
    expect(flags).toContain(Number.POSITIVE_INFINITY);
    for (let t = 0; t < ref.length; t++) {
      const r = ref[t].dataSync();
      const g = got[t].dataSync();
      expect(got[t].shape).toEqual(ref[t].shape);
      for (let i = 0; i < r.length; i++) {
        if (Number.isFinite(r[i]))
          expect(Math.abs(g[i] - r[i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(r[i])));
        else expect(g[i]).toBe(r[i]);
      }
    }
    tf.dispose([x, ...ref, ...got]);
  });

  it('reductions over scattered axes, no axes or a scalar go to the original kernels', () => {
    const x = random([3, 4, 5, 6]);
    const spy = vi.spyOn(requireEngine(), 'reduceSum');
    const scalar = tf.scalar(2.5);
    const { ref, got } = both(() => [
      tf.sum(x, [0, 2]),
      tf.mean(x, [1, 3], true),
      tf.sum(x, []),
      tf.sum(scalar),
      tf.mean(scalar),
    ]);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    expectSame(ref, got);
    tf.dispose([x, scalar, ...ref, ...got]);
  });

  it.each([
    ['odd size', [7, 13]],
    ['large, threaded', [8, 28, 28, 16]],
    ['a scalar', []],
  ])('Square matches tfjs bit for bit: %s', (_, shape) => {
    const x = random(shape as number[]);
    const spy = vi.spyOn(requireEngine(), 'binaryOp');
    const { ref, got } = both(() => tf.square(x));
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    expectSame(ref, got);
    tf.dispose([x, ...ref, ...got]);
  });

  it('Square propagates NaN and infinities and leaves int32 to the original kernel', () => {
    const x = tf.tensor([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 3e38, -2]);
    const i = tf.tensor([3, -4], [2], 'int32');
    const { ref, got } = both(() => [tf.square(x), tf.square(i)]);
    expectSame(ref, got);
    expect(got[1].dtype).toBe('int32');
    tf.dispose([x, i, ...ref, ...got]);
  });

  const norms: [string, number[], number[] | null, number[] | null, number[] | null, number[] | null][] = [
    ['per channel, all parameters', [4, 5, 5, 6], [6], [6], [6], [6]],
    ['no scale or offset', [3, 7, 6], [6], [6], null, null],
    ['scalar statistics, per-channel scale', [2, 3, 3, 5], [1], [1], [5], [1]],
    ['large, threaded', [8, 28, 28, 16], [16], [16], [16], [16]],
  ];

  it.each(norms)('FusedBatchNorm matches tfjs bit for bit: %s', (_, shape, m, v, s, o) => {
    const x = random(shape);
    const mean = random(m!);
    const variance = tf.abs(random(v!));
    const scale = s ? random(s) : undefined;
    const offset = o ? random(o) : undefined;
    const spy = vi.spyOn(requireEngine(), 'batchNorm');
    const { ref, got } = both(() => tf.batchNorm(x, mean, variance, offset, scale, 1e-3));
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    expectSame(ref, got);
    tf.dispose([x, mean, variance, ...(scale ? [scale] : []), ...(offset ? [offset] : []), ...ref, ...got]);
  });

  it('FusedBatchNorm with statistics along another axis goes to the original kernel', () => {
    const x = random([2, 3, 4]);
    const mean = random([3, 1]);
    const variance = tf.abs(random([3, 1]));
    const spy = vi.spyOn(requireEngine(), 'batchNorm');
    const { ref, got } = both(() => tf.batchNorm(x, mean, variance, undefined, undefined, 1e-3));
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    expectSame(ref, got);
    tf.dispose([x, mean, variance, ...ref, ...got]);
  });

  const tiles: [string, number[], number[]][] = [
    ['a row over NHW (batch-norm gradient)', [1, 1, 1, 6], [3, 5, 4, 1]],
    ['a row, odd count', [1, 7], [13, 1]],
    ['a block repeated', [1, 3, 2], [5, 1, 1]],
    ['nothing repeated', [2, 3], [1, 1]],
    ['repeats inside the block (general)', [2, 3], [2, 2]],
    ['repeats along the last axis (general)', [1, 3], [4, 2]],
    ['large row, many doublings', [1, 1, 1, 16], [8, 28, 28, 1]],
  ];

  it.each(tiles)('Tile matches tfjs: %s', (_, shape, reps) => {
    const x = random(shape);
    const { ref, got } = both(() => tf.tile(x, reps));
    expectSame(ref, got);
    tf.dispose([x, ...ref, ...got]);
  });

  it('int32 Tile goes to the original kernel', () => {
    const x = tf.tensor([1, 2, 3], [1, 3], 'int32');
    const { ref, got } = both(() => tf.tile(x, [4, 1]));
    expectSame(ref, got);
    expect(got[0].dtype).toBe('int32');
    tf.dispose([x, ...ref, ...got]);
  });

  /**
   * Losses of three SGD-with-momentum steps of `build` on fixed random data, with TF.js's own kernels
   * (`plain`), with the native kernels but TF.js's element-wise ones (`no-elementwise`), or with all
   * native kernels (`native`).
   */
  function losses(
    mode: 'plain' | 'no-elementwise' | 'native',
    build: () => tf.LayersModel,
    input: number[],
    dim: number,
  ): number[] {
    unregisterNativeKernels(tf);
    if (mode !== 'plain') registerNativeKernels(tf);
    if (mode === 'no-elementwise') unregisterElementwiseKernels(tf);
    const model = build();
    return trainingLosses(model, input, dim);
  }

  function expectLossesClose(ref: number[], got: number[], tol: number): void {
    expect(ref[2]).not.toBe(ref[0]);
    for (let s = 0; s < 3; s++) {
      expect(Number.isFinite(got[s])).toBe(true);
      expect(Math.abs(got[s] - ref[s])).toBeLessThanOrEqual(tol * Math.max(1, ref[s]));
    }
  }

  /** Losses with all native kernels, checking that the element-wise ones ran. */
  function nativeLosses(build: () => tf.LayersModel, input: number[], dim: number): number[] {
    const binarySpy = vi.spyOn(requireEngine(), 'binaryOp');
    const reduceSpy = vi.spyOn(requireEngine(), 'reduceSum');
    const got = losses('native', build, input, dim);
    expect(binarySpy).toHaveBeenCalled();
    expect(reduceSpy).toHaveBeenCalled();
    binarySpy.mockRestore();
    reduceSpy.mockRestore();
    return got;
  }

  it('a LeNet++ training run gives the same losses with and without the native kernels', () => {
    const build = () => lenetpp({ inputShape: [28, 28, 1], embeddingDim: 2, seed: 1, width: 0.25 });
    const got = nativeLosses(build, [4, 28, 28, 1], 2);
    expectLossesClose(losses('no-elementwise', build, [4, 28, 28, 1], 2), got, 1e-5);
    expectLossesClose(losses('plain', build, [4, 28, 28, 1], 2), got, 1e-4);
  });

  it('a MobileFaceNet training run gives the same losses with and without the element-wise kernels', () => {
    // Batch normalisation over 4 values at the 1×1 end of a 16×16 input amplifies rounding: the
    // convolution and batch-normalisation kernels alone move the third loss by about 1e-3 relative, so
    // the element-wise kernels are compared with the other native kernels in place, and with plain
    // TF.js loosely.
    const build = () => mobilefacenet({ inputShape: [16, 16, 3], embeddingDim: 16, seed: 1, width: 0.25 });
    const got = nativeLosses(build, [4, 16, 16, 3], 16);
    expectLossesClose(losses('no-elementwise', build, [4, 16, 16, 3], 16), got, 1e-5);
    expectLossesClose(losses('plain', build, [4, 16, 16, 3], 16), got, 3e-3);
  });
});
