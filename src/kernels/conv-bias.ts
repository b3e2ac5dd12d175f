/**
 * A convolution and its bias as one kernel: {@link conv2dWithBias} runs the cpu backend's native
 * `FusedConv2D`, whose epilogue adds the bias while the output is in cache, instead of a convolution
 * and an `Add` pass over its output. TF.js's own `tf.fused.conv2d` would do the same forward, but its
 * gradient (a customGrad) computes the input gradient even where nothing needs it — a network's first
 * layer, whose input is the data. So the gradient registered here for `FusedConv2D` is TF.js's
 * `Conv2D` gradient, which computes only what is asked for, plus the bias's: the sum of dy over the
 * other axes, as `Add`'s gradient takes it. Values and gradients are those of conv2d then add, to the
 * bit. Only linear activations are registered for; anything else is left to TF.js's error.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from './backend-access.js';

const KERNEL = 'FusedConv2D';
/** The gradient function installed here, to recognise it whatever tfjs namespace is passed. */
const ours = new WeakSet<object>();

function gradientConfig(tf: Tf): TF.GradConfig | null {
  const conv = tf.getGradient('Conv2D');
  if (!conv) return null;
  const gradFunc: TF.GradConfig['gradFunc'] = (dy, saved, attrs) => {
    const single = Array.isArray(dy) ? dy[0] : dy;
    const { activation, dataFormat } = attrs as { activation?: string; dataFormat?: string };
    if ((activation ?? 'linear') !== 'linear' || (dataFormat ?? 'NHWC') !== 'NHWC') {
      throw new Error(`no gradient for ${KERNEL} with activation ${activation} in ${dataFormat}`);
    }
    const [x, filter, bias] = saved;
    const grads = conv.gradFunc(single, [x, filter], attrs);
    return {
      ...grads,
      bias: () => tf.reshape(tf.sum(single, [0, 1, 2]), bias.shape),
    };
  };
  ours.add(gradFunc);
  return { kernelName: KERNEL, inputsToSave: ['x', 'filter', 'bias'], gradFunc };
}

/** Registers the gradient of `FusedConv2D` described above, unless one is registered already. */
export function registerConvBiasGradient(tf: Tf): void {
  if (tf.getGradient(KERNEL)) return;
  const config = gradientConfig(tf);
  if (config) tf.registerGradient(config);
}

/** Removes the gradient {@link registerConvBiasGradient} registered. Idempotent. */
export function unregisterConvBiasGradient(tf: Tf): void {
  const grad = tf.getGradient(KERNEL);
  if (grad && ours.has(grad.gradFunc)) tf.unregisterGradient(KERNEL);
}

/**
 * `conv2d(x, filter, strides, pad) + bias` (NHWC, bias `[outChannels]`): one `FusedConv2D` and the
 * gradient above on the cpu backend while that gradient is registered (with the native kernels),
 * conv2d then add anywhere else.
 */
export function conv2dWithBias(
  tf: Tf,
  x: TF.Tensor4D,
  filter: TF.Tensor4D,
  bias: TF.Tensor1D,
  strides: number,
  pad: 'same' | 'valid',
): TF.Tensor4D {
  const grad = tf.getGradient(KERNEL);
  if (tf.getBackend() !== 'cpu' || !grad || !ours.has(grad.gradFunc)) {
    return tf.add(tf.conv2d(x, filter, strides, pad), bias);
  }
  return tf.engine().runKernel(KERNEL, { x, filter, bias }, {
    strides,
    pad,
    dataFormat: 'NHWC',
    dilations: 1,
    activation: 'linear',
  } as unknown as TF.NamedAttrMap) as TF.Tensor4D;
}
