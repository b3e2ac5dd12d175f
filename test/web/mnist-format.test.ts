/** The page's compact MNIST subset format. */
import { describe, expect, it } from 'vitest';
import { decodeMnistSubset, encodeMnistSubset } from '../../web/src/train/mnist-format.js';

describe('MNIST asset format', () => {
  it('round-trips and refuses damaged files', () => {
    const subset = {
      count: 3,
      rows: 2,
      cols: 2,
      labels: Uint8Array.from([7, 0, 9]),
      pixels: Uint8Array.from({ length: 12 }, (_, i) => i * 20),
    };
    const bytes = encodeMnistSubset(subset);
    expect(bytes.length).toBe(12 + 3 * 5);
    expect(decodeMnistSubset(bytes)).toEqual(subset);
    expect(() => decodeMnistSubset(bytes.subarray(0, bytes.length - 1))).toThrow(/expected 27 bytes, got 26/);
    const wrong = bytes.slice();
    wrong[0] = 0;
    expect(() => decodeMnistSubset(wrong)).toThrow(/not a FVMN file/);
  });
});
