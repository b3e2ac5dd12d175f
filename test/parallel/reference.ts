/**
 * What a sharded run must reproduce: the same steps in one process with the fused kernel
 * (marginSoftmaxNative), on the classes the N shards would have sampled (their union; all classes at
 * rate 1). Shared by the in-process tests and the mpirun tests.
 */
import { marginSoftmaxNative } from '../../src/engine/margin.js';
import { createHead } from '../../src/heads/registry.js';
import type { GeometrySpec, MarginSpec } from '../../src/margin/spec.js';
import { sampleShard, shardLabels, shardRange } from '../../src/parallel/shard.js';
import { shardedHeadSpec } from '../../src/parallel/sharded-head.js';
import { createRng, type Rng } from '../../src/rng.js';

/** One test problem: every rank derives the same data from the seed. */
export interface Problem {
  head: string;
  headParams?: Record<string, unknown>;
  /** Rows per rank. */
  b: number;
  D: number;
  C: number;
  steps: number;
  rate: number;
  seed: number;
  lr: number;
  momentum: number;
}

export function problemData(p: Problem, ranks: number) {
  const rng = createRng(p.seed);
  const B = p.b * ranks;
  const W = Float32Array.from({ length: p.C * p.D }, () => rng.normal() * 0.1);
  const batches = Array.from({ length: p.steps }, () => ({
    X: Float32Array.from({ length: B * p.D }, () => rng.normal()),
    labels: Int32Array.from({ length: B }, () => rng.int(p.C)),
  }));
  const { geometry, margin } = shardedHeadSpec(createHead(p.head, p.headParams ?? {}), p.C);
  return { B, W, batches, geometry, margin };
}

/** Rank r's sampling source: the seed and the rank, so that every rank draws its own classes. */
export function shardRng(seed: number, rank: number): Rng {
  return createRng(seed * 7919 + rank);
}

/** The union of the classes the shards sample for one step (global indices, ascending). */
export function unionSample(
  labels: Int32Array,
  C: number,
  ranks: number,
  rate: number,
  rngs: Rng[],
): Int32Array {
  const out: number[] = [];
  for (let r = 0; r < ranks; r++) {
    const range = shardRange(C, ranks, r);
    const s = sampleShard(shardLabels(labels, range), range.count, rate, rngs[r]);
    for (const c of s.classes) out.push(range.start + c);
  }
  return Int32Array.from(out);
}

/** Losses, the whole batch's dL/dX per step, and W after the steps, in one process. */
export function referenceRun(
  p: Problem,
  ranks: number,
  data: ReturnType<typeof problemData>,
  geometry: GeometrySpec,
  margin: MarginSpec,
): { losses: number[]; dX: Float32Array[]; W: Float32Array } {
  const { D, C } = p;
  const W = data.W.slice();
  const velocity = new Float32Array(W.length);
  const rngs = Array.from({ length: ranks }, (_, r) => shardRng(p.seed, r));
  const losses: number[] = [];
  const dX: Float32Array[] = [];
  for (const { X, labels } of data.batches) {
    const classes =
      p.rate < 1 ? unionSample(labels, C, ranks, p.rate, rngs) : Int32Array.from({ length: C }, (_, k) => k);
    const position = new Map<number, number>();
    classes.forEach((c, k) => {
      position.set(c, k);
    });
    const Ws = new Float32Array(classes.length * D);
    const vs = new Float32Array(classes.length * D);
    classes.forEach((c, k) => {
      Ws.set(W.subarray(c * D, (c + 1) * D), k * D);
      vs.set(velocity.subarray(c * D, (c + 1) * D), k * D);
    });
    const r = marginSoftmaxNative({
      X,
      W: Ws,
      labels: Int32Array.from(labels, (y) => position.get(y) as number),
      B: labels.length,
      D,
      geometry,
      margin,
      sgd: { lr: p.lr, momentum: p.momentum, velocity: vs },
      overwriteW: true,
    });
    classes.forEach((c, k) => {
      W.set(Ws.subarray(k * D, (k + 1) * D), c * D);
      velocity.set(vs.subarray(k * D, (k + 1) * D), c * D);
    });
    losses.push(r.loss);
    dX.push(r.dX);
  }
  return { losses, dX, W };
}

/** max|got − ref| / max|ref|. */
export function relativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / Math.max(scale, Number.MIN_VALUE);
}
