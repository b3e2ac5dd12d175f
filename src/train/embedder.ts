/**
 * A trained run as an embedding function for `faceverloss eval --model RUN --bin FILE`: the saved
 * model cut at the head's input (the embedding), images decoded and resized to the model's input and
 * scaled to [-1, 1] exactly as training batches are.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../data/decode.js';
import { flipHorizontal } from '../data/pixels.js';
import { CorruptFileError, InvalidArgumentError } from '../errors.js';
import type { BinEmbedder } from '../eval/evaluate-bin.js';
import { loadModel } from '../node/index.js';
import { HeadLayer } from '../tf/index.js';

/** Load `RUN/checkpoint` (or a checkpoint folder itself) as a {@link BinEmbedder}. */
export async function loadRunEmbedder(run: string): Promise<BinEmbedder> {
  const dir = existsSync(join(run, 'checkpoint', 'model.json')) ? join(run, 'checkpoint') : run;
  if (!existsSync(join(dir, 'model.json'))) {
    throw new InvalidArgumentError('--model', 'a run folder or checkpoint folder holding model.json', run);
  }
  const model = await loadModel(dir);
  const head = model.layers.find((l) => l instanceof HeadLayer);
  if (!head) throw new CorruptFileError(dir, 'the saved model has no faceverloss head layer');
  const embedding = tf.model({ inputs: model.inputs, outputs: head.input as tf.SymbolicTensor });
  const [, height, width, channels] = model.inputs[0].shape as number[];
  const shape = { height, width, channels: channels as 1 | 3 };
  return async (images, request) => {
    const pixels = new Float32Array(images.length * height * width * channels);
    for (let i = 0; i < images.length; i++) {
      let img = await decodeImage(images[i], shape, `image ${i}`);
      if (request.flip) img = flipHorizontal(img, height, width, channels);
      // The training pixel range: (p − 127.5) / 127.5.
      for (let k = 0; k < img.length; k++) pixels[i * img.length + k] = (img[k] - 127.5) / 127.5;
    }
    const out = tf.tidy(() =>
      embedding.predict(tf.tensor4d(pixels, [images.length, height, width, channels])),
    ) as tf.Tensor2D;
    const rows = (await out.array()) as number[][];
    out.dispose();
    return rows;
  };
}
