/**
 * The explorer's numbers: parameter controls derived from the head schemas, the (θy, θj) decision grid,
 * its contour and the logit curves — checked against boundaries worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { createHead, headNames } from '../../src/heads/registry.js';
import { buildHead, controlsFor, defaultSetting, hasMargin } from '../../web/src/explorer/controls.js';
import { boundaryRows } from '../../web/src/explorer/formula-table.js';
import { boundaryGrid, contourSegments, gridAngle, logitCurves } from '../../web/src/explorer/margin-grid.js';

const N = 91;

/** Check the sign of every grid point whose hand-computed margin from the boundary exceeds `eps`. */
function expectRegion(
  diff: Float64Array,
  n: number,
  wins: (ty: number, tj: number) => number,
  eps = 1e-9,
): number {
  let checked = 0;
  for (let b = 0; b < n; b++) {
    for (let a = 0; a < n; a++) {
      const w = wins(gridAngle(a, n), gridAngle(b, n));
      if (Math.abs(w) <= eps) continue;
      expect(diff[b * n + a] > 0, `θy=${gridAngle(a, n)}, θj=${gridAngle(b, n)}`).toBe(w > 0);
      checked++;
    }
  }
  return checked;
}

describe('decision grid', () => {
  it('NormFace: the target wins exactly above the diagonal', () => {
    const grid = boundaryGrid(createHead('normface'), N);
    // Points with θj > θy: (n² − n)/2 of n²; the diagonal itself is a tie (no win).
    expect(grid.winFraction).toBeCloseTo((N * N - N) / 2 / (N * N), 12);
    expectRegion(grid.diff, N, (ty, tj) => tj - ty);
  });

  it('CosFace: the target wins where cos θy − m > cos θj', () => {
    const m = 0.35;
    const grid = boundaryGrid(createHead('cosface', { margin: m }), N);
    expect(expectRegion(grid.diff, N, (ty, tj) => Math.cos(ty) - m - Math.cos(tj))).toBeGreaterThan(
      N * N - 2 * N,
    );
  });

  it('ArcFace: θj > θy + m below the fallback, never past it (m = 0.5)', () => {
    const m = 0.5;
    const grid = boundaryGrid(createHead('arcface', { margin: m }), N);
    // Past θy = π − m the fallback cos θy − m·sin(π − m) ≤ −cos m − m·sin m ≈ −1.117 < −1 ≤ cos θj.
    expectRegion(grid.diff, N, (ty, tj) => (ty < Math.PI - m ? tj - ty - m : -1));
  });

  it('ArcFace contour: every segment lies on θj = θy + m', () => {
    const m = 0.3;
    const grid = boundaryGrid(createHead('arcface', { margin: m }), N);
    const seg = contourSegments(grid);
    expect(seg.length / 4).toBeGreaterThan(N / 2);
    const h = Math.PI / (N - 1);
    for (let k = 0; k < seg.length; k += 2) {
      const [ty, tj] = [seg[k], seg[k + 1]];
      // Away from the top edge and the fallback column, the contour follows the line to within O(h²).
      if (ty < Math.PI - m - 2 * h && tj < Math.PI - h) expect(Math.abs(tj - ty - m)).toBeLessThan(0.01);
    }
  });

  it('every head with logits gives a finite grid with some wins and some losses', () => {
    for (const name of headNames.filter(hasMargin)) {
      const setting = defaultSetting(name);
      const grid = boundaryGrid(buildHead(setting), 31, setting.xNorm);
      expect(grid.diff.every(Number.isFinite), name).toBe(true);
      expect(grid.winFraction, name).toBeGreaterThan(0.05);
      expect(grid.winFraction, name).toBeLessThan(0.95);
    }
  });
});

describe('logit curves', () => {
  it('NormFace: both curves are s·cos θ', () => {
    const c = logitCurves(createHead('normface', { scale: 30 }), 37);
    c.theta.forEach((t, k) => {
      expect(c.target[k]).toBeCloseTo(30 * Math.cos(t), 10);
      expect(c.negative[k]).toBeCloseTo(30 * Math.cos(t), 10);
    });
  });

  it('CosFace: the target curve sits s·m below the negative one', () => {
    const c = logitCurves(createHead('cosface', { scale: 64, margin: 0.35 }), 37);
    c.theta.forEach((_, k) => {
      expect(c.negative[k] - c.target[k]).toBeCloseTo(64 * 0.35, 9);
    });
  });
});

describe('controls from the schema', () => {
  const keys = (name: string, params: Record<string, unknown> = {}) => {
    const s = defaultSetting(name);
    return controlsFor({ ...s, params: { ...s.params, ...params } });
  };

  it('ArcFace shows scale, margin and fallback, not the loss wrapper or gradient mode', () => {
    const c = keys('arcface');
    expect(c.params.map((p) => p.key)).toEqual(['scale', 'margin', 'fallback']);
    const margin = c.params.find((p) => p.key === 'margin');
    expect(margin).toMatchObject({ kind: 'number', value: 0.5, min: 0, angular: true });
    expect(margin?.kind === 'number' && margin.max < Math.PI).toBe(true);
    expect(c.xNorm).toBeNull();
  });

  it('a fallback that uses fallbackMargin brings its slider in', () => {
    expect(keys('arcface', { fallback: 'am' }).params.map((p) => p.key)).toContain('fallbackMargin');
  });

  it('norm-dependent heads get a ‖x‖ slider; state sliders appear where state moves the margin', () => {
    const mag = keys('magface');
    expect(mag.xNorm).not.toBeNull();
    expect(mag.params.map((p) => p.key)).toEqual(
      expect.arrayContaining(['lowerNorm', 'upperNorm', 'lowerMargin', 'upperMargin']),
    );
    expect(mag.params.map((p) => p.key)).not.toContain('lambda');
    expect(keys('sphereface').state.map((s) => s.key)).toEqual(['lambda']);
    expect(keys('curricularface').state.map((s) => s.key)).toEqual(['t']);
    expect(keys('centerloss')).toEqual({ params: [], state: [], xNorm: null });
  });

  it('integer parameters step by 1 and every slider starts inside its range', () => {
    expect(keys('sphereface').params.find((p) => p.key === 'm')).toMatchObject({ step: 1, min: 1, max: 5 });
    for (const name of headNames) {
      const c = keys(name);
      for (const p of [...c.params, ...c.state]) {
        if (p.kind !== 'number') continue;
        expect(p.value, `${name}.${p.key}`).toBeGreaterThanOrEqual(p.min);
        expect(p.value, `${name}.${p.key}`).toBeLessThanOrEqual(p.max);
      }
    }
  });

  it('a value the schema refuses raises the registry’s typed error', () => {
    const s = defaultSetting('magface');
    expect(() => buildHead({ ...s, params: { ...s.params, upperNorm: 5 } })).toThrow(/upperNorm/);
  });
});

describe('cosine plane', () => {
  it('CosFace: the target wins where cos θy − m > cos θj, on (cos θy, cos θj) axes', () => {
    const m = 0.35;
    const grid = boundaryGrid(createHead('cosface', { margin: m }), N, 1, 'cosine');
    const coord = (k: number) => -1 + (2 * k) / (N - 1);
    let checked = 0;
    for (let b = 0; b < N; b++) {
      for (let a = 0; a < N; a++) {
        const w = coord(a) - m - coord(b);
        if (Math.abs(w) < 1e-9) continue;
        expect(grid.diff[b * N + a] > 0).toBe(w > 0);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(N * N - 2 * N);
    // The boundary is the straight line cos θj = cos θy − m: every segment end lies on it.
    const seg = contourSegments(grid);
    expect(seg.length).toBeGreaterThan(0);
    for (let k = 0; k < seg.length; k += 2) expect(seg[k] - m - seg[k + 1]).toBeCloseTo(0, 6);
  });
});

describe('boundary formula table', () => {
  it('has one row per head of the CurricularFace paper, from the head files, aliases joined', () => {
    const rows = boundaryRows();
    expect(rows.map((r) => r.formula.label)).toEqual([
      'Softmax',
      'SphereFace',
      'CosFace',
      'ArcFace',
      'CurricularFace',
      'MV-Arc-Softmax',
    ]);
    expect(rows.find((r) => r.formula.label === 'CosFace')?.heads).toEqual(['cosface', 'amsoftmax']);
    // Only the two heads that transform hard negatives have a hard-sample boundary of their own.
    expect(rows.filter((r) => r.formula.hard !== undefined).map((r) => r.heads[0])).toEqual([
      'curricularface',
      'mvsoftmax',
    ]);
  });
});
