/**
 * The ROC curve over every distinct threshold, with the rule "same iff score ≥ threshold".
 * AUC, EER and TAR@FAR sweep the ranked scores directly (no per-point arrays, which for ten million
 * distinct scores would cost hundreds of megabytes); {@link rocCurve} materialises the points for
 * plotting.
 */
import { type ScoreInput, toRanked } from './ranked.js';

/** ROC curve as rates, ready to plot: `fpr[i]`, `tpr[i]` are obtained with `thresholds[i]`. */
export interface RocCurve {
  /** False positive rate (FAR): different-identity pairs accepted / all different-identity pairs. */
  readonly fpr: Float64Array;
  /** True positive rate (TAR): same-identity pairs accepted / all same-identity pairs. */
  readonly tpr: Float64Array;
  /** Strictly decreasing thresholds; the first is `+Infinity` (the point (0, 0)). */
  readonly thresholds: Float64Array;
}

/**
 * The ROC curve: the starting point (0, 0) at threshold +∞, then one point per distinct score, as
 * scikit-learn's `roc_curve(..., drop_intermediate=False)`. A run of tied scores moves the curve in
 * one (possibly diagonal) step.
 */
export function rocCurve(input: ScoreInput): RocCurve {
  const ranked = toRanked(input);
  const s = ranked.sortedScores;
  const y = ranked.sortedLabels;
  const n = s.length;
  let distinct = 1;
  for (let r = 1; r < n; r++) if (s[r] !== s[r - 1]) distinct++;
  const thresholds = new Float64Array(distinct + 1);
  const fpr = new Float64Array(distinct + 1);
  const tpr = new Float64Array(distinct + 1);
  thresholds[0] = Number.POSITIVE_INFINITY;
  let k = 0;
  let tp = 0;
  let fp = 0;
  for (let r = 0; r < n; r++) {
    if (y[r]) tp++;
    else fp++;
    // A point is emitted only after the last pair of a run of equal scores.
    if (r === n - 1 || s[r + 1] !== s[r]) {
      k++;
      thresholds[k] = s[r];
      tpr[k] = tp / ranked.positives;
      fpr[k] = fp / ranked.negatives;
    }
  }
  return { fpr, tpr, thresholds };
}
