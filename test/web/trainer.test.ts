/**
 * The live panels' trainer on the library's HeadLayer: every registered head, started from its plane
 * defaults, trains a few steps to finite losses; the seeds fix the data order and the start.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { headNames } from '../../src/heads/registry.js';
import { createRng } from '../../src/rng.js';
import type { MnistSubset } from '../../web/src/train/mnist-format.js';
import { EmbeddingTrainer } from '../../web/src/train/trainer.js';
import { TRAINABLE_HEADS, trainingDefaults } from '../../web/src/train/training-defaults.js';

/** Random "digits" (8×8, ten classes): enough to exercise every head's loss and gradient. */
function fakeDigits(count: number, seed: number): MnistSubset {
  const rng = createRng(seed);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const pixels = Uint8Array.from({ length: count * 64 }, () => rng.int(256));
  return { count, rows: 8, cols: 8, labels, pixels };
}

const DATA = fakeDigits(120, 7);
const SMALL = { batchSize: 16, heldOut: 40 };

function run(head: string, steps: number, seed = 1, initSeed = seed) {
  const t = new EmbeddingTrainer(DATA, { head, params: trainingDefaults(head), seed, initSeed, ...SMALL });
  try {
    const losses = Array.from({ length: steps }, () => t.step());
    return { losses, snap: t.snapshot() };
  } finally {
    t.dispose();
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('live-training trainer', () => {
  it('offers every registered head', () => {
    expect([...TRAINABLE_HEADS]).toEqual([...headNames]);
  });

  it.each([...headNames])('%s trains three steps to finite losses and embeddings', (head) => {
    const { losses, snap } = run(head, 3);
    expect(losses.every(Number.isFinite), `${losses}`).toBe(true);
    expect(snap.embeddings.every(Number.isFinite)).toBe(true);
    expect(snap.weights.length).toBe(20);
    expect(snap.weights.every(Number.isFinite)).toBe(true);
    expect(snap.accuracy).toBeGreaterThanOrEqual(0);
    expect(snap.accuracy).toBeLessThanOrEqual(1);
  });

  it('repeats itself for the same seeds and differs for another start', () => {
    const a = run('cosface', 4);
    const b = run('cosface', 4);
    expect(b.losses).toEqual(a.losses);
    const c = run('cosface', 4, 1, 2);
    expect(c.losses[0]).not.toBe(a.losses[0]);
  });

  it('starts margin heads with a margin (no silent NormFace)', () => {
    for (const head of ['cosface', 'arcface', 'amsoftmax', 'curricularface']) {
      expect(trainingDefaults(head).margin, head).toBeGreaterThan(0);
      expect(trainingDefaults(head).scale, head).toBeLessThanOrEqual(32);
    }
  });
});
