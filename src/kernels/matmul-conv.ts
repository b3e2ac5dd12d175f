/**
 * TF.js `cpu` kernels backed by the native engine's SGEMM and convolutions.
 *
 * {@link registerNativeKernels} replaces the cpu backend's `BatchMatMul`, `_FusedMatMul`, `Conv2D`,
 * `FusedConv2D`, `Conv2DBackpropInput` and `Conv2DBackpropFilter` with versions that run directly on the
 * backend's Float32Arrays (no copies of the operands): matrix products through {@link sgemm},
 * convolutions through the engine's implicit-GEMM kernels (no patch matrix; bias and the common
 * activations applied in the same pass). Cases they do not cover — other dtypes, NCHW, empty tensors, bias or PReLU
 * weights that are not per-column — go to the kernel that was registered before, which is kept so
 * {@link unregisterNativeKernels} can put it back. Gradients are unaffected: TF.js registers them per
 * kernel name and they call these same kernels. Registering also installs the native PReLU,
 * max-pooling and depthwise-convolution kernels of `nn.ts` (and its fused PReLU gradient)
 * the element-wise arithmetic and reduction kernels of `elementwise.ts` and the training-mode batch
 * normalisation kernels of `batch-norm.ts`; unregistering removes them.
 */
import type * as TF from '@tensorflow/tfjs';
import { sgemm } from '../engine/gemm.js';
import { loadEngine, type NativeBinding, requireEngine } from '../engine/native.js';
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
import { registerBatchNormKernels, unregisterBatchNormKernels } from './batch-norm.js';
import { unwatchCpuBackend, watchCpuBackend } from './buffer-pool.js';
import { registerConvBiasGradient, unregisterConvBiasGradient } from './conv-bias.js';
import {
  ELEMENTWISE_KERNEL_NAMES,
  type ElementwiseKernelName,
  elementwiseKernelActive,
  registerElementwiseKernels,
  unregisterElementwiseKernels,
} from './elementwise.js';
import { registerMomentumKernel, unregisterMomentumKernel } from './momentum.js';
import {
  NN_KERNEL_NAMES,
  type NnKernelName,
  nnKernelActive,
  registerNnKernels,
  unregisterNnKernels,
} from './nn.js';

/** The SGEMM-backed kernels of this file. */
const GEMM_KERNEL_NAMES = [
  'BatchMatMul',
  '_FusedMatMul',
  'Conv2D',
  'FusedConv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
] as const;

type GemmKernelName = (typeof GEMM_KERNEL_NAMES)[number];

/**
 * Kernels {@link registerNativeKernels} replaces on the cpu backend (with those of `nn.ts`
 * and `elementwise.ts`).
 */
export const NATIVE_KERNEL_NAMES = [
  ...GEMM_KERNEL_NAMES,
  ...NN_KERNEL_NAMES,
  ...ELEMENTWISE_KERNEL_NAMES,
] as const;

/** One of {@link NATIVE_KERNEL_NAMES}. */
export type NativeKernelName = (typeof NATIVE_KERNEL_NAMES)[number];

/** Kernel functions installed here, to recognise them (idempotence) whatever tfjs namespace is passed. */
const ours = new WeakSet<object>();
/** The kernels that were registered before ours, by name. */
const previous = new Map<GemmKernelName, KernelConfig>();

/** Broadcast of two batch shapes (numpy rules), or null when they do not broadcast. */
function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** For each output batch index, the matching batch index of an operand with `shape` (broadcast). */
function batchIndices(shape: readonly number[], out: readonly number[]): Int32Array {
  const count = size(out);
  const idx = new Int32Array(count);
  const rank = out.length;
  // Row-major strides of the operand, zero on the axes it broadcasts along.
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    const d = shape[shape.length - rank + i] ?? 1;
    strides[i] = d === 1 ? 0 : s;
    s *= d;
  }
  for (let n = 0; n < count; n++) {
    let rest = n;
    let at = 0;
    for (let i = rank - 1; i >= 0; i--) {
      const coord = rest % out[i];
      rest = (rest - coord) / out[i];
      at += coord * strides[i];
    }
    idx[n] = at;
  }
  return idx;
}

interface Product {
  shape: number[];
  values: Float32Array;
  /** Columns of one output matrix, which bias and PReLU weights run along. */
  N: number;
}

/** Batched product with broadcasting, or null when the native path does not cover it. */
function product(
  backend: CpuBackend,
  a: TensorInfo,
  b: TensorInfo,
  transA: boolean,
  transB: boolean,
): Product | null {
  const A = floats(backend, a);
  const B = floats(backend, b);
  if (!A || !B || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batch = broadcastShape(batchA, batchB);
  if (K !== Kb || batch === null) return null;
  const count = size(batch);
  if (M === 0 || N === 0 || K === 0 || count === 0) return null;
  const shape = [...batch, M, N];
  const C = outputFloats(count * M * N);
  const strideA = M * K;
  const strideB = K * N;
  if (size(batchB) === 1 && !transA) {
    // One right-hand matrix and a row-major left side: all batches are one tall product.
    sgemm({ transB, M: size(batchA) * M, N, K, A, B, C });
    return { shape, values: C, N };
  }
  const ia = batchIndices(batchA, batch);
  const ib = batchIndices(batchB, batch);
  for (let n = 0; n < count; n++) {
    sgemm({
      transA,
      transB,
      M,
      N,
      K,
      A: A.subarray(ia[n] * strideA, (ia[n] + 1) * strideA),
      B: B.subarray(ib[n] * strideB, (ib[n] + 1) * strideB),
      C: C.subarray(n * M * N, (n + 1) * M * N),
    });
  }
  return { shape, values: C, N };
}

/**
 * Values of a tensor that broadcasts along the last axis of a `rank`-dimensional result with `N`
 * columns (shape `[]`, `[1]`, `[N]`, `[1, …, 1, N]`), or null otherwise.
 */
function perColumn(backend: CpuBackend, info: TensorInfo, N: number, rank: number): Float32Array | null {
  const values = floats(backend, info);
  if (!values || info.shape.length > rank) return null;
  const last = info.shape.length === 0 ? 1 : info.shape[info.shape.length - 1];
  if (last !== 1 && last !== N) return null;
  if (size(info.shape.slice(0, -1)) !== 1) return null;
  return values;
}

type Activation = (x: number, column: number) => number;

/** Element-wise activations of `_FusedMatMul`, with the cpu backend's formulas (NaN passes through). */
function activationFor(
  name: string | undefined,
  leakyAlpha: number,
  prelu: Float32Array | null,
): Activation | null | undefined {
  switch (name ?? 'linear') {
    case 'linear':
      return undefined;
    case 'relu':
      return (x) => Math.max(x, 0);
    case 'relu6':
      return (x) => Math.min(Math.max(x, 0), 6);
    case 'elu':
      return (x) => (x >= 0 ? x : Math.exp(x) - 1);
    case 'sigmoid':
      return (x) => 1 / (1 + Math.exp(-x));
    case 'leakyrelu':
      return (x) => (x < 0 ? leakyAlpha * x : x);
    case 'prelu': {
      if (!prelu) return null;
      const w = prelu;
      return w.length === 1 ? (x) => (x < 0 ? w[0] * x : x) : (x, j) => (x < 0 ? w[j] * x : x);
    }
    default:
      return null;
  }
}

function fallback(name: GemmKernelName, args: KernelArgs): TensorInfo | TensorInfo[] {
  return fallBackOn(previous, name, args);
}

function batchMatMul(args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { a, b } = args.inputs;
  const { transposeA, transposeB } = args.attrs as { transposeA?: boolean; transposeB?: boolean };
  const out = a && b ? product(backend, a, b, !!transposeA, !!transposeB) : null;
  if (!out) return fallback('BatchMatMul', args);
  return backend.makeTensorInfo(out.shape, 'float32', out.values);
}

/** Bias and activation applied to each row of `N` columns after a product. */
interface Epilogue {
  bias: Float32Array | null;
  act: Activation | undefined;
  /** The PReLU weights, when the activation is a PReLU (the native convolution applies them itself). */
  prelu: Float32Array | null;
}

interface EpilogueAttrs {
  activation?: string;
  leakyreluAlpha?: number;
}

/**
 * The bias/activation step of a fused kernel whose result has `rank` axes and `N` entries on the last,
 * or null when it is not per-column (then the original kernel must run).
 */
function epilogueFor(
  backend: CpuBackend,
  inputs: KernelArgs['inputs'],
  attrs: EpilogueAttrs,
  N: number,
  rank: number,
): Epilogue | null {
  const { bias, preluActivationWeights } = inputs;
  const biasValues = bias ? perColumn(backend, bias, N, rank) : null;
  const preluValues = preluActivationWeights ? perColumn(backend, preluActivationWeights, N, rank) : null;
  const act = activationFor(attrs.activation, attrs.leakyreluAlpha ?? 0.2, preluValues);
  if ((bias && !biasValues) || act === null) return null;
  return { bias: biasValues, act, prelu: preluValues };
}

function applyEpilogue(C: Float32Array, N: number, { bias, act }: Epilogue): void {
  if (!bias && !act) return;
  const one = bias !== null && bias.length === 1;
  for (let i = 0; i < C.length; i += N) {
    for (let j = 0; j < N; j++) {
      let v = C[i + j];
      if (bias) v += bias[one ? 0 : j];
      C[i + j] = act ? act(v, j) : v;
    }
  }
}

function fusedMatMul(args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { a, b } = args.inputs;
  const attrs = args.attrs as EpilogueAttrs & { transposeA?: boolean; transposeB?: boolean };
  if (!a || !b) return fallback('_FusedMatMul', args);
  // Check everything that could send this call to the fallback before the product is paid for.
  const N = attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const epilogue = epilogueFor(backend, args.inputs, attrs, N, Math.max(a.shape.length, b.shape.length));
  const out = epilogue ? product(backend, a, b, !!attrs.transposeA, !!attrs.transposeB) : null;
  if (!epilogue || !out) return fallback('_FusedMatMul', args);
  applyEpilogue(out.values, N, epilogue);
  return backend.makeTensorInfo(out.shape, 'float32', out.values);
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | TF.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Sizes of an NHWC convolution in the order the native binding takes them: batch, inH, inW, inC, outH,
 * outW, outC, fH, fW, strideH, strideW, dilationH, dilationW, padTop, padLeft.
 */
type ConvGeometry = number[];

/** Position of outC in a {@link ConvGeometry}. */
const OUT_C = 6;

/** Geometry of an NHWC convolution, or null for other layouts and empty tensors. */
function geometry(
  tf: Tf,
  xShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
  dilations: number | [number, number],
): ConvGeometry | null {
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || xShape.length !== 4 || filterShape.length !== 4) return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const g = [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
  return g.slice(0, 9).some((d) => d === 0) ? null : g;
}

const inputSize = (g: ConvGeometry) => g[0] * g[1] * g[2] * g[3];
const outputSize = (g: ConvGeometry) => g[0] * g[4] * g[5] * g[OUT_C];
const outputShape = (g: ConvGeometry) => [g[0], g[4], g[5], g[OUT_C]];

/** Activations the native convolution applies itself, by the binding's code. */
const NATIVE_ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, prelu: 2, leakyrelu: 3, relu6: 4 };

/** NHWC convolution, then the epilogue: in the native kernel where it has the activation, else after it. */
function convForward(
  engine: NativeBinding,
  g: ConvGeometry,
  X: Float32Array,
  W: Float32Array,
  epilogue: Epilogue | null,
  attrs: EpilogueAttrs,
): Float32Array {
  const Y = outputFloats(outputSize(g));
  const code = epilogue ? NATIVE_ACTIVATIONS[attrs.activation ?? 'linear'] : 0;
  if (epilogue && code === undefined) {
    engine.convForward(X, W, Y, g, null, 0, null, 0);
    applyEpilogue(Y, g[OUT_C], epilogue);
  } else {
    engine.convForward(
      X,
      W,
      Y,
      g,
      epilogue?.bias ?? null,
      code,
      epilogue?.prelu ?? null,
      attrs.leakyreluAlpha ?? 0.2,
    );
  }
  return Y;
}

function conv2D(tf: Tf, args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { x, filter } = args.inputs;
  const attrs = args.attrs as unknown as ConvAttrs;
  const X = floats(backend, x);
  const W = floats(backend, filter);
  const g = X && W && x && filter ? geometry(tf, x.shape, filter.shape, attrs, attrs.dilations ?? 1) : null;
  if (!X || !W || !g) return fallback('Conv2D', args);
  const Y = convForward(requireEngine(), g, X, W, null, {});
  return backend.makeTensorInfo(outputShape(g), 'float32', Y);
}

function fusedConv2D(tf: Tf, args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { x, filter } = args.inputs;
  const attrs = args.attrs as unknown as ConvAttrs & EpilogueAttrs;
  const X = floats(backend, x);
  const W = floats(backend, filter);
  const g = X && W && x && filter ? geometry(tf, x.shape, filter.shape, attrs, attrs.dilations ?? 1) : null;
  // NHWC only (geometry), so bias and PReLU weights run along the channels, the last axis.
  const epilogue = g ? epilogueFor(backend, args.inputs, attrs, g[OUT_C], 4) : null;
  if (!X || !W || !g || !epilogue) return fallback('FusedConv2D', args);
  const Y = convForward(requireEngine(), g, X, W, epilogue, attrs);
  return backend.makeTensorInfo(outputShape(g), 'float32', Y);
}

function conv2DBackpropInput(tf: Tf, args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
  const D = floats(backend, dy);
  const W = floats(backend, filter);
  // The gradient op has no dilation attribute: TF.js computes it for unit dilation only.
  const g = D && W && filter ? geometry(tf, [...attrs.inputShape], filter.shape, attrs, 1) : null;
  if (!D || !W || !g || size(dy!.shape) !== outputSize(g)) return fallback('Conv2DBackpropInput', args);
  const dX = outputFloats(inputSize(g));
  requireEngine().convGradInput(D, W, dX, g);
  return backend.makeTensorInfo([...attrs.inputShape], 'float32', dX);
}

function conv2DBackpropFilter(tf: Tf, args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
  const X = floats(backend, x);
  const D = floats(backend, dy);
  const g = X && D && x ? geometry(tf, x.shape, [...attrs.filterShape], attrs, 1) : null;
  if (!X || !D || !g || size(dy!.shape) !== outputSize(g)) return fallback('Conv2DBackpropFilter', args);
  const dW = outputFloats(size(attrs.filterShape));
  requireEngine().convGradFilter(X, D, dW, g);
  return backend.makeTensorInfo([...attrs.filterShape], 'float32', dW);
}

function kernelFor(tf: Tf, name: GemmKernelName): TF.KernelFunc {
  const kernels: Record<GemmKernelName, (args: KernelArgs) => TensorInfo | TensorInfo[]> = {
    BatchMatMul: batchMatMul,
    _FusedMatMul: fusedMatMul,
    Conv2D: (args) => conv2D(tf, args),
    FusedConv2D: (args) => fusedConv2D(tf, args),
    Conv2DBackpropInput: (args) => conv2DBackpropInput(tf, args),
    Conv2DBackpropFilter: (args) => conv2DBackpropFilter(tf, args),
  };
  return kernels[name] as TF.KernelFunc;
}

/**
 * Replace the cpu backend's matrix-product and convolution kernels with native ones. Idempotent; the
 * replaced kernels are kept for {@link unregisterNativeKernels} and for the cases the native ones do not
 * cover. Returns false (and changes nothing) when the native engine is not available.
 */
export function registerNativeKernels(tf: Tf): boolean {
  if (!loadEngine()) return false;
  replaceKernels(tf, GEMM_KERNEL_NAMES, ours, previous, (name) => kernelFor(tf, name));
  watchCpuBackend(tf);
  registerConvBiasGradient(tf);
  registerMomentumKernel(tf);
  return registerNnKernels(tf) && registerElementwiseKernels(tf) && registerBatchNormKernels(tf);
}

/** Put back the kernels {@link registerNativeKernels} replaced. Idempotent. */
export function unregisterNativeKernels(tf: Tf): void {
  unregisterElementwiseKernels(tf);
  unregisterNnKernels(tf);
  unregisterBatchNormKernels(tf);
  unregisterConvBiasGradient(tf);
  unregisterMomentumKernel(tf);
  restoreKernels(tf, GEMM_KERNEL_NAMES, ours, previous);
  unwatchCpuBackend(tf);
}

/** Whether the native kernel for `name` is the one the cpu backend runs now. */
export function nativeKernelActive(tf: Tf, name: NativeKernelName): boolean {
  if ((NN_KERNEL_NAMES as readonly string[]).includes(name)) return nnKernelActive(tf, name as NnKernelName);
  if ((ELEMENTWISE_KERNEL_NAMES as readonly string[]).includes(name)) {
    return elementwiseKernelActive(tf, name as ElementwiseKernelName);
  }
  return kernelIsOurs(tf, name, ours);
}
