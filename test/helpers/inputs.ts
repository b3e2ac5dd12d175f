/**
 * Deterministic inputs for head tests: embeddings whose target cosines are set exactly, so tests can
 * place rows on chosen sides of a margin's branch thresholds.
 */
import { createRng, type Rng } from '../../src/rng.js';

/** Random unit vector of dimension D. */
export function unitVector(rng: Rng, D: number): Float64Array {
  const v = Float64Array.from({ length: D }, () => rng.normal());
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** Rows of W (C·K × D) with norms drawn from [0.5, 2), or unit rows when `unit` is set. */
export function randomWeights(rng: Rng, rows: number, D: number, unit = false): Float64Array {
  const W = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    const u = unitVector(rng, D);
    const n = unit ? 1 : 0.5 + 1.5 * rng.next();
    for (let d = 0; d < D; d++) W[r * D + d] = n * u[d];
  }
  return W;
}

export interface BatchOptions {
  D: number;
  C: number;
  /** Rows of W per class. */
  K?: number;
  /** Cosine of each row with the first sub-centre of its class; the batch size is its length. */
  targetCos: number[];
  /** Embedding norms per row (default: drawn from [0.5, 3)). */
  norms?: number[];
  unitW?: boolean;
  seed?: number;
}

export interface Batch {
  X: Float64Array;
  W: Float64Array;
  labels: Int32Array;
  B: number;
  D: number;
  C: number;
}

/**
 * Labels cycle through the classes; each embedding is c·ŵ_y + √(1 − c²)·u (u a random unit vector
 * orthogonal to ŵ_y), scaled to its norm — so its target cosine is exactly c up to rounding.
 */
export function makeBatch(o: BatchOptions): Batch {
  const rng = createRng(o.seed ?? 1);
  const K = o.K ?? 1;
  const { D, C } = o;
  const B = o.targetCos.length;
  const W = randomWeights(rng, C * K, D, o.unitW);
  const X = new Float64Array(B * D);
  const labels = new Int32Array(B);
  for (let i = 0; i < B; i++) {
    const y = (i * 3 + 1) % C;
    labels[i] = y;
    const row = W.subarray(y * K * D, y * K * D + D);
    const wn = Math.hypot(...row);
    const w = row.map((v) => v / wn);
    const u = unitVector(rng, D);
    let dot = 0;
    for (let d = 0; d < D; d++) dot += u[d] * w[d];
    for (let d = 0; d < D; d++) u[d] -= dot * w[d];
    const un = Math.hypot(...u);
    const c = o.targetCos[i];
    const s = Math.sqrt(1 - c * c);
    const norm = o.norms ? o.norms[i] : 0.5 + 2.5 * rng.next();
    for (let d = 0; d < D; d++) X[i * D + d] = norm * (c * w[d] + (s * u[d]) / un);
  }
  return { X, W, labels, B, D, C };
}
