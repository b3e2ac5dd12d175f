/**
 * One training step of a model-parallel head (insightface's partial_fc_v2 protocol, over a {@link Comm}):
 *
 * 1. all-gather the ranks' embeddings and labels (every rank sees the whole batch of B = N·b rows);
 * 2. each rank takes its contiguous shard of the classes ({@link shardRange}), samples it when
 *    `rate` < 1 (positives first, seeded per rank), and runs pass 1 of the sharded kernel: the row
 *    maxima and sums of exp over its classes, plus the target logits of the rows whose class it holds;
 * 3. all-reduce MAX of the row maxima, then all-reduce SUM of the sums rescaled to the global maximum,
 *    together with the target logits (0 from every rank but the owner): every rank now has each row's
 *    log-sum-exp and target logit, hence the loss;
 * 4. pass 2 forms the gradients, steps the shard's rows of W (and its momentum) in place — W's gradient
 *    never leaves the rank — and writes the shard's part of dL/dX for the whole batch;
 * 5. reduce-scatter sums those parts and hands each rank the b rows of its own embeddings.
 *
 * With {@link LocalComm} (one rank) this is the fused one-process step, computed in two passes.
 */

import type { NativeSgd } from '../engine/margin.js';
import { requireEngine } from '../engine/native.js';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { GeometrySpec, MarginSpec } from '../margin/spec.js';
import type { Rng } from '../rng.js';
import type { Comm } from './comm.js';
import { type ShardRange, type ShardSample, sampleShard, shardLabels, shardRange } from './shard.js';
import { checkShardable, encodeShardedSpec, shardBackward, shardStats } from './sharded-kernel.js';

/** -log(1e-30): DistCrossEntropy's ceiling on a row's loss (as in the fused kernel). */
const DIST_CE_CEILING = 69.07755278982137;

/** Arguments of {@link shardedMarginStep}. */
export interface ShardedStepArgs {
  comm: Comm;
  /** This rank's embeddings, b×D (b the same on every rank). */
  X: Float32Array;
  /** This rank's labels, as class indices in [0, classes). */
  labels: Int32Array;
  /** This rank's rows of W: shardRange(classes, comm.size, comm.rank).count × D, stepped in place. */
  W: Float32Array;
  /** C, the number of classes over all ranks. */
  classes: number;
  D: number;
  geometry: GeometrySpec;
  margin: MarginSpec;
  /** SGD on the shard's rows; `velocity` is the shard's momentum buffer (the size of W). */
  sgd?: NativeSgd;
  /** Partial FC sample rate in (0, 1] (default 1: every class). */
  rate?: number;
  /** This rank's seeded random source of the sampling (required when rate < 1). */
  rng?: Rng;
  /** Return dL/dW of the shard (without `sgd`): the full shard, zero on unsampled rows. */
  wantDW?: boolean;
}

/** Result of {@link shardedMarginStep}; `loss` and `parts` are the same on every rank. */
export interface ShardedStepResult {
  /** The mean loss over the whole (gathered) batch. */
  loss: number;
  parts: Record<string, number>;
  /** dL/dX of this rank's b rows. */
  dX: Float32Array;
  /** dL/dW of the shard's rows when `wantDW` was set. */
  dW?: Float32Array;
  /** The classes of the shard this step used, as indices into the shard (all of them at rate 1). */
  sample: ShardSample;
  /** The shard's classes. */
  range: ShardRange;
}

// Buffers kept across steps: fresh multi-megabyte arrays page-fault on every step.
const buffers = new Map<string, Float32Array | Float64Array>();

function scratch<T extends Float32Array | Float64Array>(
  name: string,
  length: number,
  make: (n: number) => T,
): T {
  let b = buffers.get(name) as T | undefined;
  if (b === undefined || b.length < length) {
    b = make(length);
    buffers.set(name, b);
  }
  return b.subarray(0, length) as T;
}
const f32 = (name: string, n: number) => scratch(name, n, (k) => new Float32Array(k));

interface CopyRowsBinding {
  copyRows(src: Float32Array, dst: Float32Array, rows: Int32Array, width: number, scatter: boolean): void;
}

// Row copies of the sampled classes run on the engine's pool, one call per step rather than one per row.
function copyRows(src: Float32Array, dst: Float32Array, rows: Int32Array, D: number, scatter: boolean): void {
  (requireEngine() as unknown as CopyRowsBinding).copyRows(src, dst, rows, D, scatter);
}
const gatherRows = (src: Float32Array, rows: Int32Array, D: number, dst: Float32Array) =>
  copyRows(src, dst, rows, D, false);
const scatterRows = (src: Float32Array, rows: Int32Array, D: number, dst: Float32Array) =>
  copyRows(src, dst, rows, D, true);

/** Checks this rank's arguments; returns the error instead of throwing, so every rank can agree first. */
function localProblem(a: ShardedStepArgs, range: ShardRange): Error | null {
  const b = a.labels?.length ?? 0;
  try {
    if (!Number.isInteger(a.D) || a.D < 1) throw new InvalidArgumentError('D', 'a positive integer', a.D);
    if (!(a.labels instanceof Int32Array) || b < 1)
      throw new InvalidArgumentError('labels', 'a non-empty Int32Array', a.labels);
    if (!(a.X instanceof Float32Array) || a.X.length !== b * a.D)
      throw new ShapeMismatchError('X', `a Float32Array of b·D = ${b * a.D} values`, String(a.X?.length));
    if (!(a.W instanceof Float32Array) || a.W.length !== range.count * a.D)
      throw new ShapeMismatchError(
        'W',
        `this rank's ${range.count} classes × ${a.D} values (classes [${range.start}, ${range.start + range.count}))`,
        String(a.W?.length),
      );
    for (let i = 0; i < b; i++)
      if (!(a.labels[i] >= 0 && a.labels[i] < a.classes))
        throw new InvalidArgumentError(`labels[${i}]`, `a class index in [0, ${a.classes})`, a.labels[i]);
    const rate = a.rate ?? 1;
    if (!(rate > 0 && rate <= 1)) throw new InvalidArgumentError('rate', 'a sample rate in (0, 1]', rate);
    if (rate < 1 && a.rng === undefined) throw new InvalidArgumentError('rng', 'a seeded Rng when rate < 1');
    if (a.sgd && a.wantDW)
      throw new InvalidArgumentError('wantDW', 'false when sgd is given (dW is not stored)');
    if (a.sgd?.velocity !== undefined && a.sgd.velocity.length !== a.W.length)
      throw new ShapeMismatchError(
        'sgd.velocity',
        `${a.W.length} values (the size of W)`,
        String(a.sgd.velocity.length),
      );
    checkShardable(a.geometry, a.margin);
    return null;
  } catch (err) {
    return err as Error;
  }
}

/** The loss over the batch and dL/dce_i (the same for every row), from each row's cross-entropy. */
function batchLoss(
  margin: MarginSpec,
  rowCe: Float64Array,
): { loss: number; parts: Record<string, number>; w: number } {
  const B = rowCe.length;
  let ce = 0;
  let dist = 0;
  for (const v of rowCe) {
    ce += v;
    dist += Math.min(v, DIST_CE_CEILING);
  }
  ce /= B;
  dist /= B;
  const loss = margin.loss;
  if (loss.kind === 'focal') {
    const q = 1 - Math.exp(-ce);
    const g = loss.gamma;
    const focal = q ** g * ce;
    const dce = q ** g + (g === 0 ? 0 : g * q ** (g - 1) * Math.exp(-ce) * ce);
    return { loss: focal, parts: { ce, focal }, w: dce / B };
  }
  return { loss: loss.kind === 'distce' ? dist : ce, parts: { ce }, w: 1 / B };
}

/** One step of the model-parallel head (see the module comment). Every rank calls it together. */
export function shardedMarginStep(a: ShardedStepArgs): ShardedStepResult {
  const { comm, D } = a;
  if (!Number.isSafeInteger(a.classes) || a.classes < comm.size)
    throw new InvalidArgumentError('classes', `an integer ≥ the number of ranks (${comm.size})`, a.classes);
  const range = shardRange(a.classes, comm.size, comm.rank);
  // Every rank learns whether all ranks can go on before the first collective that moves data: a rank
  // that threw alone would leave the others waiting forever.
  const problem = localProblem(a, range);
  const b = a.labels?.length ?? 0;
  const status = new Int32Array(2 * comm.size);
  comm.allGather(Int32Array.of(b, problem === null ? 1 : 0), status);
  // This rank's own error as it is; the others say which rank stopped them.
  if (problem !== null) throw problem;
  for (let r = 0; r < comm.size; r++) {
    if (status[2 * r + 1] !== 1)
      throw new InvalidArgumentError(
        'shardedMarginStep',
        `valid arguments on every rank (rank ${r} rejected its own; its error says why)`,
      );
    if (status[2 * r] !== b)
      throw new ShapeMismatchError(
        'labels',
        `the same batch size on every rank (${b} here)`,
        `${status[2 * r]} on rank ${r}`,
      );
  }
  const B = b * comm.size;

  // 1. The whole batch on every rank.
  const X = f32('X', B * D);
  comm.allGather(a.X, X);
  const labels = new Int32Array(B);
  comm.allGather(a.labels, labels);

  // 2. This shard's classes (sampled) and pass 1.
  const rate = a.rate ?? 1;
  const owned = shardLabels(labels, range);
  const sample: ShardSample =
    rate < 1
      ? sampleShard(owned, range.count, rate, a.rng as Rng)
      : { classes: Int32Array.from({ length: range.count }, (_, k) => k), labels: owned };
  const sampled = rate < 1;
  const n = sample.classes.length;
  let W = a.W;
  let velocity = a.sgd?.velocity;
  if (sampled) {
    W = f32('W', n * D);
    gatherRows(a.W, sample.classes, D, W);
    if (velocity) {
      const v = f32('velocity', n * D);
      gatherRows(velocity, sample.classes, D, v);
      velocity = v;
    }
  }
  const pass = { X, W, labels: sample.labels, B, D, spec: encodeShardedSpec(a.geometry, a.margin) };
  const stats = {
    rowMax: new Float64Array(B),
    rowSum: new Float64Array(B),
    targetLogit: new Float64Array(B),
  };
  shardStats(pass, stats);

  // 3. The global log-sum-exp of every row, and its target logit.
  const globalMax = Float64Array.from(stats.rowMax);
  comm.allReduceMax(globalMax);
  const sums = new Float64Array(2 * B);
  for (let i = 0; i < B; i++) {
    sums[i] =
      stats.rowMax[i] > Number.NEGATIVE_INFINITY
        ? stats.rowSum[i] * Math.exp(stats.rowMax[i] - globalMax[i])
        : 0;
    sums[B + i] = stats.targetLogit[i];
  }
  comm.allReduceSum(sums);
  const lse = new Float64Array(B);
  const rowCe = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    lse[i] = globalMax[i] + Math.log(sums[i]);
    rowCe[i] = lse[i] - sums[B + i];
  }
  const { loss, parts, w } = batchLoss(a.margin, rowCe);

  // 4. Gradients; the shard's rows step in place.
  const dXAll = f32('dXAll', B * D);
  const dWSample = a.wantDW ? new Float32Array(n * D) : undefined;
  shardBackward({
    ...pass,
    lse,
    gradWeight: w,
    sgd: a.sgd ? { ...a.sgd, velocity } : undefined,
    dX: dXAll,
    dW: dWSample,
  });
  if (sampled && a.sgd) {
    scatterRows(W, sample.classes, D, a.W);
    if (velocity && a.sgd.velocity) scatterRows(velocity, sample.classes, D, a.sgd.velocity);
  }
  let dW: Float32Array | undefined;
  if (dWSample) {
    dW = sampled ? new Float32Array(a.W.length) : dWSample;
    if (sampled) scatterRows(dWSample, sample.classes, D, dW);
  }

  // 5. Each rank's share of dL/dX, summed over the shards.
  const dX = new Float32Array(b * D);
  comm.reduceScatter(dXAll, dX);
  return { loss, parts, dX, dW, sample, range };
}
