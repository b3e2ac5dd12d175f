import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { partialForward, sampleClasses } from '../../src/heads/partialfc.js';
import { createHead } from '../../src/heads/registry.js';
import { createRng } from '../../src/rng.js';

function randomInputs(seed: number, B: number, D: number, C: number) {
  const rng = createRng(seed);
  return {
    X: Float64Array.from({ length: B * D }, () => rng.normal()),
    W: Float64Array.from({ length: C * D }, () => rng.normal()),
    labels: Int32Array.from({ length: B }, () => rng.int(C)),
  };
}

describe('sampleClasses', () => {
  it('keeps every batch label, takes ⌈rC⌉ classes in ascending order and re-indexes labels', () => {
    const labels = Int32Array.of(97, 3, 3, 50);
    const s = sampleClasses(labels, 100, 0.1, createRng(5));
    expect(s.classes.length).toBe(10);
    for (let k = 1; k < s.classes.length; k++) expect(s.classes[k]).toBeGreaterThan(s.classes[k - 1]);
    labels.forEach((y, i) => {
      expect(s.classes[s.labels[i]]).toBe(y);
    });
  });

  it('is reproducible for a seed and varies across seeds', () => {
    const labels = Int32Array.of(1, 2);
    const a = sampleClasses(labels, 1000, 0.05, createRng(9));
    const b = sampleClasses(labels, 1000, 0.05, createRng(9));
    const c = sampleClasses(labels, 1000, 0.05, createRng(10));
    expect(Array.from(a.classes)).toEqual(Array.from(b.classes));
    expect(Array.from(a.classes)).not.toEqual(Array.from(c.classes));
  });

  it('takes more than ⌈rC⌉ classes when the batch holds more distinct labels', () => {
    const labels = Int32Array.from({ length: 8 }, (_, i) => i);
    expect(sampleClasses(labels, 20, 0.1, createRng(1)).classes.length).toBe(8);
  });

  it('rejects a rate outside (0, 1]', () => {
    expect(() => sampleClasses(Int32Array.of(0), 4, 0, createRng(1))).toThrow(InvalidArgumentError);
    expect(() => sampleClasses(Int32Array.of(0), 4, 1.5, createRng(1))).toThrow(/rate/);
  });
});

describe('partialForward', () => {
  it('equals the full head at rate 1', () => {
    const { X, W, labels } = randomInputs(3, 6, 5, 7);
    const full = createHead('arcface', { scale: 16 }).forward({ X, W, labels });
    const part = partialForward(createHead('arcface', { scale: 16 }), { X, W, labels }, 5, 1, createRng(0));
    expect(part.loss).toBeCloseTo(full.loss, 12);
    part.grads.W.forEach((g, i) => {
      expect(Math.abs(g - full.grads.W[i])).toBeLessThan(1e-12);
    });
  });

  it('matches the head run on the sampled sub-matrix, with zero gradient for unsampled classes', () => {
    const D = 4;
    const C = 40;
    const { X, W, labels } = randomInputs(4, 5, D, C);
    const part = partialForward(
      createHead('cosface', { scale: 10 }),
      { X, W, labels },
      D,
      0.25,
      createRng(2),
    );
    const sub = new Float64Array(part.sample.classes.length * D);
    part.sample.classes.forEach((c, k) => {
      sub.set(W.subarray(c * D, (c + 1) * D), k * D);
    });
    const direct = createHead('cosface', { scale: 10 }).forward({ X, W: sub, labels: part.sample.labels });
    expect(part.loss).toBeCloseTo(direct.loss, 12);
    const sampled = new Set(part.sample.classes);
    for (let c = 0; c < C; c++) {
      const row = part.grads.W.subarray(c * D, (c + 1) * D);
      if (!sampled.has(c)) expect(Array.from(row)).toEqual([0, 0, 0, 0]);
      else {
        const k = part.sample.classes.indexOf(c);
        row.forEach((g, d) => {
          expect(Math.abs(g - direct.grads.W[k * D + d])).toBeLessThan(1e-12);
        });
      }
    }
  });

  it('samples per-class extras (AdaM margins) and scatters their gradient back', () => {
    const D = 3;
    const C = 12;
    const { X, W, labels } = randomInputs(6, 4, D, C);
    const margins = Float64Array.from({ length: C }, (_, c) => 0.3 + c / 100);
    const part = partialForward(
      createHead('adamsoftmax'),
      { X, W, labels, extras: { margins } },
      D,
      0.5,
      createRng(3),
    );
    expect(part.grads.margins.length).toBe(C);
    const sampled = new Set(part.sample.classes);
    for (let c = 0; c < C; c++) if (!sampled.has(c)) expect(part.grads.margins[c]).toBe(0);
  });
});
