/**
 * Argument checks shared by the verification metrics. Every metric accepts plain arrays or typed
 * arrays; these helpers copy them once into compact typed arrays so the hot loops never see
 * polymorphic input.
 */
import { InvalidArgumentError, NonFiniteError, ShapeMismatchError } from '../errors.js';

/** A label as accepted by the metrics: 1/true = same identity, 0/false = different identities. */
export type PairLabel = number | boolean;

/** Similarity scores (higher means more likely the same identity) and their 0/1 labels. */
export interface ScoreSet {
  readonly scores: ArrayLike<number>;
  readonly labels: ArrayLike<PairLabel>;
}

/** The validated, copied form of a {@link ScoreSet}. */
export interface CheckedScores {
  readonly scores: Float64Array;
  /** 1 = same identity, 0 = different. */
  readonly labels: Uint8Array;
  readonly positives: number;
  readonly negatives: number;
}

/**
 * Checks that `scores` are finite, `labels` are 0/1 (or booleans) of the same length, and that both
 * classes are present (every verification metric divides by the count of each class).
 */
export function checkScores(scores: ArrayLike<number>, labels: ArrayLike<PairLabel>): CheckedScores {
  if (scores === null || typeof scores !== 'object' || typeof scores.length !== 'number') {
    throw new InvalidArgumentError('scores', 'an array of numbers', scores);
  }
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw new InvalidArgumentError('labels', 'an array of 0/1 labels', labels);
  }
  const n = scores.length;
  if (n === 0) throw new InvalidArgumentError('scores', 'a non-empty array', scores);
  if (labels.length !== n) {
    throw new ShapeMismatchError('labels', `length ${n} (the length of scores)`, `length ${labels.length}`);
  }
  const s = new Float64Array(n);
  const l = new Uint8Array(n);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const v = scores[i];
    if (typeof v !== 'number') throw new InvalidArgumentError(`scores[${i}]`, 'a number', v);
    if (!Number.isFinite(v)) throw new NonFiniteError('scores', `index ${i}`);
    // -0 and +0 are the same threshold; keep one bit pattern so sorting groups them together.
    s[i] = v === 0 ? 0 : v;
    const y = labels[i];
    if (y === 1 || y === true) {
      l[i] = 1;
      positives++;
    } else if (y !== 0 && y !== false) {
      throw new InvalidArgumentError(`labels[${i}]`, '0 or 1 (or a boolean)', y);
    }
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new InvalidArgumentError(
      'labels',
      'both classes: at least one 1 (same identity) and one 0 (different identities)',
      positives === 0 ? 'only 0s' : 'only 1s',
    );
  }
  return { scores: s, labels: l, positives, negatives };
}
