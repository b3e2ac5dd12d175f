import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeMismatchError } from '../../src/errors.js';
import { identify } from '../../src/eval/index.js';

describe('identify', () => {
  // Gallery: A at (1,0) and (0.6,0.8), B at (0,1), C at (−1,0). Best cosine per identity:
  //   p0 = (1, 0.1), true A: A .995, B .0995, C −.995          → rank 1
  //   p1 = (0.8, 0.6), true B: A max(.8, .96) = .96 > B .6     → rank 2
  //   p2 = (0, 1), true C: C 0; A .8 ≥ 0, B 1 ≥ 0               → rank 3
  //   p3 = (0, −1), true A: A max(0, −.8) = 0; C 0 ties (counts against), B −1 → rank 2
  // ranks [1, 2, 3, 2] → CMC [1/4, 3/4, 4/4]; rank-5 is capped at the 3 identities → 1.
  const input = {
    gallery: [
      [1, 0],
      [0, 1],
      [-1, 0],
      [0.6, 0.8],
    ],
    galleryLabels: ['A', 'B', 'C', 'A'],
    probes: [
      [1, 0.1],
      [0.8, 0.6],
      [0, 1],
      [0, -1],
    ],
    probeLabels: ['A', 'B', 'C', 'A'],
  };

  it('ranks identities by their best gallery similarity, ties against the probe', () => {
    const r = identify(input);
    expect(Array.from(r.ranks)).toEqual([1, 2, 3, 2]);
    expect(r.cmc).toHaveLength(3);
    expect(r.cmc[0]).toBeCloseTo(0.25, 15);
    expect(r.cmc[1]).toBeCloseTo(0.75, 15);
    expect(r.cmc[2]).toBeCloseTo(1, 15);
    expect(r.rank1).toBeCloseTo(0.25, 15);
    expect(r.rank5).toBeCloseTo(1, 15);
    expect(r.identities).toBe(3);
  });

  it('does not depend on embedding scale', () => {
    const scaled = { ...input, probes: input.probes.map((p) => p.map((x) => 7 * x)) };
    expect(Array.from(identify(scaled).ranks)).toEqual([1, 2, 3, 2]);
  });

  it('validates its arguments', () => {
    expect(() => identify({ ...input, probeLabels: ['A', 'B', 'C', 'Z'] })).toThrow(InvalidArgumentError);
    expect(() => identify({ ...input, probeLabels: ['A', 'B', 'C', 'Z'] })).toThrow(/'probeLabels\[3\]'/);
    expect(() => identify({ ...input, galleryLabels: ['A'] })).toThrow(ShapeMismatchError);
    expect(() => identify({ ...input, probes: [[1, 0, 0], ...input.probes.slice(1)] })).toThrow(
      /'probes\[0\]'/,
    );
    expect(() => identify({ ...input, gallery: [[0, 0], ...input.gallery.slice(1)] })).toThrow(
      /'gallery\[0\]'.*zero/,
    );
  });
});
