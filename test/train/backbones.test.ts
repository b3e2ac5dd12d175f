/**
 * Backbones: the fast-gradient 'same' convolution matches TF.js's own convolution gradients, and every
 * backbone maps its input to the requested embedding size with gradients for every trainable weight.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { unregisterNativeKernels } from '../../src/kernels/index.js';
import { createBackbone, LENETPP_CHANNELS, sameConv2d } from '../../src/train/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  // TF.js's own kernels are the reference here.
  unregisterNativeKernels(tf);
});

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];

describe('sameConv2d', () => {
  it.each([3, 5])('value and both gradients equal tf.conv2d (kernel side %i)', (k) => {
    const x = tf.randomNormal([2, 7, 6, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
    const w = tf.randomNormal([k, k, 3, 4], 0, 1, 'float32', 12) as tf.Tensor4D;
    const dy = tf.randomNormal([2, 7, 6, 4], 0, 1, 'float32', 13);
    const loss = (f: typeof sameConv2d) => (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), dy));
    const reference = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, 1, 'same');
    expect(maxDiff(sameConv2d(x, w), reference(x, w))).toBeLessThan(1e-5);
    const [gx, gw] = tf.grads(loss(sameConv2d))([x, w]);
    const [rx, rw] = tf.grads(loss(reference))([x, w]);
    // Sums of up to 2·7·6 products of unit normals: absolute error well under 1e-4.
    expect(maxDiff(gx, rx)).toBeLessThan(1e-4);
    expect(maxDiff(gw, rw)).toBeLessThan(1e-4);
  });
});

describe('backbones', () => {
  it('LeNet++ has the paper’s six 5×5 convolutions and a D-wide output', () => {
    const m = createBackbone('lenetpp', { inputShape: [28, 28, 1], embeddingDim: 3, seed: 1 });
    const kernels = m.trainableWeights.filter((w) => w.shape.length === 4).map((w) => w.shape);
    expect(kernels.map((s) => s[3])).toEqual(LENETPP_CHANNELS.flatMap((c) => [c, c]));
    expect(kernels.every((s) => s[0] === 5 && s[1] === 5)).toBe(true);
    expect(m.outputs[0].shape).toEqual([null, 3]);
    m.dispose();
  });

  it.each([
    ['resnet-lite', 28, 1, 2],
    ['mobilefacenet', 112, 3, 16],
  ] as const)(
    '%s on %i px, %i channel(s): B×D embeddings and a gradient for every weight',
    (name, size, channels, D) => {
      const m = createBackbone(name, {
        inputShape: [size, size, channels],
        embeddingDim: D,
        seed: 2,
        width: 0.125,
      });
      const x = tf.randomNormal([2, size, size, channels], 0, 1, 'float32', 3);
      const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads } = tf.variableGrads(
        () => tf.mean(tf.square(m.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
        vars,
      );
      expect((m.predict(x) as tf.Tensor).shape).toEqual([2, D]);
      expect(Object.keys(grads).length).toBe(vars.length);
      m.dispose();
    },
  );

  it('an unknown backbone is a typed error naming the choices', () => {
    expect(() => createBackbone('vgg', { inputShape: [28, 28, 1], embeddingDim: 2, seed: 0 })).toThrow(
      /unknown backbone 'vgg'.*lenetpp/,
    );
  });
});
