import { describe, expect, it } from 'vitest';
import { verificationPairs } from '../../src/data/pairs.js';
import { InvalidArgumentError } from '../../src/errors.js';

function check(labels: number[], pairs: number, seed: number) {
  const p = verificationPairs(labels, { pairs, seed });
  expect(p.first.length).toBe(pairs);
  const keys = new Set<string>();
  let same = 0;
  for (let k = 0; k < pairs; k++) {
    const a = p.first[k];
    const b = p.second[k];
    expect(a).toBeLessThan(b);
    expect(b).toBeLessThan(labels.length);
    expect(p.same[k]).toBe(labels[a] === labels[b] ? 1 : 0);
    same += p.same[k];
    keys.add(`${a},${b}`);
  }
  expect(same).toBe(pairs / 2);
  expect(keys.size).toBe(pairs);
  return p;
}

describe('verificationPairs', () => {
  const labels = Array.from({ length: 300 }, (_, i) => i % 10);

  it('draws balanced, distinct, correctly labelled pairs (sampling branch)', () => {
    check(labels, 200, 1);
  });

  it('draws every available pair when asked for all of them (enumeration branch)', () => {
    // Labels 0,0,1,1,2: same pairs {0,1},{2,3} (2); different pairs: 10 − 2 = 8.
    const small = [0, 0, 1, 1, 2];
    const p = check(small, 4, 3);
    const sameKeys = [...Array(4).keys()]
      .filter((k) => p.same[k] === 1)
      .map((k) => `${p.first[k]},${p.second[k]}`);
    expect(sameKeys.sort()).toEqual(['0,1', '2,3']);
  });

  it('is reproducible for a seed and changes with it', () => {
    const a = verificationPairs(labels, { pairs: 100, seed: 9 });
    const b = verificationPairs(labels, { pairs: 100, seed: 9 });
    const c = verificationPairs(labels, { pairs: 100, seed: 10 });
    expect(Array.from(a.first)).toEqual(Array.from(b.first));
    expect(Array.from(a.second)).toEqual(Array.from(b.second));
    expect(Array.from(a.same)).toEqual(Array.from(b.same));
    expect(Array.from(a.first)).not.toEqual(Array.from(c.first));
  });

  it('interleaves the two kinds instead of listing one after the other', () => {
    const p = verificationPairs(labels, { pairs: 100, seed: 2 });
    const firstHalfSame = Array.from(p.same.subarray(0, 50)).reduce((s, v) => s + v, 0);
    expect(firstHalfSame).toBeGreaterThan(10);
    expect(firstHalfSame).toBeLessThan(40);
  });

  it('refuses impossible requests', () => {
    expect(() => verificationPairs([0, 1, 2], { pairs: 2 })).toThrow(InvalidArgumentError); // no same pair
    expect(() => verificationPairs([0, 0, 0], { pairs: 2 })).toThrow(InvalidArgumentError); // no different pair
    expect(() => verificationPairs([0, 0, 1, 1, 2], { pairs: 6 })).toThrow(InvalidArgumentError); // 2 same pairs only
    expect(() => verificationPairs(labels, { pairs: 3 })).toThrow(InvalidArgumentError);
    expect(() => verificationPairs([0, -1], { pairs: 2 })).toThrow(InvalidArgumentError);
    expect(() => verificationPairs('abc' as unknown as number[], { pairs: 2 })).toThrow(InvalidArgumentError);
  });
});
