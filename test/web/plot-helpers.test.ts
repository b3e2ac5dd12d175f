/** Pure helpers of the page's plots: tick values and labels, loss smoothing. */
import { describe, expect, it } from 'vitest';
import { niceTicks, shortNumber } from '../../web/src/plot.js';
import { smoothLosses } from '../../web/src/train/draw-compare.js';

describe('plot helpers', () => {
  it('writes tick labels short (0.5, not 0.500)', () => {
    expect([-0.5, 0, 0.8, 1, 0.25, 1234, 1 / 3].map(shortNumber)).toEqual([
      '-0.5',
      '0',
      '0.8',
      '1',
      '0.25',
      '1234',
      '0.333',
    ]);
  });

  it('picks round ticks covering the range', () => {
    expect(niceTicks(0, 1, 4)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-1, 1, 4)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(0, 40, 4)).toEqual([0, 10, 20, 30, 40]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });

  it('smooths losses by step, skipping non-finite values', () => {
    const s = smoothLosses([2, 1, Number.NaN, 1], 0.5);
    expect(s).toEqual([
      [1, 2],
      [2, 1.5],
      [4, 1.25],
    ]);
    expect(smoothLosses([])).toEqual([]);
  });
});
