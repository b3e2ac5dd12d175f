/**
 * TF.js `cpu` kernels for the element-wise arithmetic and reductions of a training step — `Add`, `Sub`,
 * `Multiply`, `RealDiv`, `SquaredDifference`, `Square`, `FusedBatchNorm`, `Sum` and `Mean` on float32
 * tensors — run by the native engine on its thread pool, and `Tile` of a block (a plain copy).
 *
 * TF.js's own binary kernels compute broadcast indices per element, and its reductions transpose the
 * tensor first unless the reduced axes are the innermost ones; batch normalisation, bias gradients and
 * global pooling spend most of a small network's step there. The native kernels cover the layouts
 * these produce: binary operands of one shape, or one of them a scalar or a row along the last axis
 * (shape `[C]` or `[1, …, 1, C]`, on either side); reductions over one contiguous block of axes
 * (leading, as for a per-channel sum of NHWC, trailing, or in between), with or without `keepDims`;
 * batch normalisation whose statistics, scale and offset hold one value or one per channel; tiling
 * that repeats the whole input as a block (batch normalisation's gradient tiles a `[1, 1, 1, C]` row).
 * Arithmetic and batch normalisation give TF.js's values bit for bit. Sums are taken in double in an
 * order fixed by the shape, so they do not depend on the thread count; a mean is the sum divided once
 * by the count (TF.js divides each element first, which can differ in the last bit). A sum over every
 * axis but the last of a tensor whose kernel took those sums already (`channel-sums.ts`) returns them.
 * Everything else — other dtypes, other broadcasts, scattered axes, empty tensors — goes to the kernel
 * registered before, kept so {@link unregisterElementwiseKernels} can put it back.
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
import { channelSumsOf } from './channel-sums.js';

/** Kernels {@link registerElementwiseKernels} replaces on the cpu backend. */
export const ELEMENTWISE_KERNEL_NAMES = [
  'Add',
  'Sub',
  'Multiply',
  'RealDiv',
  'SquaredDifference',
  'Square',
  'FusedBatchNorm',
  'Sum',
  'Mean',
  'Tile',
] as const;

/** One of {@link ELEMENTWISE_KERNEL_NAMES}. */
export type ElementwiseKernelName = (typeof ELEMENTWISE_KERNEL_NAMES)[number];

/** The binding's name for each binary kernel. */
type BinaryOpName = Parameters<NativeBinding['binaryOp']>[0];
const BINARY_OPS: Partial<Record<ElementwiseKernelName, BinaryOpName>> = {
  Add: 'add',
  Sub: 'sub',
  Multiply: 'mul',
  RealDiv: 'div',
  SquaredDifference: 'squaredDifference',
};

/** Kernel functions installed here, to recognise them (idempotence) whatever tfjs namespace is passed. */
const ours = new WeakSet<object>();
/** The kernels that were registered before ours, by name. */
const previous = new Map<ElementwiseKernelName, KernelConfig>();

function fallback(name: ElementwiseKernelName, args: KernelArgs): TensorInfo | TensorInfo[] {
  return fallBackOn(previous, name, args);
}

/**
 * How many values an operand of `shape` repeats over an output of `n` elements whose last axis has
 * `channels`: `n` (same layout), `channels` (a row along the last axis) or 1 (a scalar); null for
 * any other broadcast. Sizes equal to the output's mean the same layout, as a broadcast never grows.
 */
function period(shape: readonly number[], n: number, channels: number): number | null {
  const s = size(shape);
  if (s === n) return n;
  if (s === 1) return 1;
  if (s === channels && shape[shape.length - 1] === channels) return channels;
  return null;
}

/**
 * An operand's layout per slice of the output's leading axis, when that axis runs with the output's (or is
 * 1) and the rest broadcasts as {@link period} allows: a value per (image, channel) over an image, as the
 * gradient of a global pooling multiplies `[N, 1, 1, C]` into `[N, H, W, C]`. `stride` is how far the
 * operand moves per slice (0 when it is shared).
 */
function slicedPeriod(
  shape: readonly number[],
  out: readonly number[],
): { period: number; stride: number } | null {
  if (shape.length !== out.length || out.length < 2 || (shape[0] !== out[0] && shape[0] !== 1)) return null;
  const inner = out.slice(1);
  const p = period(shape.slice(1), size(inner), inner[inner.length - 1]);
  return p === null ? null : { period: p, stride: shape[0] === 1 ? 0 : size(shape.slice(1)) };
}

/** The binary op slice by slice along the leading axis (see {@link slicedPeriod}); false if it does not apply. */
function binarySliced(
  engine: NativeBinding,
  op: BinaryOpName,
  [A, a]: [Float32Array, readonly number[]],
  [B, b]: [Float32Array, readonly number[]],
  out: readonly number[],
  Y: Float32Array,
): boolean {
  const sa = slicedPeriod(a, out);
  const sb = slicedPeriod(b, out);
  const m = size(out.slice(1));
  if (!sa || !sb || m === 0) return false;
  if (A.length < sa.stride * (out[0] - 1) + sa.period || B.length < sb.stride * (out[0] - 1) + sb.period)
    return false;
  const channels = out[out.length - 1];
  for (let i = 0; i < out[0]; i++) {
    const ai = A.subarray(i * sa.stride, i * sa.stride + sa.period);
    const bi = B.subarray(i * sb.stride, i * sb.stride + sb.period);
    engine.binaryOp(op, ai, sa.period, bi, sb.period, Y.subarray(i * m, (i + 1) * m), m, channels);
  }
  return true;
}

function binary(tf: Tf, engine: NativeBinding, name: ElementwiseKernelName, args: KernelArgs) {
  const op = BINARY_OPS[name];
  const backend = args.backend as unknown as CpuBackend;
  const { a, b } = args.inputs;
  const A = floats(backend, a);
  const B = floats(backend, b);
  if (!op || !A || !B || !a || !b) return fallback(name, args);
  // The same helper TF.js's kernels use, so shapes (and errors for shapes that do not broadcast) match.
  const out = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const n = size(out);
  const channels = out.length > 0 ? out[out.length - 1] : 1;
  const pa = n > 0 ? period(a.shape, n, channels) : null;
  const pb = n > 0 ? period(b.shape, n, channels) : null;
  if (pa === null || pb === null || A.length < pa || B.length < pb) {
    const Y = n > 0 ? outputFloats(n) : null;
    if (!Y || !binarySliced(engine, op, [A, a.shape], [B, b.shape], out, Y)) return fallback(name, args);
    return backend.makeTensorInfo(out, 'float32', Y);
  }
  const Y = outputFloats(n);
  engine.binaryOp(op, A, pa, B, pb, Y, n, channels);
  return backend.makeTensorInfo(out, 'float32', Y);
}

function square(engine: NativeBinding, args: KernelArgs) {
  const backend = args.backend as unknown as CpuBackend;
  const { x } = args.inputs;
  const X = floats(backend, x);
  if (!X || !x || X.length === 0) return fallback('Square', args);
  // x · x rounded once to float: what TF.js's loop stores.
  const Y = outputFloats(X.length);
  engine.binaryOp('mul', X, X.length, X, X.length, Y, X.length, X.length);
  return backend.makeTensorInfo([...x.shape], 'float32', Y);
}

/**
 * `FusedBatchNorm` (batch normalisation with given statistics) when every parameter holds one value or
 * one per channel of the last axis; TF.js cycles parameters over the flat input, so that is the same.
 */
function batchNorm(engine: NativeBinding, args: KernelArgs) {
  const backend = args.backend as unknown as CpuBackend;
  const { x, mean, variance, scale, offset } = args.inputs;
  const X = floats(backend, x);
  const params = [
    floats(backend, mean),
    floats(backend, variance),
    scale ? floats(backend, scale) : new Float32Array([1]),
    offset ? floats(backend, offset) : new Float32Array([0]),
  ];
  const channels = x && x.shape.length > 0 ? x.shape[x.shape.length - 1] : 1;
  const fits = params.every((p) => p !== null && (p.length === 1 || p.length === channels));
  if (!X || !x || X.length === 0 || !fits) return fallback('FusedBatchNorm', args);
  const [M, V, S, O] = params as Float32Array[];
  const epsilon = (args.attrs as { varianceEpsilon?: number } | undefined)?.varianceEpsilon ?? 0.001;
  const Y = outputFloats(X.length);
  engine.batchNorm(X, M, V, S, O, Y, X.length, channels, epsilon);
  return backend.makeTensorInfo([...x.shape], 'float32', Y);
}

interface ReduceAttrs {
  axis: number | number[] | null;
  keepDims: boolean;
}

/** `shape` viewed as [outer, reduce, inner] around one contiguous block of axes, or null. */
function reduction(tf: Tf, shape: readonly number[], attrs: ReduceAttrs) {
  if (size(shape) === 0) return null;
  let axes: number[];
  try {
    axes = tf.util.parseAxisParam(attrs.axis ?? shape.map((_, i) => i), [...shape]);
  } catch {
    return null; // Out-of-range axes: the original kernel reports them.
  }
  if (axes.length === 0) return null;
  const sorted = [...axes].sort((p, q) => p - q);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (sorted.some((axis, i) => axis !== first + i)) return null;
  return {
    outer: size(shape.slice(0, first)),
    reduce: size(shape.slice(first, last + 1)),
    inner: size(shape.slice(last + 1)),
    out: attrs.keepDims
      ? shape.map((d, i) => (i >= first && i <= last ? 1 : d))
      : shape.filter((_, i) => i < first || i > last),
  };
}

function reduce(tf: Tf, engine: NativeBinding, name: 'Sum' | 'Mean', args: KernelArgs) {
  const backend = args.backend as unknown as CpuBackend;
  const { x } = args.inputs;
  const X = floats(backend, x);
  const r = X && x ? reduction(tf, x.shape, args.attrs as unknown as ReduceAttrs) : null;
  if (!X || !r || X.length < r.outer * r.reduce * r.inner) return fallback(name, args);
  // A sum per channel that the kernel writing x took already.
  const known = name === 'Sum' && r.outer === 1 && x ? channelSumsOf(x, r.inner) : null;
  if (known) return backend.makeTensorInfo(r.out, 'float32', known);
  const Y = outputFloats(r.outer * r.inner);
  engine.reduceSum(X, Y, r.outer, r.reduce, r.inner, name === 'Mean');
  return backend.makeTensorInfo(r.out, 'float32', Y);
}

/**
 * `Tile` when the output is the input repeated as one contiguous block — every repeated axis comes
 * before the axes the input spans, as when batch normalisation's gradient tiles a `[1, 1, 1, C]` row
 * over `[N, H, W, 1]` — by doubling copies; no native call is needed for a memory copy.
 */
function tile(args: KernelArgs) {
  const backend = args.backend as unknown as CpuBackend;
  const { x } = args.inputs;
  const X = floats(backend, x);
  const reps = (args.attrs as unknown as { reps: number[] }).reps;
  if (!X || !x || !Array.isArray(reps) || reps.length !== x.shape.length) return fallback('Tile', args);
  const out = x.shape.map((d, i) => d * reps[i]);
  const n = size(out);
  const m = size(x.shape);
  let repeated = reps.length;
  while (repeated > 0 && reps[repeated - 1] === 1) repeated--;
  const block = x.shape.slice(0, repeated).every((d) => d === 1);
  if (n === 0 || !block || X.length < m || !out.every((d) => Number.isSafeInteger(d)))
    return fallback('Tile', args);
  const Y = outputFloats(n);
  Y.set(X.subarray(0, m));
  for (let filled = m; filled < n; filled *= 2) Y.copyWithin(filled, 0, Math.min(filled, n - filled));
  return backend.makeTensorInfo(out, 'float32', Y);
}

function kernelFor(tf: Tf, engine: NativeBinding, name: ElementwiseKernelName): TF.KernelFunc {
  if (name === 'Tile') return tile as TF.KernelFunc;
  if (name === 'Square') return ((args: KernelArgs) => square(engine, args)) as TF.KernelFunc;
  if (name === 'FusedBatchNorm') return ((args: KernelArgs) => batchNorm(engine, args)) as TF.KernelFunc;
  const run =
    name === 'Sum' || name === 'Mean'
      ? (args: KernelArgs) => reduce(tf, engine, name, args)
      : (args: KernelArgs) => binary(tf, engine, name, args);
  return run as TF.KernelFunc;
}

/**
 * Replace the cpu backend's kernels in {@link ELEMENTWISE_KERNEL_NAMES} with native ones. Idempotent;
 * returns false (and changes nothing) when the native engine is not available.
 */
export function registerElementwiseKernels(tf: Tf): boolean {
  const engine = loadEngine();
  if (!engine) return false;
  replaceKernels(tf, ELEMENTWISE_KERNEL_NAMES, ours, previous, (name) => kernelFor(tf, engine, name));
  return true;
}

/** Put back the kernels {@link registerElementwiseKernels} replaced. Idempotent. */
export function unregisterElementwiseKernels(tf: Tf): void {
  restoreKernels(tf, ELEMENTWISE_KERNEL_NAMES, ours, previous);
}

/** Whether the native kernel for `name` is the one the cpu backend runs now. */
export function elementwiseKernelActive(tf: Tf, name: ElementwiseKernelName): boolean {
  return kernelIsOurs(tf, name, ours);
}
