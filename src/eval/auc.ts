/** Area under the ROC curve. */
import { type ScoreInput, toRanked } from './ranked.js';

/**
 * Area under the ROC curve by the trapezoidal rule over every distinct threshold, so a run of tied
 * scores counts as one diagonal step (tied same/different pairs count one half), as scikit-learn's
 * `roc_auc_score`. Equals the probability that a random same-identity pair scores above a random
 * different-identity pair, ties counting ½.
 */
export function auc(input: ScoreInput): number {
  const ranked = toRanked(input);
  const s = ranked.sortedScores;
  const y = ranked.sortedLabels;
  const n = s.length;
  // Twice the area in count units is a sum of integer products, exact in doubles for any realistic
  // size (below 2^53); one division at the end keeps the result correctly rounded.
  let twiceArea = 0;
  let tp = 0;
  let fp = 0;
  let prevTp = 0;
  let prevFp = 0;
  for (let r = 0; r < n; r++) {
    if (y[r]) tp++;
    else fp++;
    if (r === n - 1 || s[r + 1] !== s[r]) {
      twiceArea += (fp - prevFp) * (tp + prevTp);
      prevTp = tp;
      prevFp = fp;
    }
  }
  return twiceArea / (2 * ranked.positives * ranked.negatives);
}
