/**
 * The SameConv2D layer with a bias on the native kernels: the bias is added inside the convolution kernel
 * (one FusedConv2D, no Add), with the values and gradients of a convolution followed by an add, to the bit,
 * and only the gradients asked for are computed; without the native kernels it is a convolution and an add.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/index.js';
import { conv2dWithBias, registerNativeKernels, unregisterNativeKernels } from '../../src/kernels/index.js';
import { SameConv2D } from '../../src/train/backbones/same-conv.js';
import { onCpuBackend, rng, tensorOf } from '../helpers/tf-kernels.js';

const next = rng(20261207);
const random = (shape: number[]) => tensorOf(shape, next);

describe.skipIf(!loadEngine())('SameConv2D with a bias on the native kernels', () => {
  onCpuBackend();

  it.each([
    { shape: [3, 9, 7, 2], filters: 5, kernelSize: 5 },
    { shape: [2, 6, 11, 4], filters: 8, kernelSize: 3 },
    { shape: [1, 4, 4, 1], filters: 1, kernelSize: 3 },
  ])(
    'is one fused kernel, equal to conv2d then add: $shape → $filters',
    async ({ shape, filters, kernelSize }) => {
      expect(registerNativeKernels(tf)).toBe(true);
      const layer = new SameConv2D({ filters, kernelSize, seed: 3 });
      const x = random(shape) as tf.Tensor4D;
      layer.apply(x); // builds the weights
      layer.setWeights([layer.getWeights()[0], random([filters])]);
      const [w, b] = layer.getWeights() as [tf.Tensor4D, tf.Tensor1D];
      const probe = random([shape[0], shape[1], shape[2], filters]);

      const profile = await tf.profile(() => layer.apply(x, { training: true }) as tf.Tensor);
      const names = profile.kernels.map((k) => k.name);
      expect(names).toContain('FusedConv2D');
      expect(names).not.toContain('Add');

      const reference = (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(tf.add(tf.conv2d(a as tf.Tensor4D, k as tf.Tensor4D, 1, 'same'), c), probe));
      const viaLayer = (a: tf.Tensor) =>
        tf.sum(tf.mul(layer.apply(a, { training: true }) as tf.Tensor, probe));
      expect((layer.apply(x) as tf.Tensor).dataSync()).toEqual(
        tf.add(tf.conv2d(x, w, 1, 'same'), b).dataSync(),
      );
      const [rx, rw, rb] = tf.grads(reference)([x, w, b]);
      const gx = tf.grad(viaLayer)(x);
      const { grads } = tf.variableGrads(() => viaLayer(x) as tf.Scalar);
      const [kernelName, biasName] = layer.trainableWeights.map((v) => v.originalName);
      expect(gx.dataSync()).toEqual(rx.dataSync());
      expect(grads[kernelName].dataSync()).toEqual(rw.dataSync());
      expect(grads[biasName].dataSync()).toEqual(rb.dataSync());
    },
  );

  it('computes no input gradient where none is asked for (a first layer)', async () => {
    expect(registerNativeKernels(tf)).toBe(true);
    const layer = new SameConv2D({ filters: 4, kernelSize: 5, seed: 4 });
    const x = random([2, 8, 8, 1]) as tf.Tensor4D;
    layer.apply(x);
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(layer.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
      );
      return [value, ...Object.values(grads)];
    });
    const names = profile.kernels.map((k) => k.name);
    expect(names).toContain('Conv2DBackpropFilter');
    expect(names).not.toContain('Conv2DBackpropInput');
  });

  it('is a convolution and an add without the native kernels, with equal values', () => {
    const x = random([2, 5, 6, 3]) as tf.Tensor4D;
    const w = random([3, 3, 3, 2]) as tf.Tensor4D;
    const b = random([2]) as tf.Tensor1D;
    expect(registerNativeKernels(tf)).toBe(true);
    const fused = conv2dWithBias(tf, x, w, b, 1, 'same').dataSync();
    unregisterNativeKernels(tf);
    const plain = conv2dWithBias(tf, x, w, b, 1, 'same');
    expect(plain.dataSync()).toEqual(tf.add(tf.conv2d(x, w, 1, 'same'), b).dataSync());
    // TF.js's own convolution sums in another order: equal to float32 rounding.
    const scale = Math.max(...Array.from(plain.dataSync(), Math.abs));
    Array.from(plain.dataSync()).forEach((v, i) => {
      expect(Math.abs(v - fused[i])).toBeLessThanOrEqual(1e-5 * scale);
    });
  });
});
