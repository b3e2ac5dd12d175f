/**
 * `faceverloss train --model-parallel` under mpirun: two ranks with 4 images each reproduce one process
 * training on the same batches of 8 with the ordinary (fused) head — per-step loss, backbone weights and
 * the class weights (the shards concatenated) within 1e-4 of max|ref| — and a run stopped and resumed
 * at the same number of ranks continues bit for bit.
 *
 * Both runs start from the same one-step run (`init`): a model-parallel run draws its class weights per
 * class (independent of the number of ranks), the one-process head with TF.js's initialiser. LeNet++
 * has no batch norm, so per-rank batch statistics do not enter. Needs mpirun and the MPI addon (see
 * mpi-env.ts); FACEVERLOSS_REQUIRE_MPI=1 makes their absence a failure.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadShardCheckpoint } from '../../src/parallel/shard-checkpoint.js';
import { readCheckpoint, train } from '../../src/train/index.js';
import { tinyConfig } from '../train/helpers.js';
import { mpiMissing, mpiRequired, mpirun } from './mpi-env.js';
import { relativeError } from './reference.js';

const TOLERANCE = 1e-4;
const RANKS = 2;
const PER_RANK = 4;
const reason = mpiMissing();

// 40 training images: 5 global batches of 8, so neither run has a short batch.
const config = tinyConfig({
  head: 'arcface',
  params: { scale: 16, margin: 0.2 },
  batch: PER_RANK,
  momentum: 0.9,
  weightDecay: 5e-4,
  maxSteps: 3,
});

let dir: string;
let straight: string;

/** `train --model-parallel` over RANKS ranks with the configuration file `cfg` (or `--resume`). */
function trainParallel(args: string[]): void {
  mpirun(RANKS, [join('src', 'cli', 'main.ts'), 'train', '--model-parallel', '--backend', 'cpu', ...args]);
}

/** The per-step records of a run's metrics.jsonl. */
function steps(run: string): { loss: number; acc: number }[] {
  return readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .filter((r) => r.loss !== undefined);
}
const losses = (run: string) => steps(run).map((r) => r.loss);

/** The class weights and momentum of a model-parallel run, its shards concatenated in rank order. */
function classWeights(run: string): { W: number[]; velocity: number[]; step: number } {
  const shards = Array.from({ length: RANKS }, (_, rank) =>
    loadShardCheckpoint(join(run, 'head-shards'), { rank, size: RANKS }),
  );
  return {
    W: shards.flatMap((s) => Array.from(s.W)),
    velocity: shards.flatMap((s) => Array.from(s.velocity ?? [])),
    step: shards[0].step,
  };
}

beforeAll(async () => {
  if (reason !== null) return;
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'fvl-train-mp-'));
  // The common starting point: one step of an ordinary run.
  await train(
    { ...config, batch: RANKS * PER_RANK, maxSteps: 1 },
    { out: join(dir, 'init'), pictures: false },
  );
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, init: join(dir, 'init') }));
  straight = join(dir, 'parallel');
  trainParallel(['--config', join(dir, 'config.json'), '--out', straight]);
}, 170_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('train --model-parallel', () => {
  it('has mpirun and the MPI addon when FACEVERLOSS_REQUIRE_MPI=1', () => {
    if (mpiRequired) expect(reason, reason ?? '').toBeNull();
    else expect(typeof mpiRequired).toBe('boolean');
  });

  it.skipIf(reason !== null)(
    `${RANKS} ranks × ${PER_RANK} images reproduce one process with batches of ${RANKS * PER_RANK}${reason ? ` (skipped: ${reason})` : ''}`,
    async () => {
      const single = join(dir, 'single');
      await train(
        { ...config, batch: RANKS * PER_RANK, init: join(dir, 'init') },
        { out: single, pictures: false },
      );
      const ref = losses(single);
      const got = losses(straight);
      expect(ref.length).toBe(3);
      expect(got.length).toBe(3);
      got.forEach((loss, step) => {
        expect(Math.abs(loss - ref[step]) / Math.abs(ref[step]), `loss at step ${step + 1}`).toBeLessThan(
          TOLERANCE,
        );
      });

      // Train accuracy: the same rows' argmax over all classes, counted over the global batch.
      expect(steps(straight).map((r) => r.acc)).toEqual(steps(single).map((r) => r.acc));

      const a = readCheckpoint(single);
      const b = readCheckpoint(straight);
      expect(b.state.step).toBe(3);
      // The model-parallel checkpoint holds the backbone; the one-process one adds the class weights.
      expect(a.weights.length).toBe(b.weights.length + 1);
      b.weights.forEach((w, i) => {
        expect(w.shape).toEqual(a.weights[i].shape);
        expect(relativeError(w.dataSync(), a.weights[i].dataSync()), `backbone weight ${i}`).toBeLessThan(
          TOLERANCE,
        );
      });
      const kernel = a.weights[a.weights.length - 1];
      const { W, step } = classWeights(straight);
      expect(step).toBe(3);
      expect(W.length).toBe(kernel.size);
      expect(relativeError(W, kernel.dataSync())).toBeLessThan(TOLERANCE);
      // The steps moved the class weights away from the common start (a run that changed nothing fails).
      const start = readCheckpoint(join(dir, 'init')).weights.at(-1) as tf.Tensor;
      expect(relativeError(W, start.dataSync())).toBeGreaterThan(1e-3);
    },
    120_000,
  );

  it.skipIf(reason !== null)(
    `stopped after 2 steps and resumed at ${RANKS} ranks, it continues bit for bit${reason ? ` (skipped: ${reason})` : ''}`,
    () => {
      const split = join(dir, 'split');
      const cfg = join(dir, 'config-2.json');
      writeFileSync(cfg, JSON.stringify({ ...config, maxSteps: 2, init: join(dir, 'init') }));
      trainParallel(['--config', cfg, '--out', split]);
      // The shards went into rank 0's staging folder and came with it into the run folder.
      expect(classWeights(split).step).toBe(2);
      expect(readdirSync(dir).filter((name) => name.includes('.staging-'))).toEqual([]);
      expect(readdirSync(join(split, 'head-shards')).sort()).toEqual([
        'manifest.json',
        'shard-0-of-2.step-2.f32',
        'shard-1-of-2.step-2.f32',
      ]);
      trainParallel(['--resume', split, '--max-steps', '3']);

      expect(losses(split)).toEqual(losses(straight));
      const a = readCheckpoint(straight);
      const b = readCheckpoint(split);
      expect(b.state.step).toBe(3);
      expect(b.state.iteration).toEqual(a.state.iteration);
      a.weights.forEach((w, i) => {
        expect(Array.from(b.weights[i].dataSync()), `backbone weight ${i}`).toEqual(Array.from(w.dataSync()));
      });
      expect(Array.from(b.optimizer.values)).toEqual(Array.from(a.optimizer.values));
      const heads = [classWeights(straight), classWeights(split)];
      expect(heads[1].step).toBe(3);
      expect(heads[1].W).toEqual(heads[0].W);
      expect(heads[1].velocity).toEqual(heads[0].velocity);
      expect(heads[0].velocity.some((v) => v !== 0)).toBe(true);
    },
    120_000,
  );
});
