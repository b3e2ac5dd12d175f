/**
 * MobileFaceNet (Chen et al., "MobileFaceNets: Efficient CNNs for Accurate Real-Time Face Verification
 * on Mobile Devices", 2018) for 112×112 faces: 3×3 conv, depthwise conv, inverted-residual bottlenecks
 * (expansion 2 then 4), 1×1 conv to 512, a global depthwise conv (GDConv) over the final 7×7 map and a
 * linear 1×1 projection to the embedding (128-d in the paper; 512-d in insightface), batch-normalised.
 * `width` scales the channel counts.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNorm } from './batch-norm.js';
import type { BackboneOptions } from './options.js';

type T = tf.SymbolicTensor;

/** Bottleneck stages of the paper: expansion t, output channels c, repeats n, first stride s. */
const STAGES: readonly [number, number, number, number][] = [
  [2, 64, 5, 2],
  [4, 128, 1, 2],
  [2, 128, 6, 1],
  [4, 128, 1, 2],
  [2, 128, 2, 1],
];

/** The MobileFaceNet embedding network as a tf.layers model. */
export function mobilefacenet(options: BackboneOptions): tf.LayersModel {
  const { inputShape, embeddingDim, seed } = options;
  const width = options.width ?? 1;
  const ch = (c: number) => Math.max(8, Math.round(c * width));
  let layer = 0;
  const init = () => tf.initializers.heNormal({ seed: seed * 1000 + ++layer });
  const bn = (x: T) => new BatchNorm({ epsilon: 1e-5 }).apply(x) as T;
  const prelu = (x: T) =>
    tf.layers
      .prelu({ sharedAxes: [1, 2], alphaInitializer: tf.initializers.constant({ value: 0.25 }) })
      .apply(x) as T;
  const conv = (x: T, filters: number, k: number, stride: number, act = true) => {
    const y = bn(
      tf.layers
        .conv2d({
          filters,
          kernelSize: k,
          strides: stride,
          padding: 'same',
          useBias: false,
          kernelInitializer: init(),
        })
        .apply(x) as T,
    );
    return act ? prelu(y) : y;
  };
  const dw = (x: T, k: number, stride: number, act = true, padding: 'same' | 'valid' = 'same') => {
    const y = bn(
      tf.layers
        .depthwiseConv2d({
          kernelSize: k,
          strides: stride,
          padding,
          useBias: false,
          depthwiseInitializer: init(),
        })
        .apply(x) as T,
    );
    return act ? prelu(y) : y;
  };

  const input = tf.input({ shape: [...inputShape] });
  let x = conv(input, ch(64), 3, 2);
  x = dw(x, 3, 1);
  for (const [t, c, n, s] of STAGES) {
    for (let i = 0; i < n; i++) {
      const inC = x.shape[3] as number;
      const stride = i === 0 ? s : 1;
      let y = conv(x, inC * t, 1, 1);
      y = dw(y, 3, stride);
      y = conv(y, ch(c), 1, 1, false);
      x = stride === 1 && inC === ch(c) ? (tf.layers.add().apply([x, y]) as T) : y;
    }
  }
  x = conv(x, ch(512), 1, 1);
  // GDConv: a depthwise convolution as large as the remaining feature map, then a linear projection.
  const side = x.shape[1] as number;
  x = dw(x, side, 1, false, 'valid');
  x = conv(x, embeddingDim, 1, 1, false);
  const output = tf.layers.flatten({ name: 'embedding' }).apply(x) as T;
  return tf.model({ inputs: input, outputs: output, name: 'mobilefacenet' });
}
