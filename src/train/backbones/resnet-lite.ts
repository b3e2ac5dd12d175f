/**
 * resnet-lite: a small residual network (three stages of two basic blocks, 16/32/64 channels times
 * `width`, 3×3 convolutions, batch norm, PReLU), average pooled and projected to the embedding. Sized
 * for 28×28 to 112×112 inputs on a CPU.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNorm } from './batch-norm.js';
import type { BackboneOptions } from './options.js';
import { SameConv2D } from './same-conv.js';

type T = tf.SymbolicTensor;

/** The resnet-lite embedding network as a tf.layers model. */
export function resnetLite(options: BackboneOptions): tf.LayersModel {
  const { inputShape, embeddingDim, seed } = options;
  const width = options.width ?? 1;
  let layer = 0;
  const bn = (x: T) => new BatchNorm({ epsilon: 1e-5 }).apply(x) as T;
  const prelu = (x: T) =>
    tf.layers
      .prelu({ sharedAxes: [1, 2], alphaInitializer: tf.initializers.constant({ value: 0.25 }) })
      .apply(x) as T;
  const conv3 = (x: T, filters: number) =>
    new SameConv2D({ filters, kernelSize: 3, useBias: false, seed: seed * 1000 + ++layer }).apply(x) as T;
  const pool = (x: T) => tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same' }).apply(x) as T;

  const input = tf.input({ shape: [...inputShape] });
  let x = prelu(bn(conv3(input, Math.max(4, Math.round(16 * width)))));
  // Large inputs (faces) are pooled early so the three stages see at most 28×28.
  while ((x.shape[1] as number) > 28) x = pool(x);
  [16, 32, 64].forEach((c, stage) => {
    const filters = Math.max(4, Math.round(c * width));
    if (stage > 0) x = pool(x);
    if ((x.shape[3] as number) !== filters) x = conv3(x, filters);
    for (let b = 0; b < 2; b++) {
      const y = bn(conv3(prelu(bn(conv3(x, filters))), filters));
      x = prelu(tf.layers.add().apply([x, y]) as T);
    }
  });
  x = tf.layers.globalAveragePooling2d({}).apply(x) as T;
  const output = tf.layers
    .dense({
      units: embeddingDim,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 1000 + ++layer }),
      name: 'embedding',
    })
    .apply(x) as T;
  return tf.model({ inputs: input, outputs: output, name: 'resnet_lite' });
}
