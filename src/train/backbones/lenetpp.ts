/**
 * LeNet++ (Wen et al., "A Discriminative Feature Learning Approach for Deep Face Recognition",
 * ECCV 2016, the Center Loss paper's MNIST network): three stages of two 5×5 convolutions with PReLU,
 * each followed by 2×2 max pooling (32, 64, 128 channels), then a fully connected layer to the
 * embedding (2-D or 3-D so the features can be drawn).
 *
 * `width` scales every stage's channel count (1 = the paper's 32/64/128); a narrower net trains faster
 * on CPUs and keeps the same shape of features.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackboneOptions } from './options.js';
import { SameConv2D } from './same-conv.js';

/** Channel counts of the paper's three stages. */
export const LENETPP_CHANNELS = [32, 64, 128] as const;

/** The LeNet++ embedding network as a tf.layers model: N×H×W×C images → N×D embeddings. */
export function lenetpp(options: BackboneOptions): tf.LayersModel {
  const { inputShape, embeddingDim, seed } = options;
  const width = options.width ?? 1;
  // Seeds differ per layer so no two kernels start equal, and stay a pure function of `seed`; they
  // start at 1 because TF.js initialisers treat seed 0 as unseeded.
  let layer = 0;
  const input = tf.input({ shape: [...inputShape] });
  let x: tf.SymbolicTensor = input;
  for (const channels of LENETPP_CHANNELS) {
    const filters = Math.max(1, Math.round(channels * width));
    for (let k = 0; k < 2; k++) {
      x = new SameConv2D({ filters, kernelSize: 5, seed: seed * 1000 + ++layer }).apply(
        x,
      ) as tf.SymbolicTensor;
      x = tf.layers
        .prelu({ sharedAxes: [1, 2], alphaInitializer: tf.initializers.constant({ value: 0.25 }) })
        .apply(x) as tf.SymbolicTensor;
    }
    x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({
      units: embeddingDim,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 1000 + ++layer }),
      name: 'embedding',
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'lenetpp' });
}
