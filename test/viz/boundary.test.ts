import { describe, expect, it } from 'vitest';
import type { Head } from '../../src/heads/define.js';
import { createHead, headNames } from '../../src/heads/registry.js';
import { type BoundaryPoint, type BoundarySpace, computeBoundary } from '../../src/viz/boundary.js';
import { headBoundaries } from '../../src/viz/boundary-chart.js';

const RES = 61;

/** Target and negative logits straight from the head, for one point of a plane. */
function logits(head: Head, space: BoundarySpace, p: BoundaryPoint, xNorm = 1): [number, number] {
  const c = (v: number) => (space === 'angle' ? Math.cos(v) : v);
  const out = head.marginLogits(Float64Array.of(c(p.x), c(p.y)), 2, Int32Array.of(0), Float64Array.of(xNorm));
  return [out[0], out[1]];
}

/** Every non-jump boundary point has equal logits (relative 1e-9); returns the points checked. */
function expectOnBoundary(head: Head, space: BoundarySpace, points: BoundaryPoint[], xNorm = 1): number {
  let checked = 0;
  for (const p of points) {
    expect(Number.isFinite(p.x) && Number.isFinite(p.y)).toBe(true);
    if (p.jump) continue;
    const [t, n] = logits(head, space, p, xNorm);
    expect(Math.abs(t - n)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(t), Math.abs(n)));
    checked++;
  }
  return checked;
}

const flat = (head: Head, space: BoundarySpace) =>
  computeBoundary(head, { space, resolution: RES }).lines.flat();

describe('decision boundary from the head’s margin code', () => {
  it('ArcFace: θj = θy + m in the angle plane, nothing past θy + m > π with the thmm fallback', () => {
    const m = 0.5;
    const head = createHead('arcface', { margin: m });
    const points = flat(head, 'angle');
    expect(expectOnBoundary(head, 'angle', points)).toBeGreaterThan(RES);
    let onLine = 0;
    for (const p of points) {
      expect(p.x).toBeLessThanOrEqual(Math.PI - m + 1e-9);
      if (p.x < Math.PI - m - 1e-3) {
        expect(Math.abs(p.y - (p.x + m))).toBeLessThan(1e-7);
        onLine++;
      }
    }
    expect(onLine).toBeGreaterThan(40);
  });

  it('ArcFace with fallback none: past θy + m > π the boundary folds back to θj = 2π − θy − m', () => {
    const m = 0.5;
    const head = createHead('arcface', { margin: m, fallback: 'none' });
    const points = flat(head, 'angle');
    expectOnBoundary(head, 'angle', points);
    const past = points.filter((p) => p.x > Math.PI - m + 1e-3);
    expect(past.length).toBeGreaterThan(5);
    for (const p of past) expect(Math.abs(p.y - (2 * Math.PI - p.x - m))).toBeLessThan(1e-7);
  });

  it('ArcFace (thmm) in the cosine plane: boundary points satisfy the head equation', () => {
    const head = createHead('arcface');
    expect(expectOnBoundary(head, 'cosine', flat(head, 'cosine'))).toBeGreaterThan(RES);
  });

  it('CosFace: cos θj = cos θy − m in the cosine plane', () => {
    const m = 0.35;
    const head = createHead('cosface', { margin: m });
    const points = flat(head, 'cosine');
    expectOnBoundary(head, 'cosine', points);
    for (const p of points) expect(Math.abs(p.y - (p.x - m))).toBeLessThan(1e-9);
    const xs = points.map((p) => p.x);
    expect(Math.min(...xs)).toBeCloseTo(-1 + m, 6);
    expect(Math.max(...xs)).toBeCloseTo(1, 6);
  });

  it('SphereFace with λ = 0, m = 4: θj = 4θy up to θy = π/4 and no boundary beyond (ψ ≤ −1 there)', () => {
    const head = createHead('sphereface', { m: 4 });
    head.initState(2);
    head.setState({ iter: 0, lambda: 0 });
    const points = flat(head, 'angle');
    expect(expectOnBoundary(head, 'angle', points)).toBeGreaterThan(RES / 2);
    for (const p of points) {
      expect(p.x).toBeLessThanOrEqual(Math.PI / 4 + 1e-6);
      if (p.y < Math.PI - 1e-6) expect(Math.abs(p.y - 4 * p.x)).toBeLessThan(1e-7);
    }
  });

  it('SphereFace with λ = 5 (piecewise ψ blended with cos θ): boundary points satisfy the head equation', () => {
    const head = createHead('sphereface');
    head.initState(2);
    head.setState({ iter: 0, lambda: 5 });
    for (const space of ['angle', 'cosine'] as const) {
      expect(expectOnBoundary(head, space, flat(head, space))).toBeGreaterThan(RES);
    }
  });

  it('MV-Softmax: hard negatives already lose, so the boundary is CosFace’s for any t', () => {
    const m = 0.35;
    for (const t of [0, 1]) {
      const head = createHead('mvsoftmax', { margin: m, t });
      const points = flat(head, 'cosine');
      expectOnBoundary(head, 'cosine', points);
      for (const p of points) expect(Math.abs(p.y - (p.x - m))).toBeLessThan(1e-9);
    }
  });

  it('CurricularFace with t = 0: hard negatives become cos², so the boundary is cos θj = √cos(θy + m)', () => {
    const m = 0.5;
    const head = createHead('curricularface', { margin: m });
    head.initState(2);
    head.setState({ t: 0 });
    const points = flat(head, 'angle');
    expectOnBoundary(head, 'angle', points);
    // Where cos(θy + m) ∈ (0, 1) the hard branch decides: c² = cos(θy + m).
    const hard = points.filter((p) => p.x + m < Math.PI / 2 - 1e-3);
    expect(hard.length).toBeGreaterThan(10);
    for (const p of hard) expect(Math.abs(Math.cos(p.y) - Math.sqrt(Math.cos(p.x + m)))).toBeLessThan(1e-7);
  });

  it('shaded region: at θy = 30° ArcFace’s target wins exactly for θj ∈ [θy + m, π]', () => {
    const m = 0.5;
    const b = computeBoundary(createHead('arcface', { margin: m }), { space: 'angle', resolution: 61 });
    const x = Math.PI / 6;
    const column = b.region.filter((r) => Math.abs(r.x - x) < 1e-9);
    expect(column).toHaveLength(1);
    expect(column[0].y0).toBeCloseTo(x + m, 7);
    expect(column[0].y1).toBe(Math.PI);
    expect(column[0].halfWidth).toBeCloseTo(Math.PI / 120, 12);
  });

  it('every head: every curve’s non-jump boundary points satisfy that head’s equation', () => {
    for (const name of headNames) {
      const data = headBoundaries(name, { spaces: ['angle'], resolution: 31, negatives: false });
      expect(data.curves.length).toBeGreaterThan(0);
      for (const curve of data.curves) {
        const points = curve.boundaries.angle!.lines.flat();
        expect(points.length, `${name}: ${curve.label}`).toBeGreaterThan(0);
        expectOnBoundary(curve.head, 'angle', points, curve.xNorm);
      }
    }
  });
});
