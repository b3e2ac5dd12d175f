import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { auc, eer, evaluateVerification, rankScores, rocCurve, tarAtFar } from '../../src/eval/index.js';
import { referenceAuc, referenceRoc, referenceTar } from './reference.js';

// Example A (ties inside and across classes), sorted by score:
//   0.9:+  0.8:+ 0.8:−  0.7:+  0.6:− 0.6:+  0.5:−  0.3:−      P = 4, N = 4
// ROC points (fp, tp) after each distinct threshold:
//   +∞:(0,0) 0.9:(0,1) 0.8:(1,2) 0.7:(1,3) 0.6:(2,4) 0.5:(3,4) 0.3:(4,4)
const A = {
  scores: [0.9, 0.8, 0.8, 0.7, 0.6, 0.6, 0.5, 0.3],
  labels: [1, 1, 0, 1, 0, 1, 0, 0],
};

// Example C: a tie between a same and a different pair straddles the EER.
//   0.9:+  0.5:+ 0.5:−  0.1:−      P = 2, N = 2
const C = { scores: [0.9, 0.5, 0.5, 0.1], labels: [1, 1, 0, 0] };

describe('rocCurve', () => {
  it('has one point per distinct score plus (0, 0) at +∞ (example A)', () => {
    const roc = rocCurve(A);
    expect(Array.from(roc.thresholds)).toEqual([Number.POSITIVE_INFINITY, 0.9, 0.8, 0.7, 0.6, 0.5, 0.3]);
    // fpr = fp/4, tpr = tp/4 from the table above
    expect(Array.from(roc.fpr)).toEqual([0, 0, 0.25, 0.25, 0.5, 0.75, 1]);
    expect(Array.from(roc.tpr)).toEqual([0, 0.25, 0.5, 0.75, 1, 1, 1]);
  });

  it('keeps counts in input order independent of how the input is ordered', () => {
    const reversed = { scores: [...A.scores].reverse(), labels: [...A.labels].reverse() };
    expect(Array.from(rocCurve(reversed).tpr)).toEqual(Array.from(rocCurve(A).tpr));
    expect(Array.from(rocCurve(reversed).fpr)).toEqual(Array.from(rocCurve(A).fpr));
  });

  it('matches counting from scratch at every distinct threshold (random score sets)', () => {
    fc.assert(
      fc.property(scoreSet(), ({ scores, labels }) => {
        const got = rocCurve({ scores, labels });
        const ref = referenceRoc(scores, labels);
        expect(Array.from(got.thresholds)).toEqual(ref.thr);
        expect(Array.from(got.fpr)).toEqual(ref.fpr);
        expect(Array.from(got.tpr)).toEqual(ref.tpr);
      }),
      { numRuns: 200 },
    );
  });

  it('treats -0 and +0 as the same threshold', () => {
    const roc = rocCurve({ scores: [0, -0, 1], labels: [1, 0, 1] });
    expect(Array.from(roc.thresholds)).toEqual([Number.POSITIVE_INFINITY, 1, 0]);
  });
});

describe('auc', () => {
  it('example A: trapezoids give 0.8125', () => {
    // (0,.25)→(.25,.5): .25·(.25+.5)/2 = .09375;  (.25,.5)→(.25,.75): width 0;
    // (.25,.75)→(.5,1): .25·.875 = .21875;  then two steps at tpr 1: .5.  Total .8125 = 13/16.
    expect(auc(A)).toBeCloseTo(0.8125, 15);
  });

  it('example C: the tied same/different pair counts one half', () => {
    // wins: 0.9 beats 0.5⁻ and 0.1; 0.5⁺ beats 0.1 and ties 0.5⁻ → (2 + 1 + ½) / 4 = 0.875
    expect(auc(C)).toBeCloseTo(0.875, 15);
  });

  it('is 1 for separable scores, 0 for reversed ones, ½ when all scores tie', () => {
    expect(auc({ scores: [3, 2, 1, 0], labels: [1, 1, 0, 0] })).toBe(1);
    expect(auc({ scores: [3, 2, 1, 0], labels: [0, 0, 1, 1] })).toBe(0);
    expect(auc({ scores: [7, 7, 7, 7, 7], labels: [0, 1, 1, 0, 1] })).toBe(0.5);
  });

  it('matches the Mann–Whitney count on random score sets with many ties', () => {
    fc.assert(
      fc.property(scoreSet(), ({ scores, labels }) => {
        expect(auc({ scores, labels })).toBeCloseTo(referenceAuc(scores, labels), 12);
      }),
      { numRuns: 200 },
    );
  });
});

describe('eer', () => {
  it('example A: FNR and FPR meet exactly at the point for threshold 0.7', () => {
    // (fpr, fnr): (0,1) (0,.75) (.25,.5) (.25,.25) → equal at 0.25
    expect(eer(A).eer).toBeCloseTo(0.25, 15);
    expect(eer(A).threshold).toBe(0.7);
  });

  it('example C: interpolates across the tied step', () => {
    // before 0.5: fpr 0, fnr .5 (gap .5); after: fpr .5, fnr 0 (gap −.5) → t = .5, EER = .25
    expect(eer(C).eer).toBeCloseTo(0.25, 15);
    expect(eer(C).threshold).toBe(0.5);
  });

  it('is 0 for separable scores and 1 for reversed ones', () => {
    expect(eer({ scores: [3, 2, 1, 0], labels: [1, 1, 0, 0] }).eer).toBe(0);
    expect(eer({ scores: [3, 2, 1, 0], labels: [0, 0, 1, 1] }).eer).toBe(1);
  });

  it('lies on a ROC segment where FPR = FNR (random score sets)', () => {
    fc.assert(
      fc.property(scoreSet(), ({ scores, labels }) => {
        const { fpr, tpr } = referenceRoc(scores, labels);
        const e = eer({ scores, labels }).eer;
        // some segment i-1 → i must contain a point with fpr = fnr = e
        const onSegment = fpr.some((_, i) => {
          if (i === 0) return false;
          const g0 = 1 - tpr[i - 1] - fpr[i - 1];
          const g1 = 1 - tpr[i] - fpr[i];
          if (!(g0 > 0 && g1 <= 0)) return false;
          const t = g0 / (g0 - g1);
          return Math.abs(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]) - e) < 1e-12;
        });
        expect(onSegment).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('tarAtFar', () => {
  // 3 same pairs and 10 different ones: 1/N = 0.1, so only the 1e-1 target is supported.
  //   0.95:+ 0.8:− 0.7:+ 0.6:− 0.5:− 0.4:+ 0.3:− 0.2:− 0.1:− 0:− −0.1:− −0.2:− −0.3:−
  // FPR ≤ 0.1 allows one false accept: the last such point is threshold 0.7 with tp = 2.
  const B = {
    scores: [0.95, 0.7, 0.4, 0.8, 0.6, 0.5, 0.3, 0.2, 0.1, 0, -0.1, -0.2, -0.3],
    labels: [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  };

  it('reports the largest TPR with FPR ≤ target, only for supported targets', () => {
    const r = tarAtFar(B);
    expect(r).toHaveLength(1);
    expect(r[0].far).toBe(0.1);
    expect(r[0].tar).toBeCloseTo(2 / 3, 15);
    expect(r[0].threshold).toBe(0.7);
    expect(r[0].achievedFar).toBeCloseTo(0.1, 15);
  });

  it('includes a tied group exactly at the target', () => {
    // 0.8 holds two same pairs and one different pair; 10 different pairs → FPR 0.1 at 0.8: TAR 1.
    const scores = [0.9, 0.8, 0.8, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0, -0.1];
    const labels = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const [r] = tarAtFar({ scores, labels }, [0.1]);
    expect(r.tar).toBe(1);
    expect(r.threshold).toBe(0.8);
  });

  it('falls back to (0, 0) at +∞ when the top group already exceeds the target', () => {
    // Two different pairs tie at the top; with 20 different pairs the 0.05 target allows one.
    const scores = [0.9, 0.9, 0.5, ...Array(18).fill(0)];
    const labels = [0, 0, 1, ...Array(18).fill(0)];
    const [r] = tarAtFar({ scores, labels }, [0.05]);
    expect(r.tar).toBe(0);
    expect(r.threshold).toBe(Number.POSITIVE_INFINITY);
  });

  it('matches the definition on random score sets', () => {
    fc.assert(
      fc.property(scoreSet(), ({ scores, labels }) => {
        const N = labels.filter((y) => y === 0).length;
        const targets = [0.5, 0.25, 0.1, 0.05];
        const got = tarAtFar({ scores, labels }, targets);
        expect(got.map((t) => t.far)).toEqual(targets.filter((t) => t >= 1 / N));
        for (const t of got) expect(t.tar).toBeCloseTo(referenceTar(scores, labels, t.far), 14);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects FAR targets outside (0, 1]', () => {
    expect(() => tarAtFar(B, [0])).toThrow(/targets\[0\]/);
    expect(() => tarAtFar(B, [0.1, 2])).toThrow(/targets\[1\]/);
  });
});

describe('evaluateVerification', () => {
  it('combines the metrics from one ranking', () => {
    const ranked = rankScores(A.scores, A.labels);
    const report = evaluateVerification({
      scores: [...A.scores, ...A.scores],
      labels: [...A.labels, ...A.labels],
    });
    // Duplicating every pair leaves rates (hence AUC and EER) unchanged.
    expect(report.pairs).toBe(16);
    expect(report.positives).toBe(8);
    expect(report.auc).toBeCloseTo(auc(ranked), 15);
    expect(report.eer).toBeCloseTo(0.25, 15);
    expect(report.foldAccuracies).toHaveLength(10);
  });
});

/** Random score sets with both classes and many ties (scores drawn from a few values). */
function scoreSet() {
  return fc
    .array(fc.tuple(fc.integer({ min: -4, max: 4 }), fc.integer({ min: 0, max: 1 })), {
      minLength: 2,
      maxLength: 60,
    })
    .filter((rows) => rows.some((r) => r[1] === 1) && rows.some((r) => r[1] === 0))
    .map((rows) => ({ scores: rows.map((r) => r[0] / 4), labels: rows.map((r) => r[1]) }));
}
