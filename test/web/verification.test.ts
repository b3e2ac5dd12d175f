/** Held-out verification of the live panels: TAR at a low FAR over all pairs of digits. */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/rng.js';
import { tarAtLowFar } from '../../web/src/train/verification.js';

/** n 2-D embeddings of ten classes; `spread` radians of noise around each class's direction. */
function embeddings(n: number, spread: number, seed: number) {
  const rng = createRng(seed);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const e = new Float32Array(2 * n);
  labels.forEach((c, i) => {
    const a = (2 * Math.PI * c) / 10 + spread * (rng.next() - 0.5);
    const r = 1 + rng.next();
    e[2 * i] = r * Math.cos(a);
    e[2 * i + 1] = r * Math.sin(a);
  });
  return { e, labels };
}

describe('TAR at a low FAR', () => {
  it('is 1 when every class sits alone in its direction (any norm)', () => {
    const { e, labels } = embeddings(200, 0.05, 1);
    expect(tarAtLowFar(e, labels, 2, 200, 1e-3)).toBe(1);
  });

  it('falls when the classes overlap', () => {
    const tight = embeddings(200, 0.3, 2);
    const loose = embeddings(200, 2.5, 2);
    const a = tarAtLowFar(tight.e, tight.labels, 2, 200, 1e-3);
    const b = tarAtLowFar(loose.e, loose.labels, 2, 200, 1e-3);
    expect(a).toBeGreaterThan(0.9);
    expect(b).toBeLessThan(0.5);
  });

  it('uses only the first `count` digits', () => {
    const { e, labels } = embeddings(60, 0.05, 3);
    // Spoil a digit beyond the first 50: the pairs of the first 50 stay perfect.
    e[2 * 55] = -e[2 * 55];
    e[2 * 55 + 1] = -e[2 * 55 + 1];
    expect(tarAtLowFar(e, labels, 2, 50, 1e-2)).toBe(1);
    expect(tarAtLowFar(e, labels, 2, 60, 1e-2)).toBeLessThan(1);
  });
});
