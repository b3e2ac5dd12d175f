/**
 * How the classes are split between ranks, and Partial FC sampling inside one shard (as insightface's
 * partial_fc_v2): rank r of N holds the contiguous classes [start, start + count) with
 * count = ⌊C/N⌋ + (r < C mod N), and samples ⌈rate·count⌉ of them, every class of the batch it owns kept.
 */
import { InvalidArgumentError } from '../errors.js';
import { sampleClasses } from '../heads/partialfc.js';
import type { Rng } from '../rng.js';

/** The classes one rank holds: [start, start + count). */
export interface ShardRange {
  start: number;
  count: number;
}

function checkCount(name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new InvalidArgumentError(name, `an integer ≥ ${min}`, v);
}

/** Rank `rank`'s classes when `classes` are split contiguously over `size` ranks. */
export function shardRange(classes: number, size: number, rank: number): ShardRange {
  checkCount('classes', classes, 1);
  checkCount('size', size, 1);
  if (!Number.isInteger(rank) || rank < 0 || rank >= size)
    throw new InvalidArgumentError('rank', `an integer in [0, ${size})`, rank);
  const base = Math.floor(classes / size);
  const extra = classes % size;
  return { start: rank * base + Math.min(rank, extra), count: base + (rank < extra ? 1 : 0) };
}

/** Labels as indices into the shard, −1 where another rank holds the class. */
export function shardLabels(labels: Int32Array, range: ShardRange): Int32Array {
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] - range.start;
    out[i] = y >= 0 && y < range.count ? y : -1;
  }
  return out;
}

/** The classes one shard uses this step, and the rows' labels re-indexed into them (−1: not here). */
export interface ShardSample {
  /** Sampled classes as indices into the shard, ascending. */
  classes: Int32Array;
  /** Position of each row's class in `classes`, −1 where another rank holds it. */
  labels: Int32Array;
}

/**
 * Partial FC inside one shard: ⌈rate·count⌉ of its classes (more when the batch holds more of them),
 * every class of the batch that the shard holds kept, the rest drawn uniformly with `rng`
 * (`sampleClasses`, the single-process sampler, on the shard's own classes).
 */
export function sampleShard(labels: Int32Array, count: number, rate: number, rng: Rng): ShardSample {
  if (count === 0) return { classes: new Int32Array(0), labels: new Int32Array(labels.length).fill(-1) };
  const owned: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) owned.push(i);
  const sample = sampleClasses(
    Int32Array.from(owned, (i) => labels[i]),
    count,
    rate,
    rng,
  );
  const out = new Int32Array(labels.length).fill(-1);
  owned.forEach((i, k) => {
    out[i] = sample.labels[k];
  });
  return { classes: sample.classes, labels: out };
}
