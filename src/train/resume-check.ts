/**
 * A resumed run must rebuild the model its checkpoint was trained with. `config.json` can be edited
 * between the runs; an edit that changes the model (or what its weights mean) is refused with an error
 * naming the file and the field, instead of TF.js's weight-shape error or, worse, weights silently
 * loaded under another head.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { CorruptFileError } from '../errors.js';
import { parseTrainConfig, type TrainConfig } from './config.js';

/**
 * The configuration of the run in `dir` (its `config.json`), with the length of training replaced by
 * `epochs` / `maxSteps` when given: the saved run defines the model and data, only its length changes.
 */
export function readSavedConfig(dir: string, length: { epochs?: number; maxSteps?: number }): TrainConfig {
  const savedPath = join(dir, 'config.json');
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(readFileSync(savedPath, 'utf8')).config;
  } catch (err) {
    throw new CorruptFileError(savedPath, `not a run configuration (${(err as Error).message})`);
  }
  if (typeof saved !== 'object' || saved === null)
    throw new CorruptFileError(savedPath, 'no "config" object (not a run configuration)');
  return parseTrainConfig({
    ...saved,
    epochs: length.epochs ?? saved.epochs,
    maxSteps: length.maxSteps ?? saved.maxSteps,
  });
}

/** Fields that decide the model's weights and what they were trained for; the rest may change. */
const MODEL_FIELDS = [
  'head',
  'params',
  'data',
  'backbone',
  'width',
  'embeddingDim',
  'imageSize',
  'trainPerClass',
  'perClass',
] as const;

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
function stable(value: unknown): string {
  if (value === undefined) return 'unset';
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

/**
 * Compare the configuration of `configPath` with the one the checkpoint recorded (checkpoints written
 * before it was recorded have none: for them only the shapes are checked).
 */
export function checkResumeFields(
  configPath: string,
  config: TrainConfig,
  trainedWith: Record<string, unknown> | undefined,
): void {
  if (trainedWith !== undefined) {
    for (const field of MODEL_FIELDS) {
      const now = stable(config[field]);
      const then = stable(trainedWith[field]);
      if (now !== then) {
        throw new CorruptFileError(
          configPath,
          `"${field}" is ${now} but the checkpoint was trained with ${then}; restore it (only epochs and ` +
            `maxSteps may change when resuming) or start a new run for another ${field}`,
        );
      }
    }
  }
}

/** Compare the weight shapes of the model built from `configPath` with the checkpoint's. */
export function checkResumeShapes(
  configPath: string,
  model: tf.LayersModel,
  saved: readonly tf.Tensor[],
): void {
  const weights = model.weights;
  const mismatch = weights.findIndex(
    (w, i) => saved[i] === undefined || saved[i].shape.join() !== w.shape.join(),
  );
  if (mismatch >= 0 || saved.length !== weights.length) {
    const i = mismatch >= 0 ? mismatch : weights.length;
    const got = saved[i] ? `[${saved[i].shape.join(', ')}]` : 'nothing';
    const want = weights[i] ? `[${weights[i].shape.join(', ')}]` : 'nothing';
    throw new CorruptFileError(
      configPath,
      `builds weight ${i}${weights[i] ? ` (${weights[i].name})` : ''} as ${want} but the checkpoint holds ` +
        `${got}: a field that shapes the model (embeddingDim, backbone, width, imageSize, data) differs ` +
        'from the one the checkpoint was trained with',
    );
  }
}
