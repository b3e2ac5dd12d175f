/**
 * A stride-1 'same' convolution layer whose gradients are computed with operations every TF.js
 * backend runs fast: the input gradient as a forward convolution with the flipped kernel, the
 * kernel gradient as one matrix product per kernel tap. TF.js 4.22's own Conv2DBackpropFilter is a
 * scalar loop (tens of seconds per LeNet++ step on the cpu backend; the wasm backend has none), so
 * LeNet++ and resnet-lite use this layer for their 3×3 / 5×5 convolutions. When the native engine's
 * cpu kernels are registered, TF.js's own gradient path is used (those kernels make it fast), and the
 * bias is added by the convolution kernel itself rather than by a second pass (`conv2dWithBias`).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dWithBias, nativeKernelActive } from '../../kernels/index.js';

/** Whether the active backend's own convolution gradients are fast (the native engine's cpu kernels). */
function nativeConvGradients(): boolean {
  return tf.getBackend() === 'cpu' && nativeKernelActive(tf, 'Conv2DBackpropFilter');
}

/** conv2d(x, w, stride 1, 'same') with the fast gradients described in the module doc. */
export function sameConv2d(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  if (nativeConvGradients()) return tf.conv2d(x, w, 1, 'same');
  const op = tf.customGrad((xi, wi, save) => {
    const xs = xi as tf.Tensor4D;
    const ws = wi as tf.Tensor4D;
    (save as unknown as (t: tf.Tensor[]) => void)([xs, ws]);
    return {
      value: tf.conv2d(xs, ws, 1, 'same'),
      gradFunc: (dy, saved) => {
        const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
        const g = dy as tf.Tensor4D;
        const [kh, kw, ci, co] = sw.shape;
        const [n, h, wd] = sx.shape;
        // d/dx: correlate dy with the kernel rotated by 180° and its channel axes swapped.
        const flipped = tf.transpose(tf.reverse(sw, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
        const dx = tf.conv2d(g, flipped, 1, 'same');
        // d/dw[i, j]: Σ over batch and positions of the input shifted by tap (i, j) times dy.
        const top = Math.floor((kh - 1) / 2);
        const left = Math.floor((kw - 1) / 2);
        const padded = tf.pad(sx, [
          [0, 0],
          [top, kh - 1 - top],
          [left, kw - 1 - left],
          [0, 0],
        ]);
        const dy2 = tf.reshape(g, [n * h * wd, co]) as tf.Tensor2D;
        const taps: tf.Tensor[] = [];
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const shifted = tf.reshape(tf.slice(padded, [0, i, j, 0], [n, h, wd, ci]), [n * h * wd, ci]);
            taps.push(tf.matMul(shifted as tf.Tensor2D, dy2, true, false));
          }
        }
        const dw = tf.reshape(tf.stack(taps), [kh, kw, ci, co]);
        return [dx, dw];
      },
    };
  });
  return op(x, w) as tf.Tensor4D;
}

/** Constructor arguments of {@link SameConv2D}. */
export interface SameConv2DArgs {
  filters: number;
  kernelSize: number;
  /** Seed of the He-normal kernel initialiser. */
  seed?: number;
  useBias?: boolean;
  name?: string;
}

type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;

/** Stride-1 'same' 2-D convolution (odd square kernel) as a serialisable layer. */
export class SameConv2D extends tf.layers.Layer {
  /** Name under which the class is registered for deserialisation. */
  static className = 'FaceVerLossSameConv2D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly seed: number;
  readonly useBias: boolean;
  private kernel: LayerVariable | null = null;
  private bias: LayerVariable | null = null;

  constructor(args: SameConv2DArgs) {
    super({ name: args.name });
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.seed = args.seed ?? 0;
    this.useBias = args.useBias ?? true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const ci = shape[3] as number;
    const k = this.kernelSize;
    this.kernel = this.addWeight(
      'kernel',
      [k, k, ci, this.filters],
      'float32',
      tf.initializers.heNormal({ seed: this.seed }),
    );
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], shape[1], shape[2], this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const w = this.kernel!.read() as tf.Tensor4D;
      if (this.bias && nativeConvGradients()) {
        return conv2dWithBias(tf, x, w, this.bias.read() as tf.Tensor1D, 1, 'same');
      }
      const y = sameConv2d(x, w);
      return this.bias ? tf.add(y, this.bias.read()) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      seed: this.seed,
      useBias: this.useBias,
    };
  }
}
tf.serialization.registerClass(SameConv2D);
