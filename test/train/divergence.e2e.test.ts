/**
 * Divergence: an absurd learning rate makes the loss or weights non-finite; training stops with a
 * TrainingDivergedError naming the step, the likely cause and the step of the checkpoint that stays
 * (a fresh run has one from step 0 on).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, TrainingDivergedError, train } from '../../src/train/index.js';
import { tinyConfig } from './helpers.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'faceverloss-nan-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('divergence', () => {
  it('stops with a typed error and keeps the last good checkpoint', async () => {
    const out = join(dir, 'run');
    // Two sane steps with a checkpoint after each, then resume with lr 1e30: momentum SGD overflows.
    await train(tinyConfig({ maxSteps: 2, checkpointEvery: 1 }), { out, pictures: false });
    const good = readCheckpoint(out);
    expect(good.state.step).toBe(2);
    const saved = good.weights.map((w) => Array.from(w.dataSync()));

    const configPath = join(out, 'config.json');
    const { writeFileSync, readFileSync } = await import('node:fs');
    const json = JSON.parse(readFileSync(configPath, 'utf8'));
    json.config.lr = 1e30;
    writeFileSync(configPath, JSON.stringify(json));

    let error: unknown;
    try {
      await train(undefined, { out, resume: true, maxSteps: 5, pictures: false });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TrainingDivergedError);
    const e = error as TrainingDivergedError;
    expect(e.step).toBeGreaterThan(2);
    expect(e.message).toMatch(/learning rate too high \(--lr 1e\+30/);
    expect(e.message).toMatch(/margin/);
    // The checkpoint on disk is still the step-2 state: nothing diverged was written.
    const after = readCheckpoint(out);
    expect(after.state.step).toBeLessThan(e.step);
    for (const w of after.weights) expect(w.dataSync().every(Number.isFinite)).toBe(true);
    if (after.state.step === 2) {
      for (const [i, w] of after.weights.entries()) expect(Array.from(w.dataSync())).toEqual(saved[i]);
    }
    // The message names the checkpoint that is really there.
    expect(e.checkpointStep).toBe(after.state.step);
    expect(e.message).toContain(`checkpoint of step ${after.state.step} was kept`);
  }, 120_000);

  it('a fresh run diverging at once names its step-0 checkpoint, which is there', async () => {
    const out = join(dir, 'fresh');
    let error: unknown;
    try {
      await train(tinyConfig({ lr: 1e30, maxSteps: 4 }), { out, pictures: false });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TrainingDivergedError);
    const e = error as TrainingDivergedError;
    const kept = readCheckpoint(out);
    expect(e.checkpointStep).toBe(kept.state.step);
    expect(e.message).toContain(`checkpoint of step ${kept.state.step} was kept`);
    for (const w of kept.weights) expect(w.dataSync().every(Number.isFinite)).toBe(true);
  }, 120_000);
});
