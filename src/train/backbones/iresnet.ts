/**
 * IResNet (Deng et al., ArcFace, CVPR 2019; insightface's `recognition/arcface_torch/backbones/
 * iresnet.py`), layer for layer, so insightface checkpoints load by name:
 *
 * - stem: conv3×3 (64) → BN → PReLU, at full resolution;
 * - four stages of pre-activation `IBasicBlock`s (64, 128, 256, 512 channels), each stage halving the
 *   side: BN → conv3×3 → BN → PReLU → conv3×3 (stride 2 in a stage's first block) → BN, plus the
 *   shortcut, a 1×1 conv (stride 2) + BN in the first block;
 * - BN → flatten (7×7×512 for 112×112 faces) → fc → BatchNorm1d `features` whose gamma stays at 1.
 *
 * Batch norms use eps 1e-5 and PyTorch's momentum 0.1 (0.9 here, the weight of the old value). Stride-2
 * convolutions pad one pixel on every side as PyTorch does (TF's 'same' would pad only bottom/right),
 * so they are a zero-padding layer and a 'valid' convolution. Layers are named after the state-dict
 * keys of insightface (`layer2.0.downsample.0`), which the checkpoint reader maps onto.
 *
 * `width` scales the stage widths (1 = insightface's); `flatten` is NHWC, so a PyTorch `fc.weight`
 * (whose input is the NCHW flattening) is permuted when loaded, never transposed at run time.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNorm } from './batch-norm.js';
import type { BackboneOptions } from './options.js';

export { IRESNET_CUSTOM, IRESNET_DEPTHS, iresnetLayers } from './iresnet-names.js';

type T = tf.SymbolicTensor;

/** Channels of the stem for a width multiplier (64 at width 1). */
export function iresnetBase(width = 1): number {
  return Math.max(1, Math.round(64 * width));
}

/** An IResNet with `layers` blocks per stage as a tf.layers model: N×H×W×3 in [-1, 1] → N×D. */
export function iresnet(layers: readonly number[], options: BackboneOptions): tf.LayersModel {
  const { inputShape, embeddingDim, seed } = options;
  const base = iresnetBase(options.width);
  let seeds = 0;
  const init = () => tf.initializers.heNormal({ seed: seed * 1000 + ++seeds });
  const bn = (x: T, name: string) => new BatchNorm({ epsilon: 1e-5, momentum: 0.9, name }).apply(x) as T;
  const prelu = (x: T, name: string) =>
    tf.layers
      .prelu({ sharedAxes: [1, 2], alphaInitializer: tf.initializers.constant({ value: 0.25 }), name })
      .apply(x) as T;
  const conv = (x: T, filters: number, kernelSize: number, stride: number, name: string) => {
    // PyTorch's padding=1 (3×3) or 0 (1×1) on every side.
    const padded =
      stride === 1 || kernelSize === 1
        ? x
        : (tf.layers.zeroPadding2d({ padding: 1, name: `${name}.pad` }).apply(x) as T);
    return tf.layers
      .conv2d({
        filters,
        kernelSize,
        strides: stride,
        padding: stride === 1 ? 'same' : 'valid',
        useBias: false,
        kernelInitializer: init(),
        name,
      })
      .apply(padded) as T;
  };

  const input = tf.input({ shape: [...inputShape] });
  let x = prelu(bn(conv(input, base, 3, 1, 'conv1'), 'bn1'), 'prelu');
  layers.forEach((blocks, stage) => {
    const planes = base * 2 ** stage;
    for (let b = 0; b < blocks; b++) {
      const p = `layer${stage + 1}.${b}`;
      const stride = b === 0 ? 2 : 1;
      let y = conv(bn(x, `${p}.bn1`), planes, 3, 1, `${p}.conv1`);
      y = prelu(bn(y, `${p}.bn2`), `${p}.prelu`);
      y = bn(conv(y, planes, 3, stride, `${p}.conv2`), `${p}.bn3`);
      const shortcut = b === 0 ? bn(conv(x, planes, 1, 2, `${p}.downsample.0`), `${p}.downsample.1`) : x;
      x = tf.layers.add({ name: `${p}.add` }).apply([y, shortcut]) as T;
    }
  });
  x = tf.layers.flatten({ name: 'flatten' }).apply(bn(x, 'bn2')) as T;
  x = tf.layers
    .dense({
      units: embeddingDim,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 1000 + ++seeds }),
      name: 'fc',
    })
    .apply(x) as T;
  const output = new BatchNorm({
    epsilon: 1e-5,
    momentum: 0.9,
    trainableGamma: false,
    name: 'features',
  }).apply(x) as T;
  return tf.model({ inputs: input, outputs: output, name: 'iresnet' });
}
