/** Equal error rate. */
import { type ScoreInput, toRanked } from './ranked.js';

/** The equal error rate and where on the ROC it lies. */
export interface EerResult {
  /** The rate at which the false accept rate equals the false reject rate (1 − TPR). */
  readonly eer: number;
  /**
   * Threshold of the first ROC point (in decreasing threshold order) where FNR ≤ FPR, i.e. the end
   * of the segment on which the two rates cross.
   */
  readonly threshold: number;
}

/**
 * Equal error rate: walking the ROC from threshold +∞ down, FNR falls from 1 and FPR rises from 0;
 * the EER is their common value where they cross, interpolated linearly along the ROC segment on
 * which the sign of FNR − FPR changes (exact when a point has FNR = FPR).
 */
export function eer(input: ScoreInput): EerResult {
  const ranked = toRanked(input);
  const s = ranked.sortedScores;
  const y = ranked.sortedLabels;
  const n = s.length;
  const P = ranked.positives;
  const N = ranked.negatives;
  let tp = 0;
  let fp = 0;
  let prevFpr = 0;
  let prevGap = 1; // FNR − FPR at the point (0, 0)
  for (let r = 0; r < n; r++) {
    if (y[r]) tp++;
    else fp++;
    if (r !== n - 1 && s[r + 1] === s[r]) continue;
    const fpr = fp / N;
    const gap = (P - tp) / P - fpr;
    if (gap <= 0) {
      // On the segment, FPR and FNR are both linear in t ∈ [0, 1]; they meet where the gap is 0.
      const t = gap === 0 ? 1 : prevGap / (prevGap - gap);
      return { eer: prevFpr + t * (fpr - prevFpr), threshold: s[r] };
    }
    prevFpr = fpr;
    prevGap = gap;
  }
  // Unreachable with both classes present: the last point is (1, 1) where FNR − FPR = −1.
  return { eer: Number.NaN, threshold: Number.NaN };
}
