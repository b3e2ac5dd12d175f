import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, NonFiniteError } from '../../src/errors.js';
import { cosineSimilarity, l2Normalize, pairSimilarities } from '../../src/eval/index.js';

describe('cosine similarity', () => {
  it('is a·b / (‖a‖‖b‖)', () => {
    // (3,4)·(4,3) = 24, norms 5 and 5 → 0.96; (1,0)·(−2,0) = −2, norms 1 and 2 → −1
    expect(cosineSimilarity([3, 4], [4, 3])).toBeCloseTo(0.96, 15);
    expect(cosineSimilarity([1, 0], [-2, 0])).toBeCloseTo(-1, 15);
    expect(() => cosineSimilarity([0, 0], [1, 0])).toThrow(InvalidArgumentError);
    expect(() => cosineSimilarity([Number.NaN, 0], [1, 0])).toThrow(NonFiniteError);
  });

  it('normalises to unit length', () => {
    expect(Array.from(l2Normalize([3, 4]))).toEqual([Math.fround(0.6), Math.fround(0.8)]);
  });

  it('scores index pairs, reusing embeddings that appear in several pairs', () => {
    const e = [Float32Array.of(3, 4), Float32Array.of(4, 3), Float32Array.of(0, 2)];
    // (0,1): .96; (0,2): 8/(5·2) = .8; (2,2): 1
    const s = pairSimilarities(e, [0, 0, 2], [1, 2, 2]);
    expect(s[0]).toBeCloseTo(0.96, 15);
    expect(s[1]).toBeCloseTo(0.8, 15);
    expect(s[2]).toBeCloseTo(1, 15);
    expect(() => pairSimilarities(e, [0, 3], [1, 1])).toThrow(/'first\[1\]'.*index into embeddings/);
    expect(() => pairSimilarities(e, [0], [1, 1])).toThrow(/'second'/);
  });
});
