/**
 * Saving and loading TF.js layers models in Node without tfjs-node: `model.json` + `weights.bin`, the
 * same files `tf.loadLayersModel('…/model.json')` reads in a browser. Each file is written to a
 * temporary name and renamed into place, weights first, so a reader never sees a half-written model.
 * Head state lives in the layers' non-trainable weights and travels with them.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CorruptFileError, InvalidArgumentError } from '../errors.js';
// Registers HeadLayer for deserialisation.
import '../tf/layer.js';

/** Name of the topology + weights-manifest file inside a saved model directory. */
export const MODEL_FILE = 'model.json';
/** Name of the file holding all weights (one binary shard) inside a saved model directory. */
export const WEIGHTS_FILE = 'weights.bin';

function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data, { flush: true });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** A TF.js save handler writing `model.json` and `weights.bin` into `dir` (created if missing). */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  if (typeof dir !== 'string' || dir.length === 0)
    throw new InvalidArgumentError('dir', 'a directory path', dir);
  return tf.io.withSaveHandler(async (artifacts) => {
    mkdirSync(dir, { recursive: true });
    const weights = artifacts.weightData
      ? tf.io.CompositeArrayBuffer.join(artifacts.weightData)
      : new ArrayBuffer(0);
    const modelJson: Record<string, unknown> = {
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs ?? [] }],
    };
    if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
    if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
    writeAtomic(join(dir, WEIGHTS_FILE), new Uint8Array(weights));
    writeAtomic(join(dir, MODEL_FILE), JSON.stringify(modelJson));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  });
}

/** Save a layers model into `dir` as `model.json` + `weights.bin`. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<tf.io.SaveResult> {
  return model.save(fileSaveHandler(dir));
}

/** Model artifacts of a directory written by {@link saveModel} (or by TF.js in a browser). */
export function readModelArtifacts(dir: string): tf.io.ModelArtifacts {
  const modelPath = join(dir, MODEL_FILE);
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(readFileSync(modelPath, 'utf8'));
  } catch (err) {
    throw new CorruptFileError(modelPath, `cannot read model JSON (${(err as Error).message})`);
  }
  if (
    typeof json !== 'object' ||
    json === null ||
    !json.modelTopology ||
    !Array.isArray(json.weightsManifest)
  )
    throw new CorruptFileError(
      modelPath,
      'not a TF.js layers model (modelTopology / weightsManifest missing)',
    );
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const path = join(dir, p);
      let bytes: Buffer;
      try {
        bytes = readFileSync(path);
      } catch (err) {
        throw new CorruptFileError(path, `cannot read weights (${(err as Error).message})`);
      }
      buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    }
  }
  const weightData = tf.io.CompositeArrayBuffer.join(buffers);
  // Plain 4-byte weights (what TF.js layers models hold unless quantised) must fill the file exactly.
  const plain = specs.every((s) => !s.quantization && (s.dtype === 'float32' || s.dtype === 'int32'));
  const expected = specs.reduce((n, s) => n + tf.util.sizeFromShape(s.shape) * 4, 0);
  if (plain && weightData.byteLength !== expected)
    throw new CorruptFileError(
      join(dir, WEIGHTS_FILE),
      `${weightData.byteLength} bytes, expected ${expected}`,
    );
  return tf.io.getModelArtifactsForJSONSync(json, specs, weightData);
}

/** Load a layers model saved by {@link saveModel}; HeadLayers come back with their weights and state. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory(readModelArtifacts(dir)));
}
