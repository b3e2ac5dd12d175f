/**
 * Partial FC on the native engine: each step samples ⌈r·C⌉ classes (every class of the batch kept,
 * `sampleClasses` from src/heads/partialfc.ts), gathers their weight rows (and momentum rows) into
 * buffers reused from step to step, runs the fused margin softmax on them and writes the stepped rows
 * back. A step costs O(B·D·rC) arithmetic and O(rC·D) copying; unsampled rows are never touched.
 */
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { type ClassSample, sampleClasses } from '../heads/partialfc.js';
import type { GeometrySpec, MarginSpec } from '../margin/spec.js';
import type { Rng } from '../rng.js';
import { marginSoftmaxNative, type NativeMarginResult, type NativeSgd } from './margin.js';
import { requireEngine } from './native.js';

/** Arguments of {@link partialStepNative}. */
export interface NativePartialArgs {
  /** Embeddings, B×D. */
  X: Float32Array;
  /** All class weights, C·K×D; sampled rows are updated in place when `sgd` is given. */
  W: Float32Array;
  /** Labels as indices into all C classes. */
  labels: Int32Array;
  B: number;
  D: number;
  geometry: GeometrySpec;
  /** The margin; per-row parameters refer to batch rows and need no re-indexing. */
  margin: MarginSpec;
  /** Sample rate r in (0, 1]. */
  rate: number;
  /** Seeded random source of the sampling. */
  rng: Rng;
  /** Per-class bias (length C), gathered with the weights; its gradient is returned for the sample. */
  bias?: Float32Array;
  /** SGD on the sampled rows; `velocity` is the full-size (C·K×D) momentum buffer. */
  sgd?: NativeSgd;
  /** Return the clamped cosines and logits of the sampled classes (B×rC). */
  wantLogits?: boolean;
}

/** Result of {@link partialStepNative}: the operator's result on the sampled classes, and the sample. */
export type NativePartialResult = NativeMarginResult & {
  sample: ClassSample;
  /** Gradient of the sampled rows (rC·K×D, in sample order) when no `sgd` was given. */
  dW?: Float32Array;
};

// Gather buffers kept across steps: fresh multi-megabyte arrays page-fault on every step.
const buffers = new Map<string, Float32Array>();

function scratch(name: string, length: number): Float32Array {
  let b = buffers.get(name);
  if (b === undefined || b.length < length) {
    b = new Float32Array(Math.max(length, Math.ceil((b?.length ?? 0) * 1.5)));
    buffers.set(name, b);
  }
  return b.subarray(0, length);
}

interface CopyRowsBinding {
  copyRows(src: Float32Array, dst: Float32Array, rows: Int32Array, width: number, scatter: boolean): void;
}

// Row copies run on the engine's pool, one call per step rather than one per row.
function copyRows(
  src: Float32Array,
  dst: Float32Array,
  classes: Int32Array,
  width: number,
  scatter: boolean,
): void {
  (requireEngine() as unknown as CopyRowsBinding).copyRows(src, dst, classes, width, scatter);
}

/** One Partial FC step on the native engine (see the module comment). */
export function partialStepNative(a: NativePartialArgs): NativePartialResult {
  const K = a.geometry.subCenters;
  const width = K * a.D;
  if (!(a.W instanceof Float32Array) || a.W.length === 0 || a.W.length % width !== 0)
    throw new ShapeMismatchError('W', `a Float32Array of C·${K}×${a.D} values`, String(a.W?.length));
  const C = a.W.length / width;
  if (a.sgd?.velocity !== undefined && a.sgd.velocity.length !== a.W.length)
    throw new ShapeMismatchError(
      'sgd.velocity',
      `${a.W.length} values (the size of W)`,
      String(a.sgd.velocity.length),
    );
  if (!(a.labels instanceof Int32Array)) throw new InvalidArgumentError('labels', 'an Int32Array', a.labels);
  const sample = sampleClasses(a.labels, C, a.rate, a.rng);
  const n = sample.classes.length;
  const W = scratch('W', n * width);
  copyRows(a.W, W, sample.classes, width, false);
  let velocity: Float32Array | undefined;
  if (a.sgd?.velocity) {
    velocity = scratch('velocity', n * width);
    copyRows(a.sgd.velocity, velocity, sample.classes, width, false);
  }
  const bias = a.bias ? Float32Array.from(sample.classes, (c) => (a.bias as Float32Array)[c]) : undefined;
  const result = marginSoftmaxNative({
    X: a.X,
    W,
    labels: sample.labels,
    B: a.B,
    D: a.D,
    geometry: a.geometry,
    margin: a.margin,
    bias,
    sgd: a.sgd ? { ...a.sgd, velocity } : undefined,
    overwriteW: a.sgd !== undefined,
    wantLogits: a.wantLogits,
    wantCos: a.wantLogits,
  });
  if (a.sgd) {
    copyRows(W, a.W, sample.classes, width, true);
    if (velocity && a.sgd.velocity) copyRows(velocity, a.sgd.velocity, sample.classes, width, true);
  }
  return { ...result, sample };
}
