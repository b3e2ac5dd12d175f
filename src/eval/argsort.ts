/**
 * Stable descending sort of float64 scores by LSD radix sort on their bit patterns, carrying each
 * score's input index and 0/1 label along.
 *
 * A comparator sort over an index array costs several seconds for ten million scores in V8. Here
 * six 11-bit passes move 12-byte records (key high word, key low word, index | label bit), so each
 * bucket is one write stream and the sorted scores, labels and order all come out sequentially,
 * without a random-access gather afterwards. 11-bit digits keep the 2,048 live write positions
 * within the TLB and caches; 16-bit digits (four passes over 65,536 positions) measured 15–30%
 * more CPU time on ten million scores. Stability makes equal scores keep their input order, so
 * results never depend on the engine's sort algorithm.
 */
import { InvalidArgumentError } from '../errors.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const RADIX_BITS = 11;
const BUCKETS = 1 << RADIX_BITS;
const MASK = BUCKETS - 1;
const PASSES = 6; // ⌈64 / 11⌉
const SIGN = 0x80000000;
const LABEL_BIT = 0x80000000;
/** Indices share a word with the label bit. */
const MAX_LENGTH = 0x7fffffff;

/**
 * Digit p covers key bits [11p, 11p + 11) of the 64-bit key hi:lo. It is computed branch-free as
 * `(((lo >>> loShift) & loMask) | ((hi >>> hiShift) << hiLeft)) & MASK`; a zero `loMask` or a
 * `hiLeft` of 11 switches a word off (JavaScript shift counts wrap at 32, so `lo >>> 32` cannot).
 */
const DIGITS = Array.from({ length: PASSES }, (_, p) => {
  const bit = p * RADIX_BITS;
  if (bit + RADIX_BITS <= 32) return { loShift: bit, loMask: MASK, hiShift: 0, hiLeft: RADIX_BITS };
  if (bit >= 32) return { loShift: 0, loMask: 0, hiShift: bit - 32, hiLeft: 0 };
  return { loShift: bit, loMask: MASK, hiShift: 0, hiLeft: 32 - bit };
});

/** Scores sorted from largest to smallest, with labels and input positions. */
export interface SortedScores {
  /** `order[r]` is the input index of the r-th largest score. */
  readonly order: Uint32Array;
  readonly sortedScores: Float64Array;
  readonly sortedLabels: Uint8Array;
}

/**
 * Sorts `scores` from largest to smallest (stable) and carries `labels` (0/1) along. Scores must
 * not be NaN; -0 and +0 are different keys, so callers normalise -0 to +0 first.
 */
export function sortScoresDescending(
  scores: Float64Array,
  labels: Uint8Array = new Uint8Array(scores.length),
): SortedScores {
  const n = scores.length;
  if (n > MAX_LENGTH) throw new InvalidArgumentError('scores', `at most ${MAX_LENGTH} values`, `${n} values`);
  const words = new Uint32Array(scores.buffer, scores.byteOffset, n * 2);
  const lo = LITTLE_ENDIAN ? 0 : 1;
  const hi = 1 - lo;
  let src = new Uint32Array(3 * n);
  const counts = new Uint32Array(PASSES * BUCKETS);
  for (let i = 0; i < n; i++) {
    // Map the double to an unsigned 64-bit key whose order is the *descending* order of the
    // doubles: non-negative → flip the sign bit then complement everything; negative → flip all
    // bits then complement everything, i.e. keep the bits as they are.
    let h = words[2 * i + hi];
    let l = words[2 * i + lo];
    if ((h & SIGN) === 0) {
      h = ~(h | SIGN) >>> 0;
      l = ~l >>> 0;
    }
    src[3 * i] = h;
    src[3 * i + 1] = l;
    src[3 * i + 2] = labels[i] ? (i | LABEL_BIT) >>> 0 : i;
    // One histogram per digit, all filled in this pass (the six digits of DIGITS, written out).
    counts[l & MASK]++;
    counts[BUCKETS + ((l >>> 11) & MASK)]++;
    counts[2 * BUCKETS + (((l >>> 22) | (h << 10)) & MASK)]++;
    counts[3 * BUCKETS + ((h >>> 1) & MASK)]++;
    counts[4 * BUCKETS + ((h >>> 12) & MASK)]++;
    counts[5 * BUCKETS + (h >>> 23)]++;
  }

  let dst = new Uint32Array(3 * n);
  for (let pass = 0; pass < PASSES; pass++) {
    const base = pass * BUCKETS;
    // A digit shared by every key cannot change the order: skip it (common for scores that were
    // float32, whose low mantissa bits are all zero).
    let firstNonEmpty = 0;
    while (firstNonEmpty < MASK && counts[base + firstNonEmpty] === 0) firstNonEmpty++;
    if (counts[base + firstNonEmpty] === n) continue;
    let offset = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[base + b];
      counts[base + b] = offset;
      offset += c;
    }
    const { loShift, loMask, hiShift, hiLeft } = DIGITS[pass];
    for (let i = 0; i < 3 * n; i += 3) {
      const d = (((src[i + 1] >>> loShift) & loMask) | ((src[i] >>> hiShift) << hiLeft)) & MASK;
      const at = 3 * counts[base + d]++;
      dst[at] = src[i];
      dst[at + 1] = src[i + 1];
      dst[at + 2] = src[i + 2];
    }
    [src, dst] = [dst, src];
  }

  // Decode sequentially: key → double bits, payload → index and label. The spare record buffer
  // (12 bytes per score) holds exactly the sorted scores and the order; reusing its pages saves
  // touching 120 MB of fresh memory for ten million scores.
  const sortedScores = new Float64Array(dst.buffer, 0, n);
  const out = new Uint32Array(dst.buffer, 0, 2 * n);
  const order = new Uint32Array(dst.buffer, 8 * n, n);
  const sortedLabels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const h = src[3 * r];
    const l = src[3 * r + 1];
    if (h & SIGN) {
      out[2 * r + hi] = h;
      out[2 * r + lo] = l;
    } else {
      out[2 * r + hi] = ~h & 0x7fffffff;
      out[2 * r + lo] = ~l >>> 0;
    }
    const p = src[3 * r + 2];
    order[r] = p & MAX_LENGTH;
    sortedLabels[r] = p >>> 31;
  }
  return { order, sortedScores, sortedLabels };
}

/**
 * Returns the permutation that sorts `values` from largest to smallest; ties keep their input order.
 * The values must not be NaN; -0 and +0 are ordered as different keys, so callers normalise -0 first.
 */
export function argsortDescending(values: Float64Array): Uint32Array {
  return sortScoresDescending(values).order;
}
