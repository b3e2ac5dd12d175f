/**
 * A model (run folder, `.pth` or `.onnx`; see embedding-model.ts) as an embedding function of encoded
 * images for `faceverloss eval --model MODEL --bin FILE` and `embed`: images decoded to the model's input
 * size as RGB, mirrored when asked, and scaled to [-1, 1] ((pixel/255 − 0.5)/0.5) exactly as training
 * batches are and as insightface feeds its models.
 */
import { decodeImage } from '../data/decode.js';
import { flipHorizontal } from '../data/pixels.js';
import type { BinEmbedder } from '../eval/evaluate-bin.js';
import { type EmbeddingModel, openEmbeddingModel } from './embedding-model.js';

/** Decodes and normalises encoded images (or image files) for `model`, mirrored when `flip` is set. */
export async function imagePixels(
  model: EmbeddingModel,
  images: readonly (Uint8Array | string)[],
  flip: boolean,
  names: (i: number) => string = (i) => `image ${i}`,
): Promise<Float32Array> {
  const [height, width, channels] = model.inputShape;
  const shape = { height, width, channels: channels as 1 | 3 };
  const pixels = new Float32Array(images.length * height * width * channels);
  for (let i = 0; i < images.length; i++) {
    let img = await decodeImage(images[i], shape, names(i));
    if (flip) img = flipHorizontal(img, height, width, channels);
    for (let k = 0; k < img.length; k++) pixels[i * img.length + k] = (img[k] - 127.5) / 127.5;
  }
  return pixels;
}

/** `model` as a {@link BinEmbedder}. */
export function imageEmbedder(model: EmbeddingModel): BinEmbedder {
  return async (images, request) => {
    const pixels = await imagePixels(model, images, request.flip);
    const { data, dim } = await model.embed(pixels, images.length);
    return Array.from({ length: images.length }, (_, i) => data.subarray(i * dim, (i + 1) * dim));
  };
}

/** Loads a run folder, checkpoint folder, `.pth`/`.pt` or `.onnx` model as a {@link BinEmbedder}. */
export async function loadRunEmbedder(run: string): Promise<BinEmbedder> {
  return imageEmbedder(await openEmbeddingModel(run));
}
