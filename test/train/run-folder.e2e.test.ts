/**
 * A training run on a tiny MNIST subset writes a complete, sane run folder: config, metrics that parse
 * and show the loss falling, one held-out embedding per held-out image, scores, checkpoint, pictures
 * and the report.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, type TrainResult, train } from '../../src/train/index.js';
import { readEmbeddingSnapshot } from '../../src/viz/index.js';
import { readMetrics } from '../../src/viz/metrics-file.js';
import { tinyConfig } from './helpers.js';

let dir: string;
let result: TrainResult;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'faceverloss-run-'));
  // 40 training digits, batch 8: 5 steps per epoch; 4 epochs = 20 steps over the same 40 images, so a
  // working loop must drive the loss down.
  result = await train(tinyConfig({ epochs: 4, lr: 0.1 }), { out: join(dir, 'run') });
}, 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run folder', () => {
  it('holds every file', () => {
    const run = join(dir, 'run');
    for (const f of [
      'config.json',
      'metrics.jsonl',
      'scores.csv',
      'embeddings/epoch-0000.json',
      'embeddings/epoch-0003.json',
      'checkpoint/model.json',
      'checkpoint/weights.bin',
      'checkpoint/optimizer.bin',
      'checkpoint/state.json',
      'features.png',
      'features.gif',
      'curves.svg',
      'report.html',
    ]) {
      expect(existsSync(join(run, f)), f).toBe(true);
    }
  });

  it('config.json records the configuration and the held-out split', () => {
    const saved = JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8'));
    expect(saved.config.head).toBe('cosface');
    expect(saved.config.epochs).toBe(4);
    expect(saved.split).toMatch(/never seen in training/);
  });

  it('metrics.jsonl parses and the loss falls over the run', () => {
    const records = readMetrics(join(dir, 'run', 'metrics.jsonl'));
    const steps = records.filter((r) => r.loss !== undefined);
    expect(steps.length).toBe(20);
    expect(steps.map((r) => r.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const mean = (rs: typeof steps) => rs.reduce((a, r) => a + r.loss, 0) / rs.length;
    // First epoch against last epoch (each the mean of its five steps).
    expect(mean(steps.slice(-5))).toBeLessThan(0.8 * mean(steps.slice(0, 5)));
    expect(records.filter((r) => r.val_acc !== undefined).length).toBe(4);
  });

  it('stores one held-out embedding per held-out image, with class weights', () => {
    const snap = readEmbeddingSnapshot(join(dir, 'run', 'embeddings', 'epoch-0003.json'));
    // 6 held-out digits per class, 10 classes.
    expect(snap.embeddings.length).toBe(60);
    expect(snap.dim).toBe(2);
    expect(new Set(snap.labels).size).toBe(10);
    expect(snap.classWeights?.length).toBe(10);
  });

  it('scores.csv holds the requested balanced pairs', () => {
    const lines = readFileSync(join(dir, 'run', 'scores.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(lines[0]).toBe('score,label');
    const labels = lines.slice(1).map((l) => Number(l.split(',')[1]));
    expect(labels.length).toBe(60);
    expect(labels.filter((l) => l === 1).length).toBe(30);
    for (const l of lines.slice(1)) expect(Math.abs(Number(l.split(',')[0]))).toBeLessThanOrEqual(1 + 1e-6);
  });

  it('the checkpoint is at the end of training and matches the result', () => {
    const ck = readCheckpoint(join(dir, 'run'));
    expect(ck.state.step).toBe(20);
    expect(result.steps).toBe(20);
    expect(ck.state.epoch).toBe(4);
    for (const w of ck.weights) expect(w.dataSync().every(Number.isFinite)).toBe(true);
  });
});
