/**
 * The native implicit-GEMM convolutions against TF.js's own cpu kernels, on random geometries (stride,
 * padding, dilation, batch, channel counts 1…256) at every dispatch level the CPU runs: forward (with
 * each fused epilogue), input gradient and filter gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import {
  type DispatchLevel,
  loadEngine,
  requireEngine,
  setDispatch,
  setThreads,
} from '../../src/engine/index.js';
import { dispatchLevels } from '../helpers/dispatch-levels.js';
import { both, expectClose, onCpuBackend, rng, tensorOf } from '../helpers/tf-kernels.js';

const engine = loadEngine();

/** A seeded integer in [lo, hi]. */
function intIn(draw: () => number, lo: number, hi: number): number {
  return lo + Math.floor(((draw() + 1) / 2) * (hi - lo + 1));
}

interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: [number, number];
  pad: 'same' | 'valid';
}

/** Random geometries whose TF.js reference stays fast (its filter gradient is a scalar loop). */
function randomCases(seed: number, count: number): Case[] {
  const draw = rng(seed);
  const channels = [1, 2, 3, 5, 8, 9, 16, 17, 24, 32, 33, 48, 64];
  const pick = () => channels[intIn(draw, 0, channels.length - 1)];
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const fh = intIn(draw, 1, 5);
    const fw = intIn(draw, 1, 5);
    const strides: [number, number] = [intIn(draw, 1, 3), intIn(draw, 1, 3)];
    const pad = draw() < 0 ? 'same' : 'valid';
    const h = intIn(draw, fh, 11);
    const w = intIn(draw, fw, 11);
    cases.push({ x: [intIn(draw, 1, 3), h, w, pick()], f: [fh, fw, 0, pick()], strides, pad });
    cases[i].f[2] = cases[i].x[3];
  }
  return cases;
}

/** Forward, input gradient and filter gradient of one case, with TF.js's kernels and with the native ones. */
function convAndGradients(
  c: Case,
  random: (shape: number[]) => tf.Tensor,
): { ref: tf.Tensor[]; got: tf.Tensor[] } {
  const xs = random(c.x) as tf.Tensor4D;
  const fs = random(c.f) as tf.Tensor4D;
  const probe = tf.tidy(() => random(tf.conv2d(xs, fs, c.strides, c.pad).shape));
  const result = both(() => {
    const y = tf.conv2d(xs, fs, c.strides, c.pad);
    const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), probe)),
    )([xs, fs]);
    return [y, dx, df];
  });
  tf.dispose([xs, fs, probe]);
  return result;
}

function describeCase(c: Case): string {
  return `x ${c.x.join('×')} f ${c.f.join('×')} s ${c.strides.join('×')} ${c.pad}`;
}

/** Forward and both gradients of every case equal TF.js's own to 1e-4; a failure names the level and case. */
function expectCasesMatch(level: DispatchLevel, cases: Case[], random: (shape: number[]) => tf.Tensor): void {
  for (const c of cases) {
    const { ref, got } = convAndGradients(c, random);
    try {
      expectClose(ref, got, 1e-4);
    } catch (error) {
      throw new Error(`${level}, ${describeCase(c)}: ${(error as Error).message}`);
    }
    tf.dispose([...ref, ...got]);
  }
}

describe.skipIf(!engine)('native convolutions', () => {
  onCpuBackend();
  const levels = dispatchLevels();
  const draw = rng(20261206);
  const random = (shape: number[]) => tensorOf(shape, draw);

  it.each(levels)('forward and both gradients match tfjs on random geometries (%s)', (level) => {
    setDispatch(level);
    expectCasesMatch(level, randomCases(level.length * 7919, 12), random);
  });

  it.each(levels)('wide channels (up to 256) and LeNet++-sized layers match tfjs (%s)', (level) => {
    setDispatch(level);
    const cases: Case[] = [
      { x: [1, 4, 5, 256], f: [3, 3, 256, 7], strides: [1, 1], pad: 'same' },
      { x: [1, 4, 4, 9], f: [3, 3, 9, 256], strides: [1, 1], pad: 'same' },
      { x: [2, 14, 14, 8], f: [5, 5, 8, 16], strides: [1, 1], pad: 'same' },
      { x: [3, 28, 28, 1], f: [5, 5, 1, 8], strides: [1, 1], pad: 'same' },
      // One vector more than a tile holds (AVX2: 25–32 channels, AVX-512: 65–80) goes as two blocks.
      { x: [2, 7, 7, 29], f: [5, 5, 29, 32], strides: [1, 1], pad: 'same' },
      { x: [1, 6, 5, 80], f: [3, 3, 80, 75], strides: [1, 1], pad: 'same' },
    ];
    expectCasesMatch(level, cases, random);
  });

  it.each(levels)('layers with vectors along output pixels match tfjs (%s)', (level) => {
    setDispatch(level);
    // Few output channels (or, for the input gradient, few input channels) and rows of 12–32 pixels take
    // the tiles whose vectors run along output rows: full and ragged rows, ragged channel tiles, a
    // vertical stride, 'valid' windows, and few-channel inputs for the filter gradient's own such tiles.
    const cases: Case[] = [
      { x: [2, 28, 28, 8], f: [5, 5, 8, 8], strides: [1, 1], pad: 'same' },
      { x: [2, 14, 14, 8], f: [5, 5, 8, 8], strides: [1, 1], pad: 'same' },
      { x: [1, 9, 30, 5], f: [3, 3, 5, 3], strides: [1, 1], pad: 'same' },
      { x: [2, 11, 16, 7], f: [3, 2, 7, 7], strides: [2, 1], pad: 'valid' },
      { x: [1, 7, 13, 6], f: [5, 4, 6, 1], strides: [1, 1], pad: 'same' },
      { x: [2, 12, 28, 1], f: [3, 3, 1, 16], strides: [1, 1], pad: 'same' },
      { x: [2, 10, 33, 3], f: [5, 5, 3, 13], strides: [1, 1], pad: 'same' },
      { x: [1, 8, 25, 2], f: [2, 4, 2, 9], strides: [3, 1], pad: 'valid' },
      { x: [2, 9, 14, 8], f: [5, 5, 8, 12], strides: [1, 1], pad: 'same' },
      { x: [2, 9, 16, 8], f: [5, 5, 8, 7], strides: [1, 1], pad: 'same' },
    ];
    expectCasesMatch(level, cases, random);
    const dilated = random([1, 9, 28, 4]) as tf.Tensor4D;
    const fs = random([3, 3, 4, 6]) as tf.Tensor4D;
    const { ref, got } = both(() => tf.conv2d(dilated, fs, 1, 'same', 'NHWC', [2, 3]));
    expectClose(ref, got, 1e-4);
  });

  it.each(levels)('filter gradients with vectors along window rows match tfjs (%s)', (level) => {
    setDispatch(level);
    // Few output channels and window rows of 48 floats: whole tiles of the row and of the channels, a
    // ragged channel tile, and a ragged row (5 × 9 = 45 floats).
    const cases: Case[] = [
      { x: [2, 9, 10, 16], f: [3, 3, 16, 16], strides: [1, 1], pad: 'same' },
      { x: [2, 8, 9, 16], f: [3, 3, 16, 11], strides: [1, 1], pad: 'same' },
      { x: [1, 9, 9, 9], f: [3, 5, 9, 8], strides: [1, 2], pad: 'same' },
      // Rows split into parts of fewer vectors than a tile (AVX2 / AVX-512 vectors): 32 floats (2 + 2 / 2),
      // 56 (3 + 3 + 1 / 2 + ragged 2), 80 (3 + 3 + 2 + 2 / 3 + 2) and 112 (… / 3 + 3 + 1), with whole and
      // ragged channel tiles.
      { x: [2, 8, 8, 8], f: [4, 4, 8, 8], strides: [1, 1], pad: 'same' },
      { x: [1, 9, 10, 8], f: [3, 7, 8, 13], strides: [1, 1], pad: 'same' },
      { x: [2, 9, 9, 16], f: [5, 5, 16, 16], strides: [1, 1], pad: 'same' },
      { x: [1, 8, 9, 16], f: [2, 7, 16, 10], strides: [1, 1], pad: 'valid' },
    ];
    expectCasesMatch(level, cases, random);
  });

  it.each(levels)('batches padded image by image inside the tasks match tfjs (%s)', (level) => {
    setDispatch(level);
    // From 8 images on, each task pads the images it then reads (groups of images for small ones) into
    // its thread's own room.
    const cases: Case[] = [
      { x: [9, 14, 14, 8], f: [5, 5, 8, 8], strides: [1, 1], pad: 'same' },
      { x: [10, 7, 7, 16], f: [3, 3, 16, 32], strides: [1, 1], pad: 'same' },
      { x: [8, 6, 12, 2], f: [3, 3, 2, 4], strides: [1, 1], pad: 'same' },
      { x: [11, 9, 8, 5], f: [3, 3, 5, 6], strides: [2, 2], pad: 'same' },
      // Little work per image: one task of several groups of images, each padded over the one before.
      { x: [16, 4, 16, 2], f: [3, 3, 2, 4], strides: [1, 1], pad: 'same' },
    ];
    expectCasesMatch(level, cases, random);
  });

  it.each(levels)('dilated forward convolutions match tfjs (%s)', (level) => {
    setDispatch(level);
    for (const [dilations, pad] of [
      [[2, 2], 'same'],
      [[2, 3], 'valid'],
      [[3, 1], 'same'],
    ] as const) {
      const xs = random([2, 12, 13, 5]) as tf.Tensor4D;
      const fs = random([3, 3, 5, 20]) as tf.Tensor4D;
      const { ref, got } = both(() => tf.conv2d(xs, fs, 1, pad, 'NHWC', [...dilations] as [number, number]));
      expectClose(ref, got, 1e-4);
    }
  });

  it.each(levels)(
    'the fused epilogue (bias, relu, relu6, prelu, leakyrelu, elu) matches tfjs (%s)',
    (level) => {
      setDispatch(level);
      // 19 output channels take vectors along the channels; 4 or 6 channels of 16-pixel rows along the
      // output pixels, with the bias added by the tiles.
      const shapes = [
        [19, 6],
        [6, 16],
        [4, 16],
      ];
      for (const activation of ['linear', 'relu', 'relu6', 'prelu', 'leakyrelu', 'elu'] as const) {
        for (const [channels, width] of shapes) {
          const xs = random([2, 7, width, 3]) as tf.Tensor4D;
          const fs = random([3, 3, 3, channels]) as tf.Tensor4D;
          const bias = random([channels]);
          const alpha = random([channels]);
          const { ref, got } = both(() =>
            tf.fused.conv2d({
              x: xs,
              filter: fs,
              strides: 1,
              pad: 'same',
              bias: tf.mul(bias, 4),
              activation,
              preluActivationWeights: activation === 'prelu' ? alpha : undefined,
              leakyreluAlpha: 0.3,
            }),
          );
          expectClose(ref, got, 1e-4);
        }
      }
    },
  );

  it('convolutions run natively, without a matrix product or a fallback', () => {
    const spy = vi.spyOn(requireEngine(), 'sgemm');
    const conv = vi.spyOn(requireEngine(), 'convForward');
    try {
      both(() =>
        tf.conv2d(random([2, 6, 6, 3]) as tf.Tensor4D, random([3, 3, 3, 4]) as tf.Tensor4D, 1, 'same'),
      );
      expect(conv).toHaveBeenCalledTimes(1);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
      conv.mockRestore();
    }
  });

  it('the input gradient of a few-channel input is the same image by image as for the whole batch', () => {
    // 3 input channels take the column path, whose buffer holds two of these images at a time: the batch
    // of five runs in three chunks, and each image's gradient must come out as when it is alone.
    const [n, h, w, ci, co] = [5, 170, 171, 3, 4];
    const g = [n, h, w, ci, h, w, co, 3, 3, 1, 1, 1, 1, 1, 1];
    const dy = new Float32Array(n * h * w * co).map(() => draw());
    const filter = new Float32Array(3 * 3 * ci * co).map(() => draw());
    const whole = new Float32Array(n * h * w * ci);
    requireEngine().convGradInput(dy, filter, whole, g);
    const image = h * w * ci;
    for (let b = 0; b < n; b++) {
      const alone = new Float32Array(image);
      const dyb = dy.subarray(b * h * w * co, (b + 1) * h * w * co);
      requireEngine().convGradInput(dyb, filter, alone, [1, ...g.slice(1)]);
      expect(whole.subarray(b * image, (b + 1) * image)).toEqual(alone);
    }
    expect(whole.some((v) => v !== 0)).toBe(true);
  });

  it.each([
    ['along window rows', 16, 14, 8, 16],
    ['along output pixels', 12, 28, 2, 8],
    ['of a small batch', 3, 14, 8, 16],
  ])('the filter gradient %s is the same to the bit whatever the number of threads', (_, n, size, ci, co) => {
    const x = new Float32Array(n * size * size * ci).map(() => draw());
    const dy = new Float32Array(n * size * size * co).map(() => draw());
    const g = [n, size, size, ci, size, size, co, 5, 5, 1, 1, 1, 1, 2, 2];
    const run = (threads: number) => {
      setThreads(threads);
      const dw = new Float32Array(5 * 5 * ci * co);
      requireEngine().convGradFilter(x, dy, dw, g);
      return dw;
    };
    try {
      const one = run(1);
      const three = run(3);
      expect(Buffer.from(three.buffer).equals(Buffer.from(one.buffer))).toBe(true);
      expect(one.some((v) => v !== 0)).toBe(true);
    } finally {
      setThreads(0);
    }
  });

  it('refuses geometries and buffers that do not fit', () => {
    const e = requireEngine();
    const g = [1, 4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1];
    const x = new Float32Array(32);
    const w = new Float32Array(54);
    expect(() => e.convForward(x, w, new Float32Array(47), g, null, 0, null, 0)).toThrow(/too short/);
    expect(() => e.convForward(x, w, new Float32Array(48), g.slice(0, 14), null, 0, null, 0)).toThrow(
      /15 integers/,
    );
    expect(() => e.convForward(x, w, new Float32Array(48), g, null, 2, null, 0)).toThrow(/alpha is required/);
    expect(() => e.convForward(x, w, new Float32Array(48), g, new Float32Array(2), 0, null, 0)).toThrow(
      /1 or outC/,
    );
    expect(() => e.convGradFilter(x, new Float32Array(48), new Float32Array(53), g)).toThrow(/too short/);
    expect(() => e.convGradInput(new Float32Array(48), w, x, [...g.slice(0, 9), 0, ...g.slice(10)])).toThrow(
      /positive/,
    );
  });
});
