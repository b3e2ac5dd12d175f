/**
 * Resuming is exact on the cpu backend: N steps straight and N/2 steps, stop, resume, N/2 more give
 * bit-identical weights, optimiser slots and head state (momentum SGD, a head with state).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, train } from '../../src/train/index.js';
import { tinyConfig } from './helpers.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'faceverloss-resume-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('resume', () => {
  it('N steps straight equal N/2 + resume + N/2, bit for bit', async () => {
    // 40 images, batch 8 → 5 steps per epoch; 8 steps cross an epoch boundary, the stop at 4 does not.
    const config = tinyConfig({
      head: 'curricularface',
      params: { scale: 16, margin: 0.2 },
      epochs: 2,
      maxSteps: 8,
    });
    const quiet = { pictures: false };
    await train(config, { out: join(dir, 'straight'), ...quiet });
    await train({ ...config, maxSteps: 4 }, { out: join(dir, 'split'), ...quiet });
    expect(readCheckpoint(join(dir, 'split')).state.step).toBe(4);
    await train(undefined, { out: join(dir, 'split'), resume: true, maxSteps: 8, ...quiet });

    const a = readCheckpoint(join(dir, 'straight'));
    const b = readCheckpoint(join(dir, 'split'));
    expect(b.state.step).toBe(8);
    expect(b.state.iteration).toEqual(a.state.iteration);
    expect(b.state.headState).toEqual(a.state.headState);
    expect(a.state.headState.t).not.toBe(0);
    expect(a.weights.length).toBe(b.weights.length);
    for (let i = 0; i < a.weights.length; i++) {
      expect(Array.from(b.weights[i].dataSync()), `weight ${i}`).toEqual(Array.from(a.weights[i].dataSync()));
    }
    expect(Array.from(b.optimizer.values)).toEqual(Array.from(a.optimizer.values));
    // The run moved: the weights differ from a fresh model's (guards against a loop that never steps).
    expect(a.optimizer.values.some((v) => v !== 0)).toBe(true);
  }, 120_000);
});
