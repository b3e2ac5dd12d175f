import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { foldBoundaries, kFoldAccuracy } from '../../src/eval/index.js';
import { referenceKFold } from './reference.js';

describe('foldBoundaries', () => {
  it('splits n = 23 as ⌊k·23/10⌋: sizes 2,2,2,3,2,2,3,2,2,3', () => {
    // ⌊0⌋ ⌊2.3⌋ ⌊4.6⌋ ⌊6.9⌋ ⌊9.2⌋ ⌊11.5⌋ ⌊13.8⌋ ⌊16.1⌋ ⌊18.4⌋ ⌊20.7⌋ 23
    expect(foldBoundaries(23, 10)).toEqual([0, 2, 4, 6, 9, 11, 13, 16, 18, 20, 23]);
  });
});

describe('kFoldAccuracy', () => {
  // Ten pairs, so fold k is pair k. Sorted: .9+ .85− .8+ .7− .6+ .5− .4+ .3− .2− .1+ (P = N = 5).
  // Correct count on all ten for threshold t (positives ≥ t plus negatives < t):
  //   .9:6 .85:5 .8:6 .7:5 .6:6 .5:5 .4:6 .3:5 .2:4 .1:5
  // Leaving pair e out removes e's score from the candidates and subtracts 1 wherever e is right:
  //   fold 0 (.9+):  right at every t ≤ .9 → max 5 at .8,.6,.4 → t=.4; .9 ≥ .4 right   → 1
  //   fold 1 (.8+):  right at t ≤ .8 → .9 keeps 6, the rest drop → t=.9; .8 < .9 wrong  → 0
  //   fold 2 (.7−):  right at t > .7 → max 6 at .6,.4 → t=.4; .7 ≥ .4 wrong             → 0
  //   fold 3 (.6+):  right at t ≤ .6 → max 6 at .9,.8 → t=.8; wrong                      → 0
  //   fold 4 (.5−):  right at t > .5 → max 6 at .4 → t=.4; wrong                         → 0
  //   fold 5 (.4+):  right at t ≤ .4 → max 6 at .9,.8,.6 → t=.6; wrong                   → 0
  //   fold 6 (.3−):  right at t > .3 → max 5 at .9,.8,.6,.4,.1 → t=.1; wrong             → 0
  //   fold 7 (.2−):  right at t > .2 → max 5 at .9,.8,.6,.4,.1 → t=.1; wrong             → 0
  //   fold 8 (.85−): right only at .9 → max 6 at .8,.6,.4 → t=.4; wrong                  → 0
  //   fold 9 (.1+):  right at no candidate → max 6 at .9,.8,.6,.4 → t=.4; wrong          → 0
  // mean 0.1; population std √(0.1 − 0.01) = 0.3; mean threshold 4.5/10 = 0.45.
  const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.85, 0.1];
  const labels = [1, 1, 0, 1, 0, 1, 0, 0, 0, 1];

  it('chooses each threshold on the other nine folds, ties to the smallest', () => {
    const r = kFoldAccuracy({ scores, labels });
    expect(Array.from(r.foldAccuracies)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(r.foldThresholds)).toEqual([0.4, 0.9, 0.4, 0.8, 0.4, 0.6, 0.1, 0.1, 0.4, 0.4]);
    expect(r.accuracy).toBeCloseTo(0.1, 12);
    expect(r.accuracyStd).toBeCloseTo(0.3, 12);
    expect(r.threshold).toBeCloseTo(0.45, 12);
  });

  it('handles scores tied across folds', () => {
    // Pairs 0–4 score .5 (+,+,+,+,−), pairs 5–9 score .2 (−,−,−,−,+). Both scores stay candidates.
    //   folds 0–3 (.5+ out): t=.5 → 3+4 = 7 > t=.2 → 4+0 = 4 → t=.5; .5 ≥ .5 right  → 1
    //   fold 4 (.5− out):    t=.5 → 4+4 = 8 > 5          → t=.5; .5 is not < .5    → 0
    //   folds 5–8 (.2− out): t=.5 → 4+3 = 7 > 5          → t=.5; .2 < .5 right     → 1
    //   fold 9 (.2+ out):    t=.5 → 4+4 = 8 > 4          → t=.5; .2 < .5 wrong     → 0
    // mean 0.8, std √(0.8 − 0.64) = 0.4, thresholds all 0.5.
    const r = kFoldAccuracy({
      scores: [0.5, 0.5, 0.5, 0.5, 0.5, 0.2, 0.2, 0.2, 0.2, 0.2],
      labels: [1, 1, 1, 1, 0, 0, 0, 0, 0, 1],
    });
    expect(Array.from(r.foldAccuracies)).toEqual([1, 1, 1, 1, 0, 1, 1, 1, 1, 0]);
    expect(r.accuracy).toBeCloseTo(0.8, 12);
    expect(r.accuracyStd).toBeCloseTo(0.4, 12);
    expect(r.threshold).toBeCloseTo(0.5, 12);
  });

  it('uses uneven contiguous folds when n is not a multiple of 10', () => {
    // n = 12: folds [0,1) [1,2) [2,3) [3,4) [4,6) [6,7) [7,8) [8,9) [9,10) [10,12).
    // All same pairs score 1 and all different pairs 0, so every fold picks t = 1 (6+6 right,
    // vs 6+0 for t = 0) and is fully right: accuracy 1, std 0.
    const r = kFoldAccuracy({
      scores: [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
      labels: [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
    });
    expect(r.accuracy).toBe(1);
    expect(r.accuracyStd).toBe(0);
    expect(r.threshold).toBe(1);
  });

  it('matches the O(n²) definition on random score sets with ties', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 1 })), {
            minLength: 10,
            maxLength: 70,
          })
          .filter((rows) => rows.some((r) => r[1] === 1) && rows.some((r) => r[1] === 0)),
        fc.integer({ min: 2, max: 10 }),
        (rows, K) => {
          const s = rows.map((r) => r[0] / 6);
          const y = rows.map((r) => r[1]);
          const got = kFoldAccuracy({ scores: s, labels: y }, { folds: K });
          const ref = referenceKFold(s, y, K);
          expect(Array.from(got.foldThresholds)).toEqual(ref.thresholds);
          expect(Array.from(got.foldAccuracies)).toEqual(ref.accuracies);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('needs at least one pair per fold and a sane fold count', () => {
    const nine = { scores: [1, 2, 3, 4, 5, 6, 7, 8, 9], labels: [1, 0, 1, 0, 1, 0, 1, 0, 1] };
    expect(() => kFoldAccuracy(nine)).toThrow(InvalidArgumentError);
    expect(() => kFoldAccuracy(nine)).toThrow(/'scores'.*at least 10 pairs/);
    expect(() => kFoldAccuracy(nine, { folds: 1 })).toThrow(/'folds'/);
    expect(() => kFoldAccuracy(nine, { folds: 2.5 })).toThrow(/'folds'/);
  });
});
