/**
 * Resuming after a run stopped at an awkward moment: before its first regular checkpoint (a step-0
 * checkpoint exists from the start), between checkpoints (metrics.jsonl is cut back to what the
 * checkpoint saw, so no step is recorded twice), and after config.json was edited (a typed error naming
 * the file and the field, not TF.js's weight-shape error). A stop is simulated by a progress callback
 * that throws: it leaves the folder exactly as a kill at that point would, without timing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/errors.js';
import { type ProgressReporter, readCheckpoint, type TrainConfig, train } from '../../src/train/index.js';
import { readMetrics } from '../../src/viz/metrics-file.js';
import { tinyConfig } from './helpers.js';

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'fvl-resume-safety-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const quiet = { pictures: false } as const;

/** Progress that stops the run right after optimiser step `at` (its metrics line is written by then). */
function stopAfter(at: number): ProgressReporter {
  return {
    start: () => {},
    stop: () => {},
    update: (p) => {
      if (p.step === at) throw new Error(`stopped after step ${at}`);
    },
  };
}

async function stopped(config: TrainConfig, out: string, at: number): Promise<void> {
  await expect(train(config, { out, progress: stopAfter(at), ...quiet })).rejects.toThrow(`step ${at}`);
}

/** Edit one field of a run's config.json. */
function editConfig(out: string, edit: (c: Record<string, unknown>) => void): void {
  const path = join(out, 'config.json');
  const json = JSON.parse(readFileSync(path, 'utf8'));
  edit(json.config);
  writeFileSync(path, JSON.stringify(json));
}

describe('resume after a stop', () => {
  it('a run stopped before its first regular checkpoint resumes from the step-0 checkpoint', async () => {
    const out = join(root, 'early');
    await stopped(tinyConfig({ maxSteps: 3 }), out, 1);
    expect(readCheckpoint(out).state.step).toBe(0);
    const result = await train(undefined, { out, resume: true, ...quiet });
    expect(result.steps).toBe(3);
    expect(readCheckpoint(out).state.step).toBe(3);
  }, 120_000);

  it('metrics.jsonl is cut back to the checkpoint: every step is recorded once', async () => {
    const out = join(root, 'metrics');
    // Checkpoints at steps 2 and 4; stopped after step 5, whose metrics line is already written.
    await stopped(tinyConfig({ maxSteps: 8, epochs: 2, checkpointEvery: 2 }), out, 5);
    expect(readCheckpoint(out).state.step).toBe(4);
    expect(readMetrics(join(out, 'metrics.jsonl')).filter((r) => r.loss !== undefined)).toHaveLength(5);
    await train(undefined, { out, resume: true, ...quiet });
    const records = readMetrics(join(out, 'metrics.jsonl'));
    const steps = records.filter((r) => r.loss !== undefined).map((r) => r.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // One epoch record per epoch end (step 5 ends epoch 0 of 40 images / batch 8; step 8 is the stop).
    expect(records.filter((r) => r.val_acc !== undefined).map((r) => r.step)).toEqual([5, 8]);
  }, 120_000);

  it('a config.json edited in a field that shapes the model is refused, naming the file and field', async () => {
    const out = join(root, 'edited');
    await train(tinyConfig({ maxSteps: 1 }), { out, ...quiet });
    const original = readFileSync(join(out, 'config.json'), 'utf8');
    for (const [field, value] of [
      ['embeddingDim', 3],
      ['head', 'arcface'],
      ['width', 0.25],
    ] as const) {
      editConfig(out, (c) => {
        c[field] = value;
      });
      const error = await train(undefined, { out, resume: true, maxSteps: 2, ...quiet }).catch((e) => e);
      expect(error, field).toBeInstanceOf(CorruptFileError);
      expect(error.message).toContain(join(out, 'config.json'));
      expect(error.message).toContain(`"${field}"`);
      writeFileSync(join(out, 'config.json'), original);
    }
    expect(readCheckpoint(out).state.step).toBe(1);
  }, 120_000);

  it('a checkpoint without the recorded configuration still gets a typed shape error', async () => {
    const out = join(root, 'old-checkpoint');
    await train(tinyConfig({ maxSteps: 1 }), { out, ...quiet });
    // Checkpoints written before the configuration was recorded in state.json.
    const statePath = join(out, 'checkpoint', 'state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    delete state.config;
    writeFileSync(statePath, JSON.stringify(state));
    editConfig(out, (c) => {
      c.embeddingDim = 3;
    });
    const error = await train(undefined, { out, resume: true, maxSteps: 2, ...quiet }).catch((e) => e);
    expect(error).toBeInstanceOf(CorruptFileError);
    expect(error.message).toContain(join(out, 'config.json'));
    expect(error.message).toMatch(/embeddingDim/);
  }, 120_000);
});
