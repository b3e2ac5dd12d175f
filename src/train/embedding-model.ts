/**
 * One interface over the models `embed` and `eval --model` accept: a faceverloss run folder (the saved
 * model cut at the head's input), an insightface IResNet checkpoint (`.pth`/`.pt`) or an ONNX model
 * (`.onnx`, through the optional onnxruntime-web). Each embeds batches of NHWC float32 images already
 * normalised to [-1, 1] ((pixel/255 − 0.5)/0.5, RGB: how faceverloss trains and insightface feeds its
 * models).
 */
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CorruptFileError, InvalidArgumentError } from '../errors.js';
import { loadOnnxModel } from '../interop/onnx.js';
import { loadModel } from '../node/index.js';
import { MiB, readRegularFile } from '../regular-file.js';
import { HeadLayer } from '../tf/index.js';
import { isTorchCheckpointPath, loadTorchIResNet } from './pretrained.js';

/** A model that turns images into embeddings. */
export interface EmbeddingModel {
  /** What was loaded, for logs. */
  readonly description: string;
  /** Input height, width, channels. */
  readonly inputShape: readonly [number, number, number];
  /** Embeds `count` NHWC images; returns count × dim values. */
  embed(nhwc: Float32Array, count: number): Promise<{ data: Float32Array; dim: number }>;
  /** Frees the model's memory. */
  dispose(): void;
}

/** Input of ONNX models, which do not say it in a form we read: insightface's 112×112 RGB faces. */
const ONNX_INPUT: readonly [number, number, number] = [112, 112, 3];

/** Opens `path`: a run folder, a checkpoint folder, a `.pth`/`.pt` or an `.onnx` file. */
export async function openEmbeddingModel(path: string): Promise<EmbeddingModel> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new InvalidArgumentError('--model', 'a run folder, a .pth/.pt checkpoint or an .onnx model', path);
  }
  if (isTorchCheckpointPath(path)) return tfModel(loadTorchIResNet(path).model, `IResNet from ${path}`);
  if (extname(path).toLowerCase() === '.onnx') return onnxModel(path);
  const dir = existsSync(join(path, 'checkpoint', 'model.json')) ? join(path, 'checkpoint') : path;
  if (!existsSync(join(dir, 'model.json'))) {
    throw new InvalidArgumentError(
      '--model',
      'a run folder or checkpoint folder holding model.json, a .pth/.pt checkpoint or an .onnx model',
      path,
    );
  }
  const model = await loadModel(dir);
  const head = model.layers.find((l) => l instanceof HeadLayer);
  if (!head) throw new CorruptFileError(dir, 'the saved model has no faceverloss head layer');
  const embedding = tf.model({ inputs: model.inputs, outputs: head.input as tf.SymbolicTensor });
  return tfModel(embedding, `run ${path}`, () => model.dispose());
}

function tfModel(
  model: tf.LayersModel,
  description: string,
  dispose = () => model.dispose(),
): EmbeddingModel {
  const [, height, width, channels] = model.inputs[0].shape as number[];
  return {
    description,
    inputShape: [height, width, channels],
    async embed(nhwc, count) {
      const out = tf.tidy(() =>
        model.predict(tf.tensor4d(nhwc, [count, height, width, channels])),
      ) as tf.Tensor2D;
      const data = (await out.data()) as Float32Array;
      const dim = out.shape[1];
      out.dispose();
      return { data, dim };
    },
    dispose,
  };
}

async function onnxModel(path: string): Promise<EmbeddingModel> {
  const bytes = readRegularFile(path, { what: 'an ONNX model', maxBytes: 2048 * MiB });
  const model = await loadOnnxModel(bytes, path);
  const [height, width, channels] = ONNX_INPUT;
  return {
    description: `ONNX model ${path}`,
    inputShape: ONNX_INPUT,
    async embed(nhwc, count) {
      // NHWC → NCHW, the layout of PyTorch exports.
      const plane = height * width;
      const nchw = new Float32Array(nhwc.length);
      for (let n = 0; n < count; n++) {
        const o = n * plane * channels;
        for (let p = 0; p < plane; p++) {
          for (let c = 0; c < channels; c++) nchw[o + c * plane + p] = nhwc[o + p * channels + c];
        }
      }
      return model.run(nchw, [count, channels, height, width]);
    },
    dispose: () => {},
  };
}
