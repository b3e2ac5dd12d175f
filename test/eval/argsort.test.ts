import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { argsortDescending } from '../../src/eval/index.js';

describe('argsortDescending', () => {
  it('orders negatives, positives, tiny and huge values from largest to smallest', () => {
    const v = new Float64Array([0.5, -1e300, 3, -0.25, 1e-300, 0, -5e-324, 1e308, -3]);
    const order = Array.from(argsortDescending(v));
    // by hand: 1e308 (7), 3 (2), .5 (0), 1e-300 (4), 0 (5), −5e-324 (6), −.25 (3), −3 (8), −1e300 (1)
    expect(order).toEqual([7, 2, 0, 4, 5, 6, 3, 8, 1]);
  });

  it('is stable: equal values keep their input order', () => {
    const v = new Float64Array([1, 2, 1, 2, 1]);
    expect(Array.from(argsortDescending(v))).toEqual([1, 3, 0, 2, 4]);
  });

  it('agrees with a stable comparator sort on random doubles and float32 values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.float({ noNaN: true })), {
          maxLength: 300,
        }),
        (values) => {
          const v = new Float64Array(values.map((x) => (x === 0 ? 0 : x)));
          const expected = [...v.keys()].sort((a, b) => v[b] - v[a] || a - b);
          expect(Array.from(argsortDescending(v))).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps input order when every digit is shared (all passes skipped)', () => {
    expect(Array.from(argsortDescending(new Float64Array([0.5, 0.5, 0.5])))).toEqual([0, 1, 2]);
  });

  it('orders values that differ only in the lowest mantissa bit', () => {
    const one = 1;
    const next = 1 + Number.EPSILON; // differs from 1 in bit 0 of the low word
    expect(Array.from(argsortDescending(new Float64Array([one, next, one])))).toEqual([1, 0, 2]);
  });

  it('handles an empty input and a single value', () => {
    expect(argsortDescending(new Float64Array(0))).toHaveLength(0);
    expect(Array.from(argsortDescending(new Float64Array([4])))).toEqual([0]);
  });
});
