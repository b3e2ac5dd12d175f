/**
 * insightface IResNet checkpoints (`backbone.pth`) as TF.js models: read the state dict safely, infer
 * the architecture from its keys, build our IResNet and load the weights layer by layer (see
 * `src/interop/iresnet-weights.ts` for the layout changes). Used by `embed`/`eval --model x.pth` and by
 * `train --init x.pth`.
 */
import * as tf from '@tensorflow/tfjs';
import { CheckpointMismatchError, InvalidArgumentError } from '../errors.js';
import {
  checkIResNetKeys,
  describeArchitecture,
  type IResNetArchitecture,
  inferIResNet,
  iresnetLayerWeights,
  type LayerWeights,
} from '../interop/iresnet-weights.js';
import { readTorchCheckpoint } from '../interop/torch-checkpoint.js';
import { iresnet } from './backbones/iresnet.js';

/** Whether `path` names a PyTorch checkpoint (by its extension). */
export function isTorchCheckpointPath(path: string): boolean {
  return /\.(pth|pt)$/i.test(path);
}

/** An IResNet read from a PyTorch checkpoint. */
export interface PretrainedIResNet {
  readonly model: tf.LayersModel;
  readonly architecture: IResNetArchitecture;
}

/** Reads and checks the checkpoint at `path`: its architecture and per-layer weights. */
function readIResNetCheckpoint(path: string) {
  const { tensors } = readTorchCheckpoint(path);
  const architecture = inferIResNet(tensors, path);
  checkIResNetKeys(tensors, architecture, path);
  return { architecture, weights: iresnetLayerWeights(tensors, architecture) };
}

/** Builds the IResNet that the checkpoint at `path` holds, with its weights. */
export function loadTorchIResNet(path: string): PretrainedIResNet {
  const { architecture, weights } = readIResNetCheckpoint(path);
  const { inputSize, numFeatures, base, layers } = architecture;
  const model = iresnet(layers, {
    inputShape: [inputSize, inputSize, 3],
    embeddingDim: numFeatures,
    seed: 1,
    width: base / 64,
  });
  setLayerWeights(model, weights, path, describeArchitecture(architecture));
  return { model, architecture };
}

/**
 * Loads the IResNet checkpoint at `path` into `backbone` (a run's IResNet backbone, for `train --init`).
 * Returns what was loaded, for the log.
 */
export function initFromTorch(path: string, backbone: tf.LayersModel): string {
  if (backbone.name !== 'iresnet') {
    throw new InvalidArgumentError(
      '--init',
      'a run folder, or a PyTorch IResNet checkpoint with an IResNet --backbone (iresnet50, iresnet-A-B-C-D…)',
      path,
    );
  }
  const { architecture, weights } = readIResNetCheckpoint(path);
  const holds = describeArchitecture(architecture);
  const hint =
    `this run's backbone (the checkpoint holds ${holds}: use --backbone iresnet-${architecture.layers.join('-')} ` +
    `--embedding-dim ${architecture.numFeatures} --image-size ${architecture.inputSize}` +
    `${architecture.base === 64 ? '' : ` --width ${architecture.base / 64}`})`;
  setLayerWeights(backbone, weights, path, hint);
  return `backbone from ${path} (${holds})`;
}

/**
 * Sets each named layer's weights, matched by weight name (a layer lists trainable weights first, so
 * positions move when one is frozen); every layer or weight that is missing or of another shape is listed.
 */
function setLayerWeights(
  model: tf.LayersModel,
  weights: ReadonlyMap<string, LayerWeights[]>,
  source: string,
  network: string,
): void {
  const missing: string[] = [];
  const misshaped: string[] = [];
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const variable = (layer: tf.layers.Layer, name: string) =>
    layer.weights.find((w) => w.originalName.slice(w.originalName.lastIndexOf('/') + 1) === name);
  for (const [name, values] of weights) {
    const layer = byName.get(name);
    if (layer === undefined) {
      missing.push(name);
      continue;
    }
    for (const v of values) {
      const w = variable(layer, v.name);
      if (w === undefined || w.shape.join() !== v.shape.join()) {
        misshaped.push(
          `${name}/${v.name} [${v.shape.join(', ')}] (network: ${w ? `[${w.shape.join(', ')}]` : 'none'})`,
        );
      }
    }
    if (layer.weights.length !== values.length) misshaped.push(`${name} (${layer.weights.length} weights)`);
  }
  const unexpected = model.layers
    .filter((l) => l.weights.length > 0 && !weights.has(l.name))
    .map((l) => l.name);
  if (missing.length + misshaped.length + unexpected.length > 0) {
    // From the checkpoint's side: network layers it lacks are "missing", its layers the network lacks
    // are "unexpected".
    throw new CheckpointMismatchError(source, network, unexpected, missing, misshaped);
  }
  for (const [name, values] of weights) {
    const layer = byName.get(name)!;
    for (const v of values) {
      const t = tf.tensor(v.values, [...v.shape]);
      variable(layer, v.name)!.write(t);
      t.dispose();
    }
  }
}
