/**
 * Balanced verification pairs drawn from the labels of a held-out set: half same-identity, half
 * different-identity, no pair repeated, seeded.
 */
import { InvalidArgumentError } from '../errors.js';
import { createRng, type Rng } from '../rng.js';

/** Pairs of sample indices with their ground truth. */
export interface VerificationPairs {
  /** Index of the first image of each pair (always less than `second`). */
  readonly first: Int32Array;
  readonly second: Int32Array;
  /** 1 for a same-identity pair, 0 otherwise. */
  readonly same: Uint8Array;
}

/** Options of {@link verificationPairs}. */
export interface PairOptions {
  /** Total number of pairs, even (half of each kind). */
  readonly pairs: number;
  /** Seed (integer, default 0). */
  readonly seed?: number;
}

/**
 * Draws `pairs/2` same-identity pairs uniformly among all distinct same-identity pairs, and as many
 * different-identity pairs uniformly among all distinct different-identity pairs, then interleaves
 * them in a seeded random order (so contiguous k-fold splits see both kinds).
 * Throws `InvalidArgumentError` when the labels do not hold that many distinct pairs of a kind.
 */
export function verificationPairs(labels: ArrayLike<number>, options: PairOptions): VerificationPairs {
  if (!(Array.isArray(labels) || ArrayBuffer.isView(labels))) {
    throw new InvalidArgumentError('labels', 'an array or typed array of integer labels', labels);
  }
  const total = options.pairs;
  if (!Number.isInteger(total) || total <= 0 || total % 2 !== 0) {
    throw new InvalidArgumentError('pairs', 'a positive even integer', total);
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new InvalidArgumentError('seed', 'an integer', seed);
  const n = labels.length;
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0) {
      throw new InvalidArgumentError(`labels[${i}]`, 'a non-negative integer', label);
    }
    let list = members.get(label);
    if (list === undefined) {
      list = [];
      members.set(label, list);
    }
    list.push(i);
  }
  const half = total / 2;
  let samePairs = 0;
  let squares = 0;
  for (const list of members.values()) {
    samePairs += (list.length * (list.length - 1)) / 2;
    squares += list.length * list.length;
  }
  const differentPairs = (n * n - squares) / 2;
  if (samePairs < half) {
    throw new InvalidArgumentError(
      'pairs',
      `at most ${2 * samePairs} (the labels hold ${samePairs} same-identity pairs)`,
      total,
    );
  }
  if (differentPairs < half) {
    throw new InvalidArgumentError(
      'pairs',
      `at most ${2 * differentPairs} (the labels hold ${differentPairs} different-identity pairs)`,
      total,
    );
  }
  const rng = createRng(seed);
  const same = drawSame(members, n, samePairs, half, rng);
  const different = drawDifferent(labels, differentPairs, half, rng);

  const first = new Int32Array(total);
  const second = new Int32Array(total);
  const isSame = new Uint8Array(total);
  const order = new Int32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  for (let i = total - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (let k = 0; k < total; k++) {
    const src = order[k];
    const pair = src < half ? same[src] : different[src - half];
    first[k] = pair[0];
    second[k] = pair[1];
    isSame[k] = src < half ? 1 : 0;
  }
  return { first, second, same: isSame };
}

type Pair = [number, number];

const key = (a: number, b: number, n: number) => (a < b ? a * n + b : b * n + a);
const ordered = (a: number, b: number): Pair => (a < b ? [a, b] : [b, a]);

/** Partial Fisher–Yates over an explicit list: used when most of the available pairs are wanted. */
function pickFrom(all: Pair[], count: number, rng: Rng): Pair[] {
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(all.length - i);
    const t = all[i];
    all[i] = all[j];
    all[j] = t;
  }
  return all.slice(0, count);
}

function drawSame(
  members: Map<number, number[]>,
  n: number,
  available: number,
  count: number,
  rng: Rng,
): Pair[] {
  const groups = [...members.values()].filter((g) => g.length > 1);
  if (available <= 4 * count) {
    const all: Pair[] = [];
    for (const g of groups)
      for (let a = 0; a < g.length; a++) for (let b = a + 1; b < g.length; b++) all.push([g[a], g[b]]);
    return pickFrom(all, count, rng);
  }
  // Rejection sampling: pick a group with probability ∝ its pair count, then two distinct members;
  // duplicates are redrawn, which is cheap because fewer than a quarter of the pairs are wanted.
  const cumulative = new Float64Array(groups.length);
  let acc = 0;
  groups.forEach((g, i) => {
    acc += (g.length * (g.length - 1)) / 2;
    cumulative[i] = acc;
  });
  const seen = new Set<number>();
  const out: Pair[] = [];
  while (out.length < count) {
    const r = rng.next() * acc;
    let lo = 0;
    let hi = groups.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    const g = groups[lo];
    const a = rng.int(g.length);
    let b = rng.int(g.length - 1);
    if (b >= a) b++;
    const k = key(g[a], g[b], n);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(ordered(g[a], g[b]));
  }
  return out;
}

function drawDifferent(labels: ArrayLike<number>, available: number, count: number, rng: Rng): Pair[] {
  const n = labels.length;
  if (available <= 4 * count) {
    const all: Pair[] = [];
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) if (labels[a] !== labels[b]) all.push([a, b]);
    return pickFrom(all, count, rng);
  }
  // Uniform over ordered pairs of samples, rejecting same-label pairs and repeats: uniform over
  // unordered different-identity pairs. Fewer than a quarter are wanted, so few draws are wasted
  // unless one identity dominates, in which case `available` is small and the branch above runs.
  const seen = new Set<number>();
  const out: Pair[] = [];
  while (out.length < count) {
    const a = rng.int(n);
    const b = rng.int(n);
    if (labels[a] === labels[b]) continue;
    const k = key(a, b, n);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(ordered(a, b));
  }
  return out;
}
