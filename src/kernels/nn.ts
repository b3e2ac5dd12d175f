/**
 * TF.js `cpu` kernels for the element-wise, pooling and depthwise layers of convolutional backbones:
 * `Prelu`, `MaxPool`, `MaxPoolGrad` and depthwise convolution with both its gradients (NHWC, float32),
 * run by the native engine on its thread pool.
 *
 * The PReLU gradient TF.js registers is built from ops (greater, where, mul, sum), several passes over
 * the activations; while these kernels are registered it is replaced by one that runs a fused native
 * kernel ({@link PRELU_GRAD_KERNEL}) producing dx and dalpha in one pass, and the per-channel sums of
 * dx for a later bias gradient (`channel-sums.ts`). It does so only on the cpu
 * backend with the kernel in place and a per-channel (or scalar) alpha, and defers to the original
 * gradient otherwise. Cases the kernels do not cover — other dtypes, alpha that broadcasts along other
 * axes, NCHW, dilated depthwise gradients (TF.js's own ignore dilation), empty tensors — go to the kernel registered before, kept so {@link unregisterNnKernels} can put
 * it back. The fused gradient kernel has no gradient itself: second derivatives through PReLU need the
 * original kernels.
 */
import type * as TF from '@tensorflow/tfjs';
import { loadEngine, type NativeBinding } from '../engine/native.js';
import {
  type CpuBackend,
  fallBackOn,
  floats,
  type KernelArgs,
  type KernelConfig,
  kernelIsOurs,
  outputFloats,
  replaceKernels,
  restoreKernels,
  size,
  type TensorInfo,
  type Tf,
} from './backend-access.js';
import { rememberChannelSums } from './channel-sums.js';

/** Kernels {@link registerNnKernels} replaces on the cpu backend. */
export const NN_KERNEL_NAMES = [
  'Prelu',
  'MaxPool',
  'MaxPoolGrad',
  'DepthwiseConv2dNative',
  'DepthwiseConv2dNativeBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
] as const;

/** One of {@link NN_KERNEL_NAMES}. */
export type NnKernelName = (typeof NN_KERNEL_NAMES)[number];

/** Kernel registered for the fused PReLU gradient: inputs `dy`, `x`, `alpha`; outputs `[dx, dalpha]`. */
export const PRELU_GRAD_KERNEL = 'FvlPreluGrad';

/** Kernel and gradient functions installed here, to recognise them whatever tfjs namespace is passed. */
const ours = new WeakSet<object>();
/** The kernels that were registered before ours, by name. */
const previous = new Map<NnKernelName, KernelConfig>();
/** The PReLU gradient that was registered before ours. */
let previousGrad: TF.GradConfig | undefined;

/**
 * Channels of a PReLU whose alpha runs along the last axis of x (shape `[C]`, `[1, …, 1, C]`) or is one
 * value (channels 1), so x is `rows` rows of `channels`; null for any other broadcast.
 */
function preluChannels(xShape: readonly number[], alphaShape: readonly number[]): number | null {
  const n = size(xShape);
  const a = size(alphaShape);
  if (n === 0 || alphaShape.length > xShape.length) return null;
  if (a === 1) return 1;
  const last = xShape[xShape.length - 1];
  if (alphaShape[alphaShape.length - 1] !== last || a !== last) return null;
  return last;
}

function fallback(name: NnKernelName, args: KernelArgs): TensorInfo | TensorInfo[] {
  return fallBackOn(previous, name, args);
}

function prelu(engine: NativeBinding, args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { x, alpha } = args.inputs;
  const X = floats(backend, x);
  const A = floats(backend, alpha);
  const channels = X && A && x && alpha ? preluChannels(x.shape, alpha.shape) : null;
  if (!X || !A || channels === null) return fallback('Prelu', args);
  const Y = outputFloats(X.length);
  engine.preluForward(X, A, Y, X.length / channels, channels);
  return backend.makeTensorInfo([...x!.shape], 'float32', Y);
}

function preluGrad(engine: NativeBinding, args: KernelArgs): TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { dy, x, alpha } = args.inputs;
  const D = floats(backend, dy);
  const X = floats(backend, x);
  const A = floats(backend, alpha);
  const channels = X && A && x && alpha ? preluChannels(x.shape, alpha.shape) : null;
  // The gradient function checks all of this before running the kernel; a direct caller gets an error.
  if (!D || !X || !A || channels === null || D.length !== X.length) {
    throw new Error(`${PRELU_GRAD_KERNEL} needs float32 dy and x of one shape and a per-channel alpha`);
  }
  const dX = outputFloats(X.length);
  const dA = new Float32Array(A.length);
  // Sums of dx per channel for the bias gradient of the layer below (see channel-sums.ts).
  const dXSums = new Float32Array(channels);
  engine.preluBackward(D, X, A, dX, dA, X.length / channels, channels, dXSums);
  const dx = backend.makeTensorInfo([...x!.shape], 'float32', dX);
  rememberChannelSums(dx, dXSums);
  return [dx, backend.makeTensorInfo([...alpha!.shape], 'float32', dA)];
}

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | TF.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The binding's pooling geometry for an NHWC input, or null when there is nothing to pool. */
function poolGeometry(
  tf: Tf,
  xShape: number[],
  attrs: PoolAttrs,
): { geometry: number[]; out: number[] } | null {
  if (xShape.length !== 4 || size(xShape) === 0) return null;
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  if (info.outHeight <= 0 || info.outWidth <= 0) return null;
  return {
    geometry: [
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outHeight,
      info.outWidth,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
    ],
    out: [...info.outShape],
  };
}

function maxPool(tf: Tf, engine: NativeBinding, args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { x } = args.inputs;
  const X = floats(backend, x);
  const pool = X && x ? poolGeometry(tf, x.shape, args.attrs as unknown as PoolAttrs) : null;
  if (!X || !pool) return fallback('MaxPool', args);
  const Y = outputFloats(size(pool.out));
  engine.maxPool(X, Y, pool.geometry);
  return backend.makeTensorInfo(pool.out, 'float32', Y);
}

function maxPoolGrad(tf: Tf, engine: NativeBinding, args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { dy, input } = args.inputs;
  const D = floats(backend, dy);
  const X = floats(backend, input);
  const pool = D && X && input ? poolGeometry(tf, input.shape, args.attrs as unknown as PoolAttrs) : null;
  if (!D || !X || !pool || D.length !== size(pool.out)) return fallback('MaxPoolGrad', args);
  const dX = outputFloats(X.length);
  engine.maxPoolGrad(D, X, dX, pool.geometry);
  return backend.makeTensorInfo([...input!.shape], 'float32', dX);
}

interface DepthwiseAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | TF.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface DepthwiseGeometry {
  geometry: number[];
  out: number[];
  dilated: boolean;
}

/** The binding's geometry for an NHWC depthwise convolution, or null for other layouts or empty tensors. */
function depthwiseGeometry(
  tf: Tf,
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: DepthwiseAttrs,
): DepthwiseGeometry | null {
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || xShape.length !== 4 || filterShape.length !== 4) return null;
  if (size(xShape) === 0 || size(filterShape) === 0 || xShape[3] !== filterShape[2]) return null;
  const info = tf.backend_util.computeConv2DInfo(
    [...xShape] as [number, number, number, number],
    [...filterShape] as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  if (info.outHeight <= 0 || info.outWidth <= 0) return null;
  return {
    geometry: [
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      filterShape[3],
      info.outHeight,
      info.outWidth,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.dilationHeight,
      info.dilationWidth,
      info.padInfo.top,
      info.padInfo.left,
    ],
    out: [...info.outShape],
    dilated: info.dilationHeight !== 1 || info.dilationWidth !== 1,
  };
}

function depthwiseConv(tf: Tf, engine: NativeBinding, args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { x, filter } = args.inputs;
  const X = floats(backend, x);
  const W = floats(backend, filter);
  const attrs = args.attrs as unknown as DepthwiseAttrs;
  const g = X && W && x && filter ? depthwiseGeometry(tf, x.shape, filter.shape, attrs) : null;
  if (!X || !W || !g) return fallback('DepthwiseConv2dNative', args);
  const Y = outputFloats(size(g.out));
  engine.depthwiseConv(X, W, Y, g.geometry);
  return backend.makeTensorInfo(g.out, 'float32', Y);
}

function depthwiseGradInput(tf: Tf, engine: NativeBinding, args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { dy, filter } = args.inputs;
  const D = floats(backend, dy);
  const W = floats(backend, filter);
  const attrs = args.attrs as unknown as DepthwiseAttrs & { inputShape: number[] };
  const g = D && W && filter ? depthwiseGeometry(tf, attrs.inputShape, filter.shape, attrs) : null;
  if (!D || !W || !g || g.dilated || D.length !== size(g.out)) {
    return fallback('DepthwiseConv2dNativeBackpropInput', args);
  }
  const dX = outputFloats(size(attrs.inputShape));
  engine.depthwiseConvGradInput(D, W, dX, g.geometry);
  return backend.makeTensorInfo([...attrs.inputShape], 'float32', dX);
}

function depthwiseGradFilter(tf: Tf, engine: NativeBinding, args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { x, dy } = args.inputs;
  const X = floats(backend, x);
  const D = floats(backend, dy);
  const attrs = args.attrs as unknown as DepthwiseAttrs & { filterShape: number[] };
  const g = X && D && x ? depthwiseGeometry(tf, x.shape, attrs.filterShape, attrs) : null;
  if (!X || !D || !g || g.dilated || D.length !== size(g.out)) {
    return fallback('DepthwiseConv2dNativeBackpropFilter', args);
  }
  const dW = outputFloats(size(attrs.filterShape));
  engine.depthwiseConvGradFilter(X, D, dW, g.geometry);
  return backend.makeTensorInfo([...attrs.filterShape], 'float32', dW);
}

function kernelFor(tf: Tf, engine: NativeBinding, name: NnKernelName): TF.KernelFunc {
  const kernels: Record<NnKernelName, (args: KernelArgs) => TensorInfo | TensorInfo[]> = {
    Prelu: (args) => prelu(engine, args),
    MaxPool: (args) => maxPool(tf, engine, args),
    MaxPoolGrad: (args) => maxPoolGrad(tf, engine, args),
    DepthwiseConv2dNative: (args) => depthwiseConv(tf, engine, args),
    DepthwiseConv2dNativeBackpropInput: (args) => depthwiseGradInput(tf, engine, args),
    DepthwiseConv2dNativeBackpropFilter: (args) => depthwiseGradFilter(tf, engine, args),
  };
  return kernels[name] as TF.KernelFunc;
}

/** Whether the fused PReLU gradient kernel can take these saved tensors now. */
function fusedGradApplies(tf: Tf, dy: TF.Tensor, x: TF.Tensor, alpha: TF.Tensor): boolean {
  if (tf.getBackend() !== 'cpu') return false;
  const kernel = tf.getKernel(PRELU_GRAD_KERNEL, 'cpu');
  if (!kernel || !ours.has(kernel.kernelFunc)) return false;
  if (dy.dtype !== 'float32' || x.dtype !== 'float32' || alpha.dtype !== 'float32') return false;
  if (!tf.util.arraysEqual(dy.shape, x.shape)) return false;
  return preluChannels(x.shape, alpha.shape) !== null;
}

function preluGradConfig(tf: Tf, original: TF.GradConfig): TF.GradConfig {
  const gradFunc: TF.GradConfig['gradFunc'] = (dy, saved, attrs) => {
    const [x, alpha] = saved;
    const single = Array.isArray(dy) ? null : dy;
    if (!single || !x || !alpha || !fusedGradApplies(tf, single, x, alpha)) {
      return original.gradFunc(dy, saved, attrs);
    }
    const [dx, dalpha] = tf.engine().runKernel(PRELU_GRAD_KERNEL, { dy: single, x, alpha }) as TF.Tensor[];
    return { x: () => dx, alpha: () => dalpha };
  };
  ours.add(gradFunc);
  return { ...original, kernelName: 'Prelu', inputsToSave: ['x', 'alpha'], gradFunc };
}

/**
 * Replace the cpu backend's kernels in {@link NN_KERNEL_NAMES} with native ones and the PReLU
 * gradient with the fused one. Idempotent; returns false (and changes nothing) when the native engine
 * is not available.
 */
export function registerNnKernels(tf: Tf): boolean {
  const engine = loadEngine();
  if (!engine) return false;
  replaceKernels(tf, NN_KERNEL_NAMES, ours, previous, (name) => kernelFor(tf, engine, name));
  const gradKernel = tf.getKernel(PRELU_GRAD_KERNEL, 'cpu');
  if (!gradKernel) {
    const kernelFunc = ((args: KernelArgs) => preluGrad(engine, args)) as TF.KernelFunc;
    ours.add(kernelFunc);
    tf.registerKernel({ kernelName: PRELU_GRAD_KERNEL, backendName: 'cpu', kernelFunc });
  }
  const grad = tf.getGradient('Prelu');
  if (grad && !ours.has(grad.gradFunc)) {
    previousGrad = grad;
    tf.registerGradient(preluGradConfig(tf, grad));
  }
  return true;
}

/** Put back the kernels and the PReLU gradient {@link registerNnKernels} replaced. Idempotent. */
export function unregisterNnKernels(tf: Tf): void {
  restoreKernels(tf, NN_KERNEL_NAMES, ours, previous);
  const gradKernel = tf.getKernel(PRELU_GRAD_KERNEL, 'cpu');
  if (gradKernel && ours.has(gradKernel.kernelFunc)) tf.unregisterKernel(PRELU_GRAD_KERNEL, 'cpu');
  const grad = tf.getGradient('Prelu');
  if (grad && ours.has(grad.gradFunc) && previousGrad) {
    tf.registerGradient(previousGrad);
    previousGrad = undefined;
  }
}

/** Whether the native kernel for `name` is the one the cpu backend runs now. */
export function nnKernelActive(tf: Tf, name: NnKernelName): boolean {
  return kernelIsOurs(tf, name, ours);
}
