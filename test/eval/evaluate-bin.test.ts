import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeMismatchError } from '../../src/errors.js';
import { type BinEmbedder, evaluateBin, mirrorPixels, parseVerificationBin } from '../../src/eval/index.js';
import { verificationBinPickle } from './pickle-bytes.js';

// Each fake image carries its own embeddings: bytes [0xff, 0xd8, a, b, c, d] embed to
// (a − 100, b − 100) as is and to (c − 100, d − 100) when mirrored.
function image(plain: [number, number], mirrored: [number, number]): Uint8Array {
  return Uint8Array.from([0xff, 0xd8, plain[0] + 100, plain[1] + 100, mirrored[0] + 100, mirrored[1] + 100]);
}

const fakeModel: BinEmbedder = async (images, { flip }) =>
  images.map((b) => Float32Array.from(flip ? [b[4] - 100, b[5] - 100] : [b[2] - 100, b[3] - 100]));

// normalize(plain + mirrored) per image, then cosine per pair:
//   pair 0 (same): (3,0)+(1,0) = (4,0) → (1,0);   (0,1)+(2,1) = (2,2) → (1,1)/√2   cos = 1/√2
//   pair 1 (diff): (0,5)+(0,−3) = (0,2) → (0,1);  (2,0)+(1,0) = (3,0) → (1,0)      cos = 0
//   pair 2 (same): (1,1)+(1,1) → (1,1)/√2;        (1,2)+(2,2) = (3,4) → (.6,.8)    cos = 1.4/√2
//   pair 3 (diff): (−1,0)+(−1,0) → (−1,0);        (1,0)+(0,1) → (1,1)/√2           cos = −1/√2
const images = [
  image([3, 0], [1, 0]),
  image([0, 1], [2, 1]),
  image([0, 5], [0, -3]),
  image([2, 0], [1, 0]),
  image([1, 1], [1, 1]),
  image([1, 2], [2, 2]),
  image([-1, 0], [-1, 0]),
  image([1, 0], [0, 1]),
];
const issame = [true, false, true, false];
const bin = parseVerificationBin(verificationBinPickle(images, issame, 'protocol4'), 'fake.bin');

describe('evaluateBin', () => {
  it('embeds with flip TTA (normalize(emb + emb of mirror)) and scores pairs by cosine', async () => {
    const calls: [number, boolean][] = [];
    const spy: BinEmbedder = (batch, request) => {
      calls.push([batch.length, request.flip]);
      return fakeModel(batch, request);
    };
    const { scores, report, dim } = await evaluateBin(bin, spy, { batchSize: 3, folds: 2 });
    expect(dim).toBe(2);
    expect(scores[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(scores[1]).toBeCloseTo(0, 6);
    expect(scores[2]).toBeCloseTo(1.4 / Math.SQRT2, 6);
    expect(scores[3]).toBeCloseTo(-Math.SQRT1_2, 6);
    // 8 images in batches of 3, 3, 2, each embedded as is and mirrored
    expect(calls).toEqual([
      [3, false],
      [3, true],
      [3, false],
      [3, true],
      [2, false],
      [2, true],
    ]);
    // Separable: AUC 1, EER 0. Two folds: fold 0 = pairs 0–1 picks t = .98995 from fold 1
    // (2 right vs 1 at −.7071): pair 0 wrong, pair 1 right → ½. Fold 1 picks t = .7071 from
    // fold 0 (2 right vs 1 at 0): both right → 1. Mean .75, std .25, mean t = (.98995+.70711)/2.
    expect(report.auc).toBe(1);
    expect(report.eer).toBe(0);
    expect(Array.from(report.foldAccuracies)).toEqual([0.5, 1]);
    expect(report.accuracy).toBeCloseTo(0.75, 12);
    expect(report.accuracyStd).toBeCloseTo(0.25, 12);
    expect(report.threshold).toBeCloseTo((1.4 / Math.SQRT2 + Math.SQRT1_2) / 2, 6);
  });

  it('uses the plain embedding alone when flip is off', async () => {
    //   (3,0)·(0,1) = 0;  (0,5)·(2,0) = 0;  (1,1)·(1,2)/(√2·√5) = 3/√10;  (−1,0)·(1,0) = −1
    const { scores } = await evaluateBin(bin, fakeModel, { flip: false, folds: 2 });
    expect(scores[0]).toBeCloseTo(0, 6);
    expect(scores[1]).toBeCloseTo(0, 6);
    expect(scores[2]).toBeCloseTo(3 / Math.sqrt(10), 6);
    expect(scores[3]).toBeCloseTo(-1, 6);
  });

  it('reports embedders that return the wrong number or size of embeddings', async () => {
    const short: BinEmbedder = async (batch) => batch.slice(1).map(() => [1, 0]);
    await expect(evaluateBin(bin, short, { folds: 2 })).rejects.toThrow(ShapeMismatchError);
    const ragged: BinEmbedder = async (batch, { flip }) => batch.map(() => (flip ? [1, 0, 0] : [1, 0]));
    await expect(evaluateBin(bin, ragged, { folds: 2 })).rejects.toThrow(
      /embedding of image 0.*length 2.*length 3/,
    );
    const zero: BinEmbedder = async (batch) => batch.map(() => [0, 0]);
    await expect(evaluateBin(bin, zero, { folds: 2 })).rejects.toThrow(/embedding of image 0.*non-zero/);
    await expect(evaluateBin(bin, fakeModel, { batchSize: 0 })).rejects.toThrow(InvalidArgumentError);
  });
});

describe('mirrorPixels', () => {
  it('reverses the columns of each row and keeps channel order', () => {
    // 2×3 grey: rows [1 2 3] [4 5 6] → [3 2 1] [6 5 4]
    expect(
      Array.from(mirrorPixels(Uint8Array.of(1, 2, 3, 4, 5, 6), { height: 2, width: 3, channels: 1 })),
    ).toEqual([3, 2, 1, 6, 5, 4]);
    // 1×2 RGB: pixels (1,2,3) (4,5,6) → (4,5,6) (1,2,3)
    expect(
      Array.from(mirrorPixels(Uint8Array.of(1, 2, 3, 4, 5, 6), { height: 1, width: 2, channels: 3 })),
    ).toEqual([4, 5, 6, 1, 2, 3]);
  });

  it('rejects a buffer of the wrong size', () => {
    expect(() => mirrorPixels(new Uint8Array(5), { height: 1, width: 2, channels: 3 })).toThrow(
      ShapeMismatchError,
    );
  });
});
