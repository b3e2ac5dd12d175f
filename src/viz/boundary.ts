/**
 * Binary decision boundaries of a head, computed from the head's own margin code.
 *
 * One sample with target class y and one other class j has two cosines, cos θy and cos θj. The head
 * ({@link Head.marginLogits}) turns them into a target logit and a negative logit; the target wins where
 * their difference is positive. The boundary is the zero contour of that difference over a plane:
 *
 * - `angle`:  (θy, θj) ∈ [0, π]², where ArcFace's boundary is the line θj = θy + m;
 * - `cosine`: (cos θy, cos θj) ∈ [−1, 1]², where CosFace's boundary is the line cos θj = cos θy − m.
 *
 * The difference is sampled on a grid, the contour is traced with marching squares, and each crossing
 * is refined by bisection on the grid edge with the head itself, so boundary points satisfy the head's
 * equation to rounding. Heads with piecewise margins (SphereFace's ψ, ArcFace's fallback past θ + m > π)
 * need nothing special. Where the difference jumps across zero instead of passing through it (a
 * discontinuous fallback), the refined point lies on the jump and is flagged `jump`.
 */
import type { Head } from '../heads/define.js';

/** The plane a boundary is drawn in. */
export type BoundarySpace = 'angle' | 'cosine';

/** Where on the grid, and how the head is evaluated. */
export interface BoundaryOptions {
  space: BoundarySpace;
  /** Grid points per axis (default 201). */
  resolution?: number;
  /** Embedding norm passed to the head, for margins or scales that depend on it (default 1). */
  xNorm?: number;
}

/** A refined boundary point, in plane coordinates (radians in the angle plane). */
export interface BoundaryPoint {
  /** θy or cos θy. */
  x: number;
  /** θj or cos θj. */
  y: number;
  /** The target − negative logit difference jumps across zero here instead of crossing it. */
  jump: boolean;
}

/** A vertical run of the plane where the target logit wins, at one grid column. */
export interface WinningInterval {
  /** Column position and its half-width (the column covers x ± halfWidth). */
  x: number;
  halfWidth: number;
  y0: number;
  y1: number;
}

/** The boundary in one plane. */
export interface Boundary {
  space: BoundarySpace;
  /** Contour polylines; consecutive points are joined. */
  lines: BoundaryPoint[][];
  /** The region where the target logit wins, as one or more intervals per grid column. */
  region: WinningInterval[];
  /** Axis range (both axes share it). */
  range: [number, number];
}

/** Axis range of a plane. */
export function spaceRange(space: BoundarySpace): [number, number] {
  return space === 'angle' ? [0, Math.PI] : [-1, 1];
}

/** Map plane coordinates to a cosine. */
function toCos(space: BoundarySpace, v: number): number {
  return space === 'angle' ? Math.cos(v) : v;
}

/**
 * Target − negative logit differences for points given in plane coordinates: one
 * `marginLogits` call over all points (row i = [cos θy, cos θj], label 0).
 */
export function logitDifference(
  head: Head,
  space: BoundarySpace,
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  xNorm = 1,
): Float64Array {
  const n = xs.length;
  const cos = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    cos[2 * i] = toCos(space, xs[i]);
    cos[2 * i + 1] = toCos(space, ys[i]);
  }
  const logits = head.marginLogits(cos, 2, new Int32Array(n), new Float64Array(n).fill(xNorm));
  const diff = new Float64Array(n);
  for (let i = 0; i < n; i++) diff[i] = logits[2 * i] - logits[2 * i + 1];
  return diff;
}

/** Largest |logit| of the two at each point, for a relative tolerance. */
export function logitMagnitude(
  head: Head,
  space: BoundarySpace,
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  xNorm = 1,
): Float64Array {
  const n = xs.length;
  const cos = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    cos[2 * i] = toCos(space, xs[i]);
    cos[2 * i + 1] = toCos(space, ys[i]);
  }
  const logits = head.marginLogits(cos, 2, new Int32Array(n), new Float64Array(n).fill(xNorm));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.max(Math.abs(logits[2 * i]), Math.abs(logits[2 * i + 1]));
  return out;
}

/** Bisection steps per crossing: the grid step halves each time, 2^-48 of it is below fp64 noise. */
const BISECTION_STEPS = 48;

/**
 * Refine crossings: each starts with a point inside the winning region (a) and one outside (b); the
 * result is the outside end after bisection, which converges to the boundary from outside.
 */
function refine(
  head: Head,
  space: BoundarySpace,
  xNorm: number,
  ax: Float64Array,
  ay: Float64Array,
  bx: Float64Array,
  by: Float64Array,
): BoundaryPoint[] {
  const n = ax.length;
  const mx = new Float64Array(n);
  const my = new Float64Array(n);
  for (let step = 0; step < BISECTION_STEPS && n > 0; step++) {
    for (let i = 0; i < n; i++) {
      mx[i] = 0.5 * (ax[i] + bx[i]);
      my[i] = 0.5 * (ay[i] + by[i]);
    }
    const d = logitDifference(head, space, mx, my, xNorm);
    for (let i = 0; i < n; i++) {
      if (d[i] > 0) {
        ax[i] = mx[i];
        ay[i] = my[i];
      } else {
        bx[i] = mx[i];
        by[i] = my[i];
      }
    }
  }
  // Pick whichever end has the smaller |difference|; a large one at both ends means a jump.
  const da = logitDifference(head, space, ax, ay, xNorm);
  const db = logitDifference(head, space, bx, by, xNorm);
  const mag = logitMagnitude(head, space, bx, by, xNorm);
  const points: BoundaryPoint[] = [];
  for (let i = 0; i < n; i++) {
    const useA = Math.abs(da[i]) < Math.abs(db[i]);
    const gap = Math.min(Math.abs(da[i]), Math.abs(db[i]));
    points.push({
      x: useA ? ax[i] : bx[i],
      y: useA ? ay[i] : by[i],
      jump: gap > 1e-6 * Math.max(1, mag[i]),
    });
  }
  return points;
}

/**
 * Marching-squares cases: for a cell with corners (bit 0 = bottom-left, 1 = bottom-right, 2 = top-right,
 * 3 = top-left; bit set = target wins), the pairs of cell edges (0 bottom, 1 right, 2 top, 3 left)
 * joined by a segment. Saddles (5, 10) are split by the cell-centre value below.
 */
const CASES: ReadonlyArray<ReadonlyArray<readonly [number, number]>> = [
  [],
  [[3, 0]],
  [[0, 1]],
  [[3, 1]],
  [[1, 2]],
  [
    [3, 2],
    [0, 1],
  ],
  [[0, 2]],
  [[3, 2]],
  [[2, 3]],
  [[0, 2]],
  [
    [3, 0],
    [1, 2],
  ],
  [[1, 2]],
  [[1, 3]],
  [[0, 1]],
  [[3, 0]],
  [],
];

/** Compute the boundary of `head` in one plane. */
export function computeBoundary(head: Head, options: BoundaryOptions): Boundary {
  const { space } = options;
  const n = options.resolution ?? 201;
  const xNorm = options.xNorm ?? 1;
  const [lo, hi] = spaceRange(space);
  const h = (hi - lo) / (n - 1);
  const coord = (k: number) => (k === n - 1 ? hi : lo + k * h);

  // Grid values: index i along x (θy), j along y (θj).
  const gx = new Float64Array(n * n);
  const gy = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      gx[i * n + j] = coord(i);
      gy[i * n + j] = coord(j);
    }
  }
  const diff = logitDifference(head, space, gx, gy, xNorm);
  const wins = (i: number, j: number) => diff[i * n + j] > 0;

  // Crossing edges, keyed: horizontal edge (i,j)–(i+1,j) → 2·(i·n + j); vertical (i,j)–(i,j+1) → +1.
  const edgeIndex = new Map<number, number>();
  const ends: number[][] = [[], [], [], []];
  const addEdge = (key: number, i0: number, j0: number, i1: number, j1: number) => {
    if (edgeIndex.has(key)) return;
    const inside = wins(i0, j0);
    edgeIndex.set(key, ends[0].length);
    const [ai, aj, bi, bj] = inside ? [i0, j0, i1, j1] : [i1, j1, i0, j0];
    ends[0].push(coord(ai));
    ends[1].push(coord(aj));
    ends[2].push(coord(bi));
    ends[3].push(coord(bj));
  };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i + 1 < n && wins(i, j) !== wins(i + 1, j)) addEdge(2 * (i * n + j), i, j, i + 1, j);
      if (j + 1 < n && wins(i, j) !== wins(i, j + 1)) addEdge(2 * (i * n + j) + 1, i, j, i, j + 1);
    }
  }
  const points = refine(
    head,
    space,
    xNorm,
    Float64Array.from(ends[0]),
    Float64Array.from(ends[1]),
    Float64Array.from(ends[2]),
    Float64Array.from(ends[3]),
  );

  // Segments per cell, then chained into polylines through shared edges.
  const cellEdgeKey = (i: number, j: number, e: number): number => {
    if (e === 0) return 2 * (i * n + j);
    if (e === 1) return 2 * ((i + 1) * n + j) + 1;
    if (e === 2) return 2 * (i * n + j + 1);
    return 2 * (i * n + j) + 1;
  };
  const neighbours = new Map<number, number[]>();
  const link = (a: number, b: number) => {
    if (!neighbours.has(a)) neighbours.set(a, []);
    if (!neighbours.has(b)) neighbours.set(b, []);
    neighbours.get(a)!.push(b);
    neighbours.get(b)!.push(a);
  };
  for (let i = 0; i + 1 < n; i++) {
    for (let j = 0; j + 1 < n; j++) {
      let c =
        (wins(i, j) ? 1 : 0) |
        (wins(i + 1, j) ? 2 : 0) |
        (wins(i + 1, j + 1) ? 4 : 0) |
        (wins(i, j + 1) ? 8 : 0);
      if (c === 0 || c === 15) continue;
      if (c === 5 || c === 10) {
        const centre =
          diff[i * n + j] + diff[(i + 1) * n + j] + diff[(i + 1) * n + j + 1] + diff[i * n + j + 1];
        // The table joins the two winning corners (a winning centre); otherwise use the other saddle.
        if (centre <= 0) c = c === 5 ? 10 : 5;
      }
      for (const [e0, e1] of CASES[c]) {
        const a = edgeIndex.get(cellEdgeKey(i, j, e0));
        const b = edgeIndex.get(cellEdgeKey(i, j, e1));
        if (a !== undefined && b !== undefined) link(a, b);
      }
    }
  }
  const lines = chain(points, neighbours);

  // Winning intervals per column from the refined crossings on vertical edges.
  const region: WinningInterval[] = [];
  for (let i = 0; i < n; i++) {
    const halfWidth = h / 2;
    let start: number | null = wins(i, 0) ? lo : null;
    for (let j = 0; j + 1 < n; j++) {
      if (wins(i, j) === wins(i, j + 1)) continue;
      const y = points[edgeIndex.get(2 * (i * n + j) + 1)!].y;
      if (start === null) start = y;
      else {
        region.push({ x: coord(i), halfWidth, y0: start, y1: y });
        start = null;
      }
    }
    if (start !== null) region.push({ x: coord(i), halfWidth, y0: start, y1: hi });
  }
  return { space, lines, region, range: [lo, hi] };
}

/** Join crossing points into polylines following the segment graph (open chains first, then loops). */
function chain(points: BoundaryPoint[], neighbours: Map<number, number[]>): BoundaryPoint[][] {
  const used = new Set<number>();
  const lines: BoundaryPoint[][] = [];
  const walk = (start: number) => {
    const line = [start];
    used.add(start);
    let current = start;
    for (;;) {
      const next = (neighbours.get(current) ?? []).find((k) => !used.has(k));
      if (next === undefined) break;
      used.add(next);
      line.push(next);
      current = next;
    }
    // Close loops so the drawn line returns to its start.
    if (line.length > 2 && (neighbours.get(current) ?? []).includes(start)) line.push(start);
    lines.push(line.map((k) => points[k]));
  };
  const keys = [...neighbours.keys()].sort((a, b) => a - b);
  for (const k of keys) if (!used.has(k) && neighbours.get(k)!.length === 1) walk(k);
  for (const k of keys) if (!used.has(k)) walk(k);
  return lines;
}
