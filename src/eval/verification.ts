/** One call that computes every verification metric from a single sort. */
import { auc } from './auc.js';
import { eer } from './eer.js';
import { kFoldAccuracy } from './kfold.js';
import { type ScoreInput, toRanked } from './ranked.js';
import { DEFAULT_FAR_TARGETS, type TarAtFar, tarAtFar } from './tar-at-far.js';

/** Options of {@link evaluateVerification}. */
export interface VerificationOptions {
  /** Number of contiguous folds for the accuracy (default 10). */
  readonly folds?: number;
  /** FAR targets for TAR@FAR (default 1e-1 … 1e-6). */
  readonly farTargets?: readonly number[];
}

/** Every verification metric of a score set. Definitions: docs/evaluation.md. */
export interface VerificationReport {
  /** Number of pairs, same-identity pairs and different-identity pairs. */
  readonly pairs: number;
  readonly positives: number;
  readonly negatives: number;
  /** Mean k-fold accuracy, its population standard deviation, and the mean fold threshold. */
  readonly accuracy: number;
  readonly accuracyStd: number;
  readonly threshold: number;
  readonly foldAccuracies: Float64Array;
  readonly foldThresholds: Float64Array;
  /** Area under the ROC curve (ties as one trapezoid step). */
  readonly auc: number;
  /** Equal error rate and the threshold at the end of the crossing segment. */
  readonly eer: number;
  readonly eerThreshold: number;
  /** TAR at each supported FAR target. */
  readonly tarAtFar: readonly TarAtFar[];
}

/** Computes accuracy (k-fold), AUC, EER and TAR@FAR, sorting the scores once. */
export function evaluateVerification(
  input: ScoreInput,
  options: VerificationOptions = {},
): VerificationReport {
  const ranked = toRanked(input);
  const folds = kFoldAccuracy(ranked, { folds: options.folds });
  const equal = eer(ranked);
  return {
    pairs: ranked.size,
    positives: ranked.positives,
    negatives: ranked.negatives,
    accuracy: folds.accuracy,
    accuracyStd: folds.accuracyStd,
    threshold: folds.threshold,
    foldAccuracies: folds.foldAccuracies,
    foldThresholds: folds.foldThresholds,
    auc: auc(ranked),
    eer: equal.eer,
    eerThreshold: equal.threshold,
    tarAtFar: tarAtFar(ranked, options.farTargets ?? DEFAULT_FAR_TARGETS),
  };
}
