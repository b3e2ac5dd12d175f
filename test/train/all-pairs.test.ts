/**
 * TAR at low FAR over every held-out pair: checked against a brute-force count over the explicit list
 * of pair cosines, plus the properties the held-out report relies on (scale invariance, undefined when a
 * FAR cannot be resolved, a seeded image cap) and the labels it prints.
 */
import { describe, expect, it } from 'vitest';
import { farLabel } from '../../src/eval/index.js';
import { createRng } from '../../src/rng.js';
import {
  ALL_PAIRS_MAX_IMAGES,
  allPairsTar,
  type Embedded,
  formatTar,
  HELDOUT_FAR_TARGETS,
} from '../../src/train/index.js';

/** TARs are counts over the genuine pairs: equal results agree to rounding only. */
const TOL = 1e-12;

/**
 * `n` embeddings of `classes` identities in `dim` dimensions: a random centre per class plus noise of
 * scale `spread`, so genuine pairs score higher on average but the classes overlap (TARs strictly
 * between 0 and 1 at small FARs).
 */
function clustered(n: number, classes: number, dim: number, spread: number, seed: number): Embedded {
  const rng = createRng(seed);
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => rng.normal()));
  const embeddings = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let k = 0; k < dim; k++) embeddings[i * dim + k] = centres[c][k] + spread * rng.normal();
  }
  return { embeddings, labels, dim };
}

/**
 * Brute force, independent of the implementation: list every pair (i < j) with its cosine and whether
 * it is genuine; for every distinct score t (accept "score ≥ t") plus the empty acceptance, count the
 * accepted genuine and impostor pairs directly; the answer is the largest TPR among points whose FPR is
 * at most the FAR. Undefined when there are no genuine or no impostor pairs, or the FAR is below
 * 1 / impostors.
 */
function bruteForceTar(e: Embedded, far: number): number | undefined {
  const n = e.labels.length;
  const d = e.dim;
  const scores: number[] = [];
  const genuine: boolean[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let dot = 0;
      let ni = 0;
      let nj = 0;
      for (let k = 0; k < d; k++) {
        const a = e.embeddings[i * d + k];
        const b = e.embeddings[j * d + k];
        dot += a * b;
        ni += a * a;
        nj += b * b;
      }
      // A zero row has no direction: its cosine with anything is taken as 0.
      scores.push(ni * nj > 0 ? dot / Math.sqrt(ni * nj) : 0);
      genuine.push(e.labels[i] === e.labels[j]);
    }
  }
  const P = genuine.filter(Boolean).length;
  const N = genuine.length - P;
  if (P === 0 || N === 0 || far < 1 / N) return undefined;
  let best = 0;
  for (const t of new Set(scores)) {
    let tp = 0;
    let fp = 0;
    for (let q = 0; q < scores.length; q++) {
      if (scores[q] >= t) {
        if (genuine[q]) tp++;
        else fp++;
      }
    }
    // fp / N ≤ far, with slack for the rounding of far·N at exact equality (e.g. 15 of 1,500 at 1e-2).
    if (fp <= far * N * (1 + 1e-12)) best = Math.max(best, tp / P);
  }
  return best;
}

const TARGETS = [1e-1, 1e-2, 5e-3, 1e-3];

describe('allPairsTar', () => {
  it('matches a brute-force count over every pair (several random sets)', () => {
    for (const [n, classes, dim, spread, seed] of [
      [60, 6, 8, 1.2, 1],
      [61, 4, 3, 0.8, 2],
      [50, 10, 16, 1.5, 3],
    ]) {
      const e = clustered(n, classes, dim, spread, seed);
      const got = allPairsTar(e, TARGETS);
      expect(got.map((t) => t.far)).toEqual(TARGETS);
      let strictlyBetween = 0;
      for (const { far, tar } of got) {
        const want = bruteForceTar(e, far);
        expect(want, `n=${n} far=${far}`).toBeDefined();
        expect(tar, `n=${n} far=${far}`).toBeDefined();
        expect(Math.abs((tar as number) - (want as number)), `n=${n} far=${far}`).toBeLessThanOrEqual(TOL);
        if ((want as number) > 0 && (want as number) < 1) strictlyBetween++;
      }
      // The sets are hard enough that the comparison is not between trivial 0s and 1s.
      expect(strictlyBetween, `n=${n}`).toBeGreaterThanOrEqual(2);
    }
  });

  it('uses the held-out FAR targets by default', () => {
    const e = clustered(60, 6, 4, 1, 4);
    const got = allPairsTar(e);
    expect(got.map((t) => t.far)).toEqual([...HELDOUT_FAR_TARGETS]);
    for (const { far, tar } of got) expect(tar).toBe(bruteForceTar(e, far));
  });

  it('is unchanged when each embedding is scaled by its own positive factor', () => {
    const e = clustered(60, 6, 8, 1.2, 5);
    const rng = createRng(50);
    const scaled = Float32Array.from(e.embeddings);
    for (let i = 0; i < e.labels.length; i++) {
      // Powers of two scale float32 values exactly, so the cosines are bit-identical mathematically.
      const factor = 2 ** (rng.int(13) - 6);
      for (let k = 0; k < e.dim; k++) scaled[i * e.dim + k] *= factor;
    }
    const before = allPairsTar(e, TARGETS);
    const after = allPairsTar({ ...e, embeddings: scaled }, TARGETS);
    expect(after.length).toBe(before.length);
    after.forEach((t, i) => {
      expect(t.far).toBe(before[i].far);
      expect(Math.abs((t.tar as number) - (before[i].tar as number))).toBeLessThanOrEqual(TOL);
    });
    // Non-trivial TARs, so a change in the ranking of the pairs would show.
    expect(before.some((t) => t.tar !== undefined && t.tar > 0 && t.tar < 1)).toBe(true);
  });

  it('gives undefined TARs when every pair is genuine or every pair is an impostor', () => {
    const e = clustered(30, 3, 4, 1, 6);
    const allSame = allPairsTar({ ...e, labels: new Int32Array(30).fill(7) }, TARGETS);
    expect(allSame.map((t) => t.far)).toEqual(TARGETS);
    for (const t of allSame) expect(t.tar).toBeUndefined();
    const allDifferent = allPairsTar({ ...e, labels: Int32Array.from({ length: 30 }, (_, i) => i) }, TARGETS);
    for (const t of allDifferent) expect(t.tar).toBeUndefined();
  });

  it('gives an undefined TAR for a FAR below 1 / impostor pairs, and keeps the others', () => {
    // 20 images in 2 classes of 10: 100 impostor pairs, so 1e-2 resolves and 5e-3 does not.
    const e = clustered(20, 2, 4, 1, 7);
    const got = allPairsTar(e, [5e-3, 1e-1, 1e-2, 1e-3]);
    expect(got.map((t) => t.far)).toEqual([5e-3, 1e-1, 1e-2, 1e-3]);
    expect(got[0].tar).toBeUndefined();
    expect(got[3].tar).toBeUndefined();
    expect(Math.abs((got[1].tar as number) - (bruteForceTar(e, 1e-1) as number))).toBeLessThanOrEqual(TOL);
    expect(Math.abs((got[2].tar as number) - (bruteForceTar(e, 1e-2) as number))).toBeLessThanOrEqual(TOL);
  });

  it('gives TAR 1 at FAR 1e-2 for two tight clusters far apart', () => {
    // Class 0 near (1, 0, 0), class 1 near (−1, 0, 0): genuine cosines ≈ 1, impostor cosines ≈ −1.
    const rng = createRng(8);
    const n = 30;
    const embeddings = new Float32Array(n * 3);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i < n / 2 ? 0 : 1;
      embeddings[i * 3] = (labels[i] === 0 ? 1 : -1) * (1 + rng.next());
      embeddings[i * 3 + 1] = 0.05 * rng.normal();
      embeddings[i * 3 + 2] = 0.05 * rng.normal();
    }
    const [t] = allPairsTar({ embeddings, labels, dim: 3 }, [1e-2]);
    expect(t.tar).toBe(1);
    // Swapping the labels of one image from each class breaks the separation: TAR falls below 1.
    const mixed = Int32Array.from(labels);
    mixed[0] = 1;
    mixed[n - 1] = 0;
    const [u] = allPairsTar({ embeddings, labels: mixed, dim: 3 }, [1e-2]);
    expect(u.tar).toBeLessThan(1);
    expect(
      Math.abs((u.tar as number) - (bruteForceTar({ embeddings, labels: mixed, dim: 3 }, 1e-2) as number)),
    ).toBeLessThanOrEqual(TOL);
  });

  it('scores a zero embedding as cosine 0 with everything', () => {
    const e = clustered(40, 4, 4, 1, 9);
    const zeroed = { ...e, embeddings: Float32Array.from(e.embeddings) };
    zeroed.embeddings.fill(0, 0, 3 * e.dim);
    const got = allPairsTar(zeroed, [1e-1, 2e-2]);
    for (const { far, tar } of got) {
      expect(Math.abs((tar as number) - (bruteForceTar(zeroed, far) as number))).toBeLessThanOrEqual(TOL);
    }
  });

  describe('image cap', () => {
    const big = clustered(200, 10, 6, 1.2, 10);

    it('leaves a set at or below the cap alone', () => {
      const uncapped = allPairsTar(big, TARGETS);
      expect(allPairsTar(big, TARGETS, { maxImages: 200, seed: 3 })).toEqual(uncapped);
      expect(allPairsTar(big, TARGETS, { maxImages: 1000 })).toEqual(uncapped);
      expect(big.labels.length).toBeLessThan(ALL_PAIRS_MAX_IMAGES);
      // 200 images: 19,900 pairs, so every target resolves.
      for (const t of uncapped) expect(t.tar).toBeDefined();
    });

    it('samples down to the cap: fewer pairs, so small FARs no longer resolve', () => {
      // 20 images of 10 classes give at most 190 pairs: 1e-3 and 5e-3 cannot be resolved, 1e-1 can.
      const capped = allPairsTar(big, TARGETS, { maxImages: 20, seed: 1 });
      expect(capped.map((t) => t.far)).toEqual(TARGETS);
      expect(capped[2].tar).toBeUndefined();
      expect(capped[3].tar).toBeUndefined();
    });

    it('is reproducible for a seed and depends on it', () => {
      const a = allPairsTar(big, TARGETS, { maxImages: 40, seed: 11 });
      const b = allPairsTar(big, TARGETS, { maxImages: 40, seed: 11 });
      expect(b).toEqual(a);
      const others = [12, 13, 14, 15, 16].map(
        (seed) => allPairsTar(big, [1e-1], { maxImages: 40, seed })[0].tar,
      );
      // Different samples of 40 from 200 give different TARs (5 seeds all agreeing would mean no sampling).
      expect(new Set([a[0].tar, ...others]).size).toBeGreaterThan(1);
    });
  });
});

describe('farLabel', () => {
  it('writes a FAR as mantissa e exponent', () => {
    expect(farLabel(0.001)).toBe('1e-3');
    expect(farLabel(0.05)).toBe('5e-2');
    expect(farLabel(1e-1)).toBe('1e-1');
    expect(farLabel(1e-6)).toBe('1e-6');
    expect(farLabel(2.5e-4)).toBe('2.5e-4');
    expect(farLabel(1)).toBe('1e0');
  });
});

describe('formatTar', () => {
  it('prints percentages with two decimals and a dash where the FAR was not resolved', () => {
    const text = formatTar([
      { far: 1e-2, tar: 0.931 },
      { far: 1e-3, tar: undefined },
      { far: 1e-4, tar: 0.51944 },
    ]);
    expect(text).toBe('TAR@FAR 1e-2 93.10%  1e-3 –  1e-4 51.94%');
    expect(text).not.toMatch(/undefined|NaN/);
  });
});
