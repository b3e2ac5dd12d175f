/**
 * Checkpoints during training: at each epoch's end (the stream then points into the next epoch), every
 * `checkpointEvery` steps, and after the last step. Weights are checked for NaN/Inf before they are
 * written, so the folder's checkpoint is always a good state.
 */
import type * as tf from '@tensorflow/tfjs';
import type { IterationState } from '../../data/index.js';
import type { HeadLayer } from '../../tf/index.js';
import { writeCheckpoint } from '../checkpoint.js';
import type { TrainConfig } from '../config.js';
import { optimizerState } from '../optimizer.js';
import type { RunFolder } from '../run-dir.js';
import type { DivergenceGuard } from './divergence.js';
import type { StepCallback, TrainingState } from './state.js';

export interface CheckpointInput {
  run: RunFolder;
  model: tf.LayersModel;
  /** The head layer of `model` (absent in a model-parallel run, whose class weights are sharded). */
  head?: HeadLayer;
  optimizer: tf.Optimizer;
  stream: { getState(): IterationState };
  state: TrainingState;
  config: TrainConfig;
  guard: DivergenceGuard;
}

/** Writes the run's checkpoint; `nextEpoch` is the epoch of the next batch. */
export function createCheckpointer(input: CheckpointInput): (nextEpoch: number) => Promise<void> {
  const { run, model, head, optimizer, stream, state, config, guard } = input;
  return async (nextEpoch) => {
    guard.checkWeights(
      model.trainableWeights.map((w) => ({ name: w.name, value: w.read() })),
      state.step,
    );
    await writeCheckpoint(run.dir, model, await optimizerState(optimizer), {
      epoch: nextEpoch,
      step: state.step,
      iteration: stream.getState(),
      rng: head?.head.random?.getState() ?? null,
      headState: head?.getHeadState() ?? {},
      epochStats: state.epochStats,
      metricsBytes: run.metricsBytes(),
      config,
    });
    guard.checkpointStep = state.step;
  };
}

/** Checkpoints at an epoch's end, every `every` steps (0: never) and after the last step. */
export function checkpointCallback(
  checkpoint: (nextEpoch: number) => Promise<void>,
  every: number,
): StepCallback {
  return async (event) => {
    if (event.epochEnded) await checkpoint(event.epoch + 1);
    else if (event.step === event.totalSteps || (every > 0 && event.step % every === 0)) {
      await checkpoint(event.epoch);
    }
  };
}
