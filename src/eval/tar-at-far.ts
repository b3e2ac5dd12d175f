/** True accept rate at fixed false accept rates. */
import { InvalidArgumentError } from '../errors.js';
import { type ScoreInput, toRanked } from './ranked.js';

/** The default FAR targets: 1e-1 down to 1e-6. */
export const DEFAULT_FAR_TARGETS: readonly number[] = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6];

/** A FAR as written in metric names and column titles: 0.001 → "1e-3", 0.05 → "5e-2". */
export function farLabel(far: number): string {
  const [mantissa, exponent] = far.toExponential().split('e');
  return `${mantissa}e${Number(exponent)}`;
}

/** TAR at one FAR target. */
export interface TarAtFar {
  /** The FAR target. */
  readonly far: number;
  /** Largest TPR over ROC points whose FPR ≤ `far`. */
  readonly tar: number;
  /** Threshold of that ROC point (`+Infinity` when only the point (0, 0) qualifies). */
  readonly threshold: number;
  /** The FPR actually reached at that point (≤ `far`). */
  readonly achievedFar: number;
}

/**
 * For each FAR target, the largest TPR over ROC points (all distinct thresholds) whose FPR ≤ the
 * target. Targets the impostor count cannot resolve (target < 1 / negatives) are left out, so the
 * result may be shorter than `targets`.
 */
export function tarAtFar(input: ScoreInput, targets: readonly number[] = DEFAULT_FAR_TARGETS): TarAtFar[] {
  if (!Array.isArray(targets)) throw new InvalidArgumentError('targets', 'an array of FAR values', targets);
  targets.forEach((t, i) => {
    if (typeof t !== 'number' || !(t > 0 && t <= 1)) {
      throw new InvalidArgumentError(`targets[${i}]`, 'a number in (0, 1]', t);
    }
  });
  const ranked = toRanked(input);
  const s = ranked.sortedScores;
  const y = ranked.sortedLabels;
  const n = s.length;
  const P = ranked.positives;
  const N = ranked.negatives;
  // Comparing the rounded quotient fp/N with a target is exact at equality: if fp/N equals 10^-k
  // mathematically, both round to the same double. Unsupported targets are dropped here.
  const supported = targets.filter((far) => 1 / N <= far);
  // TPR never decreases along the ROC, so each answer is the last point with FPR ≤ target: one
  // sweep records, for every target, the last qualifying point.
  const bestTp = new Float64Array(supported.length);
  const bestFp = new Float64Array(supported.length);
  const bestThreshold = new Float64Array(supported.length).fill(Number.POSITIVE_INFINITY);
  let tp = 0;
  let fp = 0;
  for (let r = 0; r < n; r++) {
    if (y[r]) tp++;
    else fp++;
    if (r !== n - 1 && s[r + 1] === s[r]) continue;
    const fpr = fp / N;
    let still = false;
    for (let j = 0; j < supported.length; j++) {
      if (fpr <= supported[j]) {
        bestTp[j] = tp;
        bestFp[j] = fp;
        bestThreshold[j] = s[r];
        still = true;
      }
    }
    if (!still) break; // FPR only grows: no later point qualifies for any target
  }
  return supported.map((far, j) => ({
    far,
    tar: bestTp[j] / P,
    threshold: bestThreshold[j],
    achievedFar: bestFp[j] / N,
  }));
}
