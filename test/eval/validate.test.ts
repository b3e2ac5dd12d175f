import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, NonFiniteError, ShapeMismatchError } from '../../src/errors.js';
import { auc, eer, evaluateVerification, kFoldAccuracy, rankScores, rocCurve } from '../../src/eval/index.js';

describe('argument validation', () => {
  const ok = { scores: [0.3, 0.9], labels: [0, 1] };

  it('accepts booleans as labels', () => {
    expect(auc({ scores: [0.3, 0.9], labels: [false, true] })).toBe(1);
  });

  it('rejects non-finite scores, naming the argument and index', () => {
    expect(() => auc({ scores: [0.3, Number.NaN], labels: [0, 1] })).toThrow(NonFiniteError);
    expect(() => auc({ scores: [0.3, Number.NaN], labels: [0, 1] })).toThrow(/'scores'.*index 1/);
    expect(() => eer({ scores: [Number.POSITIVE_INFINITY, 1], labels: [0, 1] })).toThrow(/'scores'.*index 0/);
  });

  it('rejects labels other than 0/1', () => {
    expect(() => rocCurve({ scores: [0.3, 0.9, 0.1], labels: [0, 1, 2] })).toThrow(InvalidArgumentError);
    expect(() => rocCurve({ scores: [0.3, 0.9, 0.1], labels: [0, 1, 2] })).toThrow(/'labels\[2\]'/);
  });

  it('rejects different lengths', () => {
    expect(() => rankScores([0.3, 0.9, 0.5], [0, 1])).toThrow(ShapeMismatchError);
    expect(() => rankScores([0.3, 0.9, 0.5], [0, 1])).toThrow(/'labels'.*length 3.*length 2/);
  });

  it('requires both classes and a non-empty input', () => {
    expect(() => auc({ scores: [0.3, 0.9], labels: [1, 1] })).toThrow(/'labels'.*both classes.*only 1s/);
    expect(() => kFoldAccuracy({ scores: [0.3, 0.9], labels: [0, 0] })).toThrow(/only 0s/);
    expect(() => evaluateVerification({ scores: [], labels: [] })).toThrow(/'scores'.*non-empty/);
  });

  it('rejects inputs that are not arrays', () => {
    expect(() => rankScores(5 as unknown as number[], [1])).toThrow(/'scores'/);
    expect(() => auc(null as unknown as typeof ok)).toThrow(/'input'/);
  });
});
