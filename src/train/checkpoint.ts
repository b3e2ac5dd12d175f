/**
 * Checkpoints: `RUN/checkpoint/` holds the model (`model.json` + `weights.bin`, loadable with
 * `loadModel`), the optimiser slots (`optimizer.bin`) and `state.json` (epoch, step, data-stream
 * position, random-generator state, head state). A checkpoint is written into a fresh temporary folder
 * and renamed into place, so a reader — or a resumed run after a crash — sees either the previous
 * complete checkpoint or the new complete one.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { IterationState } from '../data/index.js';
import { CorruptFileError } from '../errors.js';
import { readModelArtifacts, saveModel } from '../node/index.js';
import type { OptimizerState } from './optimizer.js';

/** Folder name of the checkpoint inside a run folder. */
export const CHECKPOINT_DIR = 'checkpoint';

/** Everything in a checkpoint besides the tensors. */
export interface CheckpointState {
  version: 1;
  /** Epoch of the next batch (0-based). */
  epoch: number;
  /** Optimiser steps done. */
  step: number;
  /** Data stream position after the last batch trained on. */
  iteration: IterationState;
  /** State of the head's random generator (ElasticFace), when it has one. */
  rng: number[] | null;
  /** Head state (CurricularFace t, AdaFace μ/σ, …) for reference; it also lives in the weights. */
  headState: Record<string, number>;
  /** Shapes of the optimiser slots stored in optimizer.bin, in slot order. */
  optimizerShapes: number[][];
  /** Running sums of the current epoch, so resumed epochs report the same accuracy. */
  epochStats: { seen: number; correct: number; lossSum: number };
  /**
   * Length in bytes of `metrics.jsonl` when the checkpoint was written: a resumed run cuts the file back
   * to it, so steps done after the checkpoint are not recorded twice. Absent in older checkpoints.
   */
  metricsBytes?: number;
  /** The configuration the weights were trained with, to refuse a resume under an edited one. */
  config?: Record<string, unknown>;
}

/** Path of a run's checkpoint folder. */
export function checkpointDir(runDir: string): string {
  return join(runDir, CHECKPOINT_DIR);
}

/**
 * Finish or undo a swap a crash interrupted. A kill between the two renames of
 * {@link writeCheckpoint} leaves no `checkpoint/` but a complete `.checkpoint.<pid>.old`: it is moved
 * back. Temporary folders of earlier processes (a kill while writing) are removed. Only one process
 * trains in a run folder at a time, so anything not ours is stale.
 */
export function recoverCheckpoint(runDir: string): void {
  if (!existsSync(runDir)) return;
  const target = checkpointDir(runDir);
  for (const name of readdirSync(runDir)) {
    const path = join(runDir, name);
    if (/^\.checkpoint\.\d+\.old$/.test(name)) {
      if (!existsSync(target) && existsSync(join(path, 'state.json'))) renameSync(path, target);
      else rmSync(path, { recursive: true, force: true });
    } else if (/^\.checkpoint\.\d+\.tmp$/.test(name) && name !== `.checkpoint.${process.pid}.tmp`) {
      rmSync(path, { recursive: true, force: true });
    }
  }
}

/** Write a checkpoint atomically (see the module doc). */
export async function writeCheckpoint(
  runDir: string,
  model: tf.LayersModel,
  optimizer: OptimizerState,
  state: Omit<CheckpointState, 'version' | 'optimizerShapes'>,
): Promise<void> {
  const target = checkpointDir(runDir);
  const tmp = join(runDir, `.checkpoint.${process.pid}.tmp`);
  const old = join(runDir, `.checkpoint.${process.pid}.old`);
  recoverCheckpoint(runDir);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await saveModel(model, tmp);
  const v = optimizer.values;
  writeFileSync(join(tmp, 'optimizer.bin'), new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  const full: CheckpointState = { version: 1, ...state, optimizerShapes: optimizer.shapes };
  writeFileSync(join(tmp, 'state.json'), `${JSON.stringify(full, null, 1)}\n`, { flush: true });
  // Swap folders: the old checkpoint is moved aside before the new one takes its name and removed after.
  if (existsSync(target)) renameSync(target, old);
  renameSync(tmp, target);
  rmSync(old, { recursive: true, force: true });
}

/** A checkpoint read back: weights in model-weight order, optimiser slots, state. */
export interface LoadedCheckpoint {
  /** The model's weights, in the order of `model.weights` when it was saved. */
  weights: tf.Tensor[];
  /** The optimiser slots, to restore with `setOptimizerState`. */
  optimizer: OptimizerState;
  /** Epoch, step, data position, random-generator and head state (`state.json`). */
  state: CheckpointState;
}

/**
 * The folder holding a run's complete checkpoint, without changing anything: `checkpoint/`, or the
 * `.checkpoint.<pid>.old` a crash left between the two renames of a swap (which recoverCheckpoint, run
 * by the folder's writer under its lock, moves back).
 */
function completeCheckpoint(runDir: string): string {
  const dir = checkpointDir(runDir);
  if (existsSync(dir) || !existsSync(runDir)) return dir;
  const old = readdirSync(runDir).find(
    (name) => /^\.checkpoint\.\d+\.old$/.test(name) && existsSync(join(runDir, name, 'state.json')),
  );
  return old === undefined ? dir : join(runDir, old);
}

/**
 * Read a run's checkpoint; throws `CorruptFileError` when it is missing or damaged. Reading changes
 * nothing in the folder, so another run (`--init`) may read it while its own trainer writes it.
 */
export function readCheckpoint(runDir: string): LoadedCheckpoint {
  const dir = completeCheckpoint(runDir);
  const statePath = join(dir, 'state.json');
  if (!existsSync(statePath))
    throw new CorruptFileError(dir, 'no checkpoint in this run folder (state.json missing)');
  let state: CheckpointState;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8'));
  } catch (err) {
    throw new CorruptFileError(statePath, `not valid JSON (${(err as Error).message})`);
  }
  if (state?.version !== 1 || !Array.isArray(state.optimizerShapes)) {
    throw new CorruptFileError(statePath, 'not a faceverloss checkpoint state (version 1)');
  }
  const artifacts = readModelArtifacts(dir);
  const specs = artifacts.weightSpecs ?? [];
  const named = tf.io.decodeWeights(artifacts.weightData!, specs);
  // Saved in model-weight order; names may differ between processes, so order is what matches them.
  const weights = specs.map((s) => named[s.name]);
  const bytes = readFileSync(join(dir, 'optimizer.bin'));
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const expected = state.optimizerShapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  if (values.length !== expected) {
    throw new CorruptFileError(join(dir, 'optimizer.bin'), `${values.length} values, expected ${expected}`);
  }
  return { weights, optimizer: { shapes: state.optimizerShapes, values }, state };
}
