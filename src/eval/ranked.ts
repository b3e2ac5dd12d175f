/**
 * Scores sorted once, from most to least similar, with their labels carried along. Every
 * verification metric (ROC, AUC, EER, TAR@FAR, k-fold accuracy) is a sweep over this order, so a
 * report on ten million pairs pays for one sort.
 */
import { InvalidArgumentError } from '../errors.js';
import { sortScoresDescending } from './argsort.js';
import { type CheckedScores, checkScores, type PairLabel, type ScoreSet } from './validate.js';

/** A validated score set and its descending order. Build it with {@link rankScores}. */
export class RankedScores {
  /** Number of pairs. */
  readonly size: number;
  /** Number of same-identity pairs (label 1). */
  readonly positives: number;
  /** Number of different-identity pairs (label 0). */
  readonly negatives: number;
  /** Scores in input order (validated copy). */
  readonly scores: Float64Array;
  /** Labels in input order (validated copy; 1 = same identity). */
  readonly labels: Uint8Array;
  /** `order[r]` is the input index of the pair with the r-th largest score (stable for ties). */
  readonly order: Uint32Array;
  /** Scores in descending order. */
  readonly sortedScores: Float64Array;
  /** Labels in the same order as {@link sortedScores}. */
  readonly sortedLabels: Uint8Array;

  /** Use {@link rankScores}; this constructor trusts its input. */
  constructor(checked: CheckedScores) {
    const { scores, labels } = checked;
    this.size = scores.length;
    this.positives = checked.positives;
    this.negatives = checked.negatives;
    this.scores = scores;
    this.labels = labels;
    const sorted = sortScoresDescending(scores, labels);
    this.order = sorted.order;
    this.sortedScores = sorted.sortedScores;
    this.sortedLabels = sorted.sortedLabels;
  }
}

/**
 * Validates `scores`/`labels` (finite scores, 0/1 labels, equal lengths, both classes present) and
 * sorts them once. Pass the result to several metrics to avoid sorting again.
 */
export function rankScores(scores: ArrayLike<number>, labels: ArrayLike<PairLabel>): RankedScores {
  return new RankedScores(checkScores(scores, labels));
}

/** Scores to evaluate: either already ranked, or a plain `{ scores, labels }` pair of arrays. */
export type ScoreInput = RankedScores | ScoreSet;

/** Returns `input` unchanged when it is already ranked, otherwise validates and sorts it. */
export function toRanked(input: ScoreInput): RankedScores {
  if (input instanceof RankedScores) return input;
  if (input === null || typeof input !== 'object') {
    throw new InvalidArgumentError('input', 'RankedScores or an object { scores, labels }', input);
  }
  return rankScores(input.scores, input.labels);
}
