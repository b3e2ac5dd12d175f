/**
 * k-fold verification accuracy as reported on LFW-style benchmarks: contiguous folds in file order,
 * the threshold of each fold chosen on the other folds.
 */
import { InvalidArgumentError } from '../errors.js';
import { type ScoreInput, toRanked } from './ranked.js';

/** Options of {@link kFoldAccuracy}. */
export interface KFoldOptions {
  /** Number of contiguous folds, at least 2 (default 10, as LFW). */
  readonly folds?: number;
}

/** Result of {@link kFoldAccuracy}. */
export interface KFoldResult {
  /** Mean of the fold accuracies. */
  readonly accuracy: number;
  /** Population standard deviation of the fold accuracies. */
  readonly accuracyStd: number;
  /** Mean of the fold thresholds. */
  readonly threshold: number;
  /** Accuracy of each fold, measured with the threshold chosen on the other folds. */
  readonly foldAccuracies: Float64Array;
  /** Threshold chosen for each fold. */
  readonly foldThresholds: Float64Array;
}

/**
 * Start offsets of `folds` contiguous folds over `n` items, plus `n` at the end:
 * fold k is [⌊k·n/folds⌋, ⌊(k+1)·n/folds⌋).
 */
export function foldBoundaries(n: number, folds: number): number[] {
  const starts: number[] = [];
  for (let k = 0; k <= folds; k++) starts.push(Math.floor((k * n) / folds));
  return starts;
}

/**
 * k-fold accuracy. Fold k holds pairs [⌊k·n/K⌋, ⌊(k+1)·n/K⌋) in input order. Its threshold is, among
 * every distinct score of the other folds, the one that maximises their accuracy under "same iff
 * score ≥ threshold" (ties go to the smallest such threshold); the fold's accuracy is measured
 * with it.
 *
 * Cost: one sort (shared with the other metrics) and one sweep over the sorted scores that updates
 * all folds at once, O(n log n + n·K) instead of the O(n²) of trying every threshold.
 */
export function kFoldAccuracy(input: ScoreInput, options: KFoldOptions = {}): KFoldResult {
  const ranked = toRanked(input);
  const n = ranked.size;
  const K = options.folds ?? 10;
  if (!Number.isInteger(K) || K < 2) throw new InvalidArgumentError('folds', 'an integer ≥ 2', K);
  if (n < K) throw new InvalidArgumentError('scores', `at least ${K} pairs (one per fold)`, `${n} pairs`);

  const starts = foldBoundaries(n, K);
  // Test-fold class sizes.
  const foldPos = new Float64Array(K);
  const foldNeg = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    for (let i = starts[k]; i < starts[k + 1]; i++) foldPos[k] += ranked.labels[i];
    foldNeg[k] = starts[k + 1] - starts[k] - foldPos[k];
  }

  // Sweep from the largest score down. With "same iff score ≥ t", the pairs of fold f a threshold
  // gets right are its positives ≥ t plus its negatives < t = negatives_f + margin_f(t), where
  // margin_f(t) = (positives − negatives of fold f with score ≥ t). The other folds get
  // trainNeg_f + (margin_all(t) − margin_f(t)) right. One running margin per fold is all we need.
  const s = ranked.sortedScores;
  const y = ranked.sortedLabels;
  const order = ranked.order;
  const trainNeg = new Float64Array(K);
  for (let f = 0; f < K; f++) trainNeg[f] = ranked.negatives - foldNeg[f];
  const margin = new Float64Array(K);
  const inGroup = new Float64Array(K); // per fold: pairs in the current run of equal scores
  const bestCorrect = new Float64Array(K).fill(-1);
  const bestThreshold = new Float64Array(K);
  const testCorrect = new Float64Array(K);
  let allMargin = 0;
  let groupSize = 0;
  for (let r = 0; r < n; r++) {
    // Index i lies in fold ⌈K(i+1)/n⌉ − 1, the last k with ⌊k·n/K⌋ ≤ i: arithmetic on the
    // sequentially read order instead of a random-access lookup table.
    const k = Math.floor((K * (order[r] + 1) - 1) / n);
    const step = y[r] ? 1 : -1;
    margin[k] += step;
    allMargin += step;
    inGroup[k]++;
    groupSize++;
    if (r !== n - 1 && s[r + 1] === s[r]) continue;
    const t = s[r];
    for (let f = 0; f < K; f++) {
      // The score is a candidate for fold f only if it occurs outside fold f.
      if (groupSize > inGroup[f]) {
        const correct = trainNeg[f] + allMargin - margin[f];
        // ≥ while thresholds decrease: the smallest maximising threshold wins.
        if (correct >= bestCorrect[f]) {
          bestCorrect[f] = correct;
          bestThreshold[f] = t;
          testCorrect[f] = foldNeg[f] + margin[f];
        }
      }
      inGroup[f] = 0;
    }
    groupSize = 0;
  }

  const foldAccuracies = new Float64Array(K);
  let sum = 0;
  let thresholdSum = 0;
  for (let f = 0; f < K; f++) {
    foldAccuracies[f] = testCorrect[f] / (starts[f + 1] - starts[f]);
    sum += foldAccuracies[f];
    thresholdSum += bestThreshold[f];
  }
  const accuracy = sum / K;
  let squares = 0;
  for (let f = 0; f < K; f++) squares += (foldAccuracies[f] - accuracy) ** 2;
  return {
    accuracy,
    accuracyStd: Math.sqrt(squares / K),
    threshold: thresholdSum / K,
    foldAccuracies,
    foldThresholds: bestThreshold,
  };
}
