/**
 * Warm start (`init`): a run begins from another run's backbone, and its class weights when the kernels
 * have the same shape. A wrong `init` is refused before the run folder is touched, so an existing run at
 * `out` survives it.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptFileError, FaceVerLossError, InvalidArgumentError } from '../../src/errors.js';
import { buildModel, readCheckpoint, type TrainConfigInput, train } from '../../src/train/index.js';
import { tinyConfig } from './helpers.js';

/** Shared by every run: a few MNIST digits, two steps, no pictures. */
const small: TrainConfigInput = { perClass: 4, heldoutPerClass: 5, pairs: 40, batch: 8, maxSteps: 2 };
/** Small enough that two steps move no weight measurably: the checkpoint shows where the run started. */
const TINY_LR = 1e-9;
const quiet = { pictures: false };

/** |got − ref| ≤ 1e-6·max(1, max|ref|), per tensor. */
function expectClose(got: tf.Tensor, ref: tf.Tensor, what: string) {
  expect(got.shape, what).toEqual(ref.shape);
  const g = got.dataSync();
  const r = ref.dataSync();
  let scale = 1;
  let worst = 0;
  for (let i = 0; i < r.length; i++) {
    scale = Math.max(scale, Math.abs(r[i]));
    worst = Math.max(worst, Math.abs(g[i] - r[i]));
  }
  expect(worst, what).toBeLessThanOrEqual(1e-6 * scale);
}

/** Largest |a − b| over two tensors of one shape. */
function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

/** Every file under a folder with its bytes, to show a run folder was left as it was. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(path, readFileSync(path).toString('base64'));
    }
  };
  walk(dir);
  return files;
}

let dir: string;
/** Softmax run that the others start from. */
let source: string;
/** An ArcFace run warm-started from `source`, also the existing run the refused inits must not clear. */
let arcRun: string;
const arcLog: string[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'faceverloss-warm-'));
  source = join(dir, 'softmax');
  arcRun = join(dir, 'arcface');
  await train(tinyConfig({ ...small, head: 'softmax', params: {}, seed: 1 }), { out: source, ...quiet });
  await train(
    tinyConfig({
      ...small,
      head: 'arcface',
      params: { scale: 16, margin: 0.2 },
      seed: 0,
      lr: TINY_LR,
      init: source,
    }),
    { out: arcRun, log: (line) => arcLog.push(line), ...quiet },
  );
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('warm start', () => {
  it('starts from the source run’s backbone and class weights', () => {
    const a = readCheckpoint(source);
    const b = readCheckpoint(arcRun);
    // Softmax has a per-class bias after its kernel; ArcFace has the kernel only.
    expect(a.weights.length).toBe(b.weights.length + 1);
    const backboneCount = b.weights.length - 1;
    for (let i = 0; i < backboneCount; i++) expectClose(b.weights[i], a.weights[i], `backbone weight ${i}`);
    expectClose(b.weights[backboneCount], a.weights[backboneCount], 'class weights');
    expect(b.state.step).toBe(2);
    expect(arcLog.some((l) => l.startsWith('init: backbone and class weights from'))).toBe(true);

    // Without init the same configuration starts elsewhere: its seeded weights are far from the source's.
    const fresh = buildModel(
      tinyConfig({ ...small, head: 'arcface', params: { scale: 16, margin: 0.2 } }),
      [28, 28, 1],
      10,
    );
    const start = fresh.model.getWeights();
    expect(start.length).toBe(b.weights.length);
    const moved = start.map((w, i) => maxDiff(w, a.weights[i]));
    expect(Math.max(...moved.slice(0, backboneCount))).toBeGreaterThan(1e-3);
    expect(moved[backboneCount]).toBeGreaterThan(1e-3);
    fresh.model.dispose();
    tf.dispose([...a.weights, ...b.weights]);
  });

  it('lets a head with state (CurricularFace) start from a softmax run', async () => {
    const out = join(dir, 'curricular');
    const log: string[] = [];
    await train(
      tinyConfig({
        ...small,
        head: 'curricularface',
        params: { scale: 16, margin: 0.2 },
        lr: TINY_LR,
        init: source,
      }),
      { out, log: (line) => log.push(line), ...quiet },
    );
    const a = readCheckpoint(source);
    const c = readCheckpoint(out);
    // CurricularFace: kernel + state weight (t); softmax: kernel + bias. Same count, different tensors.
    const backboneCount = c.weights.length - 2;
    expect(c.weights[backboneCount + 1].shape).toEqual([1]);
    expect(a.weights[backboneCount + 1].shape).toEqual([10]);
    for (let i = 0; i < backboneCount; i++) expectClose(c.weights[i], a.weights[i], `backbone weight ${i}`);
    expectClose(c.weights[backboneCount], a.weights[backboneCount], 'class weights');
    expect(log.some((l) => l.startsWith('init: backbone and class weights from'))).toBe(true);
    tf.dispose([...a.weights, ...c.weights]);
  }, 60_000);

  it('copies only the backbone when the class weights have another shape', async () => {
    // Sub-center ArcFace keeps K = 2 centres per class: its kernel is 2C × D, the source's C × D.
    const out = join(dir, 'subcenter');
    const log: string[] = [];
    await train(
      tinyConfig({
        ...small,
        head: 'subcenter-arcface',
        params: { scale: 16, margin: 0.2, subCenters: 2 },
        lr: TINY_LR,
        maxSteps: 1,
        init: source,
      }),
      { out, log: (line) => log.push(line), ...quiet },
    );
    const a = readCheckpoint(source);
    const s = readCheckpoint(out);
    const backboneCount = s.weights.length - 1;
    for (let i = 0; i < backboneCount; i++) expectClose(s.weights[i], a.weights[i], `backbone weight ${i}`);
    expect(s.weights[backboneCount].shape).toEqual([20, 2]);
    expect(log.some((l) => l.includes('its class weights have another shape'))).toBe(true);
    tf.dispose([...a.weights, ...s.weights]);
  }, 60_000);

  describe('a refused init leaves an existing run folder as it was', () => {
    const refuse = async (config: TrainConfigInput) => {
      const before = snapshot(arcRun);
      expect(existsSync(join(arcRun, 'checkpoint', 'state.json'))).toBe(true);
      let error: unknown;
      try {
        await train(tinyConfig({ ...small, head: 'arcface', params: {}, ...config }), {
          out: arcRun,
          ...quiet,
        });
      } catch (err) {
        error = err;
      }
      expect(snapshot(arcRun)).toEqual(before);
      return error;
    };

    it('a backbone of another width: InvalidArgumentError naming --init', async () => {
      const error = await refuse({ width: 0.25, init: source });
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe('--init');
      expect((error as Error).message).toContain('--init');
      expect((error as Error).message).toContain(source);
    }, 30_000);

    it('a backbone of another embedding size: InvalidArgumentError naming --init', async () => {
      const error = await refuse({ embeddingDim: 3, init: source });
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toContain('--init');
    }, 30_000);

    it('a folder without a checkpoint: CorruptFileError', async () => {
      const empty = join(dir, 'empty');
      mkdirSync(empty, { recursive: true });
      const error = await refuse({ init: empty });
      expect(error).toBeInstanceOf(FaceVerLossError);
      expect(error).toBeInstanceOf(CorruptFileError);
      expect((error as Error).message).toContain(empty);
    }, 30_000);
  });
});
