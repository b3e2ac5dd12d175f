/**
 * This rank's rows of the class-centre matrix in a model-parallel run: W and its momentum buffer as plain
 * Float32Arrays (the sharded step updates them in place), the head's geometry and margin, and how they
 * start, are saved and come back.
 *
 * A fresh shard draws each class's row from a generator seeded by (seed, class), uniform in Glorot's
 * range ±√(6/(C+D)) as the one-process head's initialiser: a rank draws only its own rows, and the
 * matrix is the same whatever the number of ranks. `--init RUN` takes the rows from a one-process
 * run's class weights instead (when their shape is C×D).
 */
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { CorruptFileError } from '../../errors.js';
import { createHead } from '../../heads/registry.js';
import type { GeometrySpec, MarginSpec } from '../../margin/spec.js';
import type { Comm } from '../../parallel/comm.js';
import { type ShardRange, shardRange } from '../../parallel/shard.js';
import { loadShardCheckpoint, saveShardCheckpoint } from '../../parallel/shard-checkpoint.js';
import { shardedHeadSpec } from '../../parallel/sharded-head.js';
import { createRng } from '../../rng.js';
import type { TrainConfig } from '../config.js';

/** Folder of the head's shard files and manifest inside a run folder. */
export const HEAD_SHARDS_DIR = 'head-shards';

/** One rank's part of the class-centre matrix. */
export interface ClassShard {
  classes: number;
  D: number;
  range: ShardRange;
  /** Rows [range.start, range.start + range.count) of W, row-major. */
  W: Float32Array;
  /** The same rows of the SGD momentum buffer. */
  velocity: Float32Array;
  geometry: GeometrySpec;
  margin: MarginSpec;
}

/**
 * A fresh shard (see the module comment). Throws UnsupportedConfigError for heads the sharded step does
 * not run.
 */
export function createClassShard(config: TrainConfig, classes: number, comm: Comm): ClassShard {
  const head = createHead(config.head, config.params, { rng: createRng(0), classes });
  const { geometry, margin } = shardedHeadSpec(head, classes);
  const D = config.embeddingDim;
  const range = shardRange(classes, comm.size, comm.rank);
  const W = new Float32Array(range.count * D);
  const limit = Math.sqrt(6 / (classes + D));
  for (let k = 0; k < range.count; k++) {
    // One generator per class: splitmix-seeded, so neighbouring seeds give unrelated streams.
    const rng = createRng(((config.seed * 1_000_003) ^ (range.start + k)) | 0);
    for (let j = 0; j < D; j++) W[k * D + j] = (2 * rng.next() - 1) * limit;
  }
  return { classes, D, range, W, velocity: new Float32Array(W.length), geometry, margin };
}

/** Copies this rank's rows out of a full C×D class-weight tensor (a one-process run's kernel). */
export function takeRows(shard: ClassShard, kernel: tf.Tensor): boolean {
  if (kernel.shape.length !== 2 || kernel.shape[0] !== shard.classes || kernel.shape[1] !== shard.D)
    return false;
  const all = kernel.dataSync() as Float32Array;
  const { start, count } = shard.range;
  shard.W.set(all.subarray(start * shard.D, (start + count) * shard.D));
  return true;
}

/** Writes every rank's rows to RUN/head-shards (all ranks call it together; see shard-checkpoint.ts). */
export function saveClassShard(runDir: string, comm: Comm, shard: ClassShard, step: number): void {
  saveShardCheckpoint(join(runDir, HEAD_SHARDS_DIR), comm, {
    classes: shard.classes,
    D: shard.D,
    step,
    W: shard.W,
    velocity: shard.velocity,
  });
}

/**
 * Restores this rank's rows from RUN/head-shards, which must hold the step of the backbone's
 * checkpoint (`step`) and this job's number of ranks.
 */
export function loadClassShard(runDir: string, comm: Comm, shard: ClassShard, step: number): void {
  const dir = join(runDir, HEAD_SHARDS_DIR);
  const saved = loadShardCheckpoint(dir, comm);
  if (saved.classes !== shard.classes || saved.D !== shard.D)
    throw new CorruptFileError(
      join(dir, 'manifest.json'),
      `holds ${saved.classes}×${saved.D} class weights, this run has ${shard.classes}×${shard.D}`,
    );
  if (saved.step !== step)
    throw new CorruptFileError(
      join(dir, 'manifest.json'),
      `is at step ${saved.step} and the backbone's checkpoint at step ${step} (a run stopped between ` +
        'writing the two; no consistent checkpoint is left)',
    );
  shard.W.set(saved.W);
  shard.velocity.set(saved.velocity ?? new Float32Array(shard.W.length));
}
