/**
 * The wasm backend, lightly: it initialises in Node from the installed package files, and the TF.js
 * head path on it matches the fp64 oracle as on cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHead } from '../../src/heads/registry.js';
import { useBestBackend, wasmDistPath } from '../../src/node/backend.js';
import { createRng } from '../../src/rng.js';
import { TFJS_TOLERANCE, tfjsImplementation } from '../../src/tf/implementation.js';

let chosen: Awaited<ReturnType<typeof useBestBackend>>;

beforeAll(async () => {
  chosen = await useBestBackend();
});

describe('backend selection', () => {
  it('reports the backend it activated', () => {
    expect(['cpu', 'wasm']).toContain(chosen.backend);
    expect(tf.getBackend()).toBe(chosen.backend);
    expect(chosen.detail.length).toBeGreaterThan(0);
    // The package ships its wasm files, so without native kernels wasm is chosen.
    expect(wasmDistPath()).toMatch(/tfjs-backend-wasm/);
    if (!chosen.native) expect(chosen.backend).toBe('wasm');
  });

  it('trains convolutions and embeddings on wasm (borrowed kernels match the cpu backend)', async () => {
    const grads = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(
          Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)),
          [2, 5, 5, 3],
        );
        const f = tf.tensor4d(
          Array.from({ length: 27 * 4 }, (_, i) => Math.cos(i)),
          [3, 3, 3, 4],
        );
        const df = tf.tensor4d(
          Array.from({ length: 27 * 2 }, (_, i) => Math.cos(2 * i)),
          [3, 3, 3, 2],
        );
        const emb = tf.tensor2d(
          Array.from({ length: 15 }, (_, i) => i / 7),
          [5, 3],
        );
        const idx = tf.tensor1d([0, 2, 2, 4], 'int32');
        const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, e: tf.Tensor) =>
          tf.addN([
            tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))),
            tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, c as tf.Tensor4D, 1, 'valid'))),
            tf.sum(tf.square(tf.gather(e, idx))),
          ]);
        return tf
          .grads(loss)([x, f, df, emb])
          .map((t) => Array.from(t.dataSync()));
      });
    const backend = tf.getBackend();
    const got = grads();
    await tf.setBackend('cpu');
    const ref = grads();
    await tf.setBackend(backend);
    for (let k = 0; k < ref.length; k++) {
      for (let i = 0; i < ref[k].length; i++)
        expect(Math.abs(got[k][i] - ref[k][i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref[k][i])));
    }
    // Gathered rows 0, 2, 2, 4 get gradient, row 1 and 3 none: 2·e per use.
    expect(got[3].slice(3, 6)).toEqual([0, 0, 0]);
    expect(got[3][6]).toBeCloseTo(4 * (6 / 7), 5);
  });

  it('runs a CurricularFace step on the chosen backend like the fp64 oracle', () => {
    const rng = createRng(11);
    const B = 8;
    const D = 6;
    const C = 5;
    const X = Float64Array.from({ length: B * D }, () => rng.normal());
    const W = Float64Array.from({ length: C * D }, () => rng.normal());
    const labels = Int32Array.from({ length: B }, (_, i) => i % C);
    const ref = createHead('curricularface').forward({ X, W, labels });
    const got = tfjsImplementation(createHead('curricularface'), { X, W, labels });
    const bound = (v: ArrayLike<number>) => TFJS_TOLERANCE * Math.max(1, ...Array.from(v, Math.abs));
    expect(Math.abs(got.loss - ref.loss)).toBeLessThanOrEqual(bound([ref.loss]));
    for (const k of ['X', 'W']) {
      const worst = Math.max(...Array.from(ref.grads[k], (v, i) => Math.abs(v - got.grads[k][i])));
      expect(worst).toBeLessThanOrEqual(bound(ref.grads[k]));
    }
  });

  it('falls back to cpu when wasm is not allowed', async () => {
    const before = tf.getBackend();
    const choice = await useBestBackend({ allowWasm: false });
    expect(tf.getBackend()).toBe(choice.backend);
    if (!choice.native) {
      expect(choice.backend).toBe('cpu');
      expect(choice.detail).toMatch(/cpu$/);
    }
    await tf.setBackend(before);
  });
});
