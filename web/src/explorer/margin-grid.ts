/**
 * What the explorer draws, computed from the head's own margin ({@link Head.marginLogits}): one sample
 * with target class y and one other class j has cosines (cos θy, cos θj); row i of the batch handed to
 * the head is [cos θy, cos θj] with label 0. Nothing here re-implements a margin formula.
 */
import type { Head } from '../../../src/heads/define.js';

/**
 * Coordinates of the decision plane: `angle` samples (θy, θj) over [0, π]², `cosine` samples
 * (cos θy, cos θj) over [−1, 1]².
 */
export type Plane = 'angle' | 'cosine';

/** Range of a plane's coordinates. */
export function planeRange(plane: Plane): { lo: number; hi: number } {
  return plane === 'angle' ? { lo: 0, hi: Math.PI } : { lo: -1, hi: 1 };
}

/** Target − negative logit differences over a plane, sampled n × n. */
export interface BoundaryGrid {
  plane: Plane;
  /** Samples per axis; sample k sits at coordinate lo + (hi − lo)·k/(n − 1). */
  n: number;
  /** diff[b·n + a] = logit_y − logit_j at sample a along x (target), b along y (other class). */
  diff: Float64Array;
  /** Share of the plane where the target wins (diff > 0). */
  winFraction: number;
}

/** Logit curves over θ ∈ [0, π], n samples. */
export interface LogitCurves {
  theta: Float64Array;
  /** Target logit at θy = θ (the other class held at `otherAngle`). */
  target: Float64Array;
  /** Negative logit at θj = θ (the target held at `otherAngle`). */
  negative: Float64Array;
  /** Angle at which the other cosine was held (radians). */
  otherAngle: number;
}

/** Angle of grid sample k of n over [0, π]. */
export function gridAngle(k: number, n: number): number {
  return (Math.PI * k) / (n - 1);
}

/** Logits of pairs (θy, θj) in one call to the head: returns [logit_y, logit_j] per pair, interleaved. */
export function pairLogits(
  head: Head,
  thetaY: Float64Array,
  thetaJ: Float64Array,
  xNorm: number,
): Float64Array {
  const count = thetaY.length;
  const cos = new Float64Array(2 * count);
  for (let i = 0; i < count; i++) {
    cos[2 * i] = Math.cos(thetaY[i]);
    cos[2 * i + 1] = Math.cos(thetaJ[i]);
  }
  return head.marginLogits(cos, 2, new Int32Array(count), new Float64Array(count).fill(xNorm));
}

/** Angle of sample k of n along an axis of `plane`. */
export function planeAngle(plane: Plane, k: number, n: number): number {
  if (plane === 'angle') return gridAngle(k, n);
  const { lo, hi } = planeRange(plane);
  return Math.acos(Math.min(1, Math.max(-1, lo + ((hi - lo) * k) / (n - 1))));
}

/** Sample the binary decision problem over a plane ([0, π]² of angles unless told otherwise). */
export function boundaryGrid(head: Head, n: number, xNorm = 1, plane: Plane = 'angle'): BoundaryGrid {
  const thetaY = new Float64Array(n * n);
  const thetaJ = new Float64Array(n * n);
  const angles = Float64Array.from({ length: n }, (_, k) => planeAngle(plane, k, n));
  for (let b = 0; b < n; b++) {
    for (let a = 0; a < n; a++) {
      thetaY[b * n + a] = angles[a];
      thetaJ[b * n + a] = angles[b];
    }
  }
  const logits = pairLogits(head, thetaY, thetaJ, xNorm);
  const diff = new Float64Array(n * n);
  let wins = 0;
  for (let i = 0; i < n * n; i++) {
    diff[i] = logits[2 * i] - logits[2 * i + 1];
    if (diff[i] > 0) wins++;
  }
  return { plane, n, diff, winFraction: wins / (n * n) };
}

/** Target and negative logit curves (the gap between them at equal angles is the margin). */
export function logitCurves(head: Head, n: number, xNorm = 1, otherAngle = Math.PI / 2): LogitCurves {
  const theta = Float64Array.from({ length: n }, (_, k) => gridAngle(k, n));
  const held = new Float64Array(n).fill(otherAngle);
  const asTarget = pairLogits(head, theta, held, xNorm);
  const asNegative = pairLogits(head, held, theta, xNorm);
  const target = new Float64Array(n);
  const negative = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    target[k] = asTarget[2 * k];
    negative[k] = asNegative[2 * k + 1];
  }
  return { theta, target, negative, otherAngle };
}

/**
 * Zero contour of the grid as line segments (marching squares, linear interpolation along cell edges),
 * in the plane's coordinates: [x0, y0, x1, y1] per segment with x for the target, y for the other class.
 */
export function contourSegments(grid: BoundaryGrid): Float64Array {
  const { n, diff } = grid;
  const out: number[] = [];
  const { lo, hi } = planeRange(grid.plane);
  const h = (hi - lo) / (n - 1);
  const crossings: number[] = [];
  // Where the sign flips along an edge from corner p to corner q, with values vp, vq.
  const edge = (xp: number, yp: number, vp: number, xq: number, yq: number, vq: number) => {
    if (vp > 0 === vq > 0) return;
    const t = Number.isFinite(vp) && Number.isFinite(vq) && vp !== vq ? vp / (vp - vq) : 0.5;
    crossings.push(xp + t * (xq - xp), yp + t * (yq - yp));
  };
  for (let b = 0; b + 1 < n; b++) {
    for (let a = 0; a + 1 < n; a++) {
      const v00 = diff[b * n + a];
      const v10 = diff[b * n + a + 1];
      const v01 = diff[(b + 1) * n + a];
      const v11 = diff[(b + 1) * n + a + 1];
      crossings.length = 0;
      const x0 = lo + a * h;
      const y0 = lo + b * h;
      edge(x0, y0, v00, x0 + h, y0, v10);
      edge(x0 + h, y0, v10, x0 + h, y0 + h, v11);
      edge(x0 + h, y0 + h, v11, x0, y0 + h, v01);
      edge(x0, y0 + h, v01, x0, y0, v00);
      // Two crossings make one segment; a saddle (four) is joined pairwise in edge order.
      for (let k = 0; k + 3 < crossings.length; k += 4) {
        out.push(crossings[k], crossings[k + 1], crossings[k + 2], crossings[k + 3]);
      }
    }
  }
  return Float64Array.from(out);
}
