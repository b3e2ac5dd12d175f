import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeMismatchError } from '../../src/errors.js';
import { angularStatistics } from '../../src/eval/index.js';

/** 2-D points at the given angles (radians) and norms. */
function points(angles: number[], norms: number[]): number[] {
  return angles.flatMap((a, i) => [norms[i] * Math.cos(a), norms[i] * Math.sin(a)]);
}

describe('angularStatistics', () => {
  it('matches hand-worked angles and ignores the feature norms', () => {
    // Class 0 at ±0.1 rad around 0, class 1 at ±0.2 rad around π/2; norms vary wildly.
    const angles = [0.1, -0.1, Math.PI / 2 + 0.2, Math.PI / 2 - 0.2];
    const stats = angularStatistics(points(angles, [1, 50, 0.01, 3]), [0, 0, 1, 1], 2);
    expect(stats.intraMean).toBeCloseTo(0.15, 12);
    expect(stats.intraP95).toBeCloseTo(0.2, 12);
    expect(stats.interMin).toBeCloseTo(Math.PI / 2, 12);
    expect(stats.separation).toBeCloseTo(Math.PI / 2 / 0.4, 12);
    expect(stats.classes).toBe(2);
  });

  it('takes the smallest angle between any two class centres', () => {
    const angles = [0, 0.3, 2];
    const stats = angularStatistics(points(angles, [1, 1, 1]), [4, 7, 9], 2);
    expect(stats.interMin).toBeCloseTo(0.3, 12);
    expect(stats.intraMean).toBeCloseTo(0, 12);
  });

  it('refuses malformed input with typed errors', () => {
    expect(() => angularStatistics([1, 0, 0, 1], [0, 1, 1], 2)).toThrow(ShapeMismatchError);
    expect(() => angularStatistics([1, 0, 0, 0], [0, 1], 2)).toThrow(/row 1/);
    expect(() => angularStatistics([1, 0, 2, 0], [0, 0], 2)).toThrow(/at least two classes/);
    expect(() => angularStatistics([1, 0, -1, 0, 0, 1], [0, 0, 1], 2)).toThrow(/class 0/);
    expect(() => angularStatistics([1, 0, 0, 1], [0, 1.5], 2)).toThrow(InvalidArgumentError);
    expect(() => angularStatistics([1, 0], [0], 1)).toThrow(/dim/);
  });
});
