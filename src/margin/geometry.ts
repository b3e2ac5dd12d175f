/**
 * fp64 geometry of the margin operator: normalise, take cosines (max over sub-centres), clamp — and the
 * exact backward of those steps.
 */
import type { GeometrySpec } from './spec.js';

/** torch.nn.functional.normalize's eps: x / max(‖x‖, eps). */
export const NORMALIZE_EPS = 1e-12;

/** Forward state of the geometry, kept for the backward pass. */
export interface Geometry {
  spec: GeometrySpec;
  B: number;
  D: number;
  /** Number of classes (rows of W divided by the sub-centre count). */
  C: number;
  /** Raw embedding norms ‖x_i‖. */
  xNorm: Float64Array;
  /** Embeddings as used in the dot product (normalised or not), B×D. */
  xHat: Float64Array;
  /** Raw class-weight norms, C·K. */
  wNorm: Float64Array;
  /** Weights as used in the dot product, C·K×D. */
  wHat: Float64Array;
  /** Cosines before the clamp, B×C. */
  cosRaw: Float64Array;
  /** Cosines after the clamp, B×C: what the margin sees. */
  cos: Float64Array;
  /** Sub-centre chosen for each (i, j), B×C (all zero when K = 1). */
  argSub: Int32Array;
}

/** ‖row‖ of each row of a rows×cols matrix. */
export function rowNorms(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < cols; k++) {
      const v = a[r * cols + k];
      s += v * v;
    }
    out[r] = Math.sqrt(s);
  }
  return out;
}

/** Each row divided by max(its norm, NORMALIZE_EPS), as torch.nn.functional.normalize. */
export function divideRows(a: Float64Array, norms: Float64Array, cols: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let r = 0; r < norms.length; r++) {
    const inv = 1 / Math.max(norms[r], NORMALIZE_EPS);
    for (let k = 0; k < cols; k++) out[r * cols + k] = a[r * cols + k] * inv;
  }
  return out;
}

/** The arrays of a {@link Geometry}. */
type GeometryArrays = Omit<Geometry, 'spec' | 'B' | 'D' | 'C'>;

/**
 * A Geometry whose arrays are produced on first read and kept: for implementations of the operator
 * that hold the data elsewhere (tensors, the native engine) and whose head definitions read only a few
 * of the arrays, if any.
 */
export function lazyGeometry(
  spec: GeometrySpec,
  B: number,
  D: number,
  C: number,
  sources: { [K in keyof GeometryArrays]: () => GeometryArrays[K] },
): Geometry {
  const geo = { spec, B, D, C } as Geometry;
  for (const [key, source] of Object.entries(sources) as [
    keyof GeometryArrays,
    () => Geometry[keyof GeometryArrays],
  ][]) {
    let value: Geometry[keyof GeometryArrays] | undefined;
    Object.defineProperty(geo, key, {
      enumerable: true,
      get: () => {
        value ??= source();
        return value;
      },
    });
  }
  return geo;
}

/** Cosines of every embedding with every class: x̂ · ŵᵀ, the max over sub-centres, then the clamp. */
export function computeGeometry(
  X: Float64Array,
  W: Float64Array,
  B: number,
  D: number,
  spec: GeometrySpec,
): Geometry {
  const K = spec.subCenters;
  const CK = W.length / D;
  const C = CK / K;
  const xNorm = rowNorms(X, B, D);
  const wNorm = rowNorms(W, CK, D);
  const xHat = spec.normalizeX ? divideRows(X, xNorm, D) : X.slice();
  const wHat = spec.normalizeW === 'none' ? W.slice() : divideRows(W, wNorm, D);
  const cosRaw = new Float64Array(B * C);
  const argSub = new Int32Array(B * C);
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < C; j++) {
      let best = Number.NEGATIVE_INFINITY;
      let bestK = 0;
      for (let k = 0; k < K; k++) {
        const row = (j * K + k) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += xHat[i * D + d] * wHat[row + d];
        if (dot > best) {
          best = dot;
          bestK = k;
        }
      }
      cosRaw[i * C + j] = best;
      argSub[i * C + j] = bestK;
    }
  }
  const cos = cosRaw.slice();
  if (spec.clamp !== null) {
    const c = spec.clamp;
    for (let n = 0; n < cos.length; n++) cos[n] = Math.min(c, Math.max(-c, cos[n]));
  }
  return { spec, B, D, C, xNorm, xHat, wNorm, wHat, cosRaw, cos, argSub };
}

/**
 * Backward of {@link computeGeometry}: dL/dcos (B×C, w.r.t. the clamped cosines) → dL/dX, dL/dW.
 * The clamp passes gradient where the raw value lies inside [−c, c] (bounds included, as torch.clamp).
 */
export function geometryBackward(geo: Geometry, dCos: Float64Array): { dX: Float64Array; dW: Float64Array } {
  const { B, D, C, spec } = geo;
  const K = spec.subCenters;
  const g = dCos.slice();
  if (spec.clamp !== null) {
    const c = spec.clamp;
    for (let n = 0; n < g.length; n++) if (geo.cosRaw[n] > c || geo.cosRaw[n] < -c) g[n] = 0;
  }
  const dXHat = new Float64Array(B * D);
  const dWHat = new Float64Array(C * K * D);
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < C; j++) {
      const gij = g[i * C + j];
      if (gij === 0) continue;
      const row = (j * K + geo.argSub[i * C + j]) * D;
      for (let d = 0; d < D; d++) {
        dXHat[i * D + d] += gij * geo.wHat[row + d];
        dWHat[row + d] += gij * geo.xHat[i * D + d];
      }
    }
  }
  const dX = spec.normalizeX ? normalizeBackward(dXHat, geo.xHat, geo.xNorm, D) : dXHat;
  const dW = spec.normalizeW === 'functional' ? normalizeBackward(dWHat, geo.wHat, geo.wNorm, D) : dWHat;
  return { dX, dW };
}

/** Jacobian of v ↦ v/‖v‖ applied row-wise: (g − v̂·(v̂·g))/‖v‖ (plain g/eps below the eps floor). */
export function normalizeBackward(
  gHat: Float64Array,
  vHat: Float64Array,
  norms: Float64Array,
  cols: number,
): Float64Array {
  const out = new Float64Array(gHat.length);
  for (let r = 0; r < norms.length; r++) {
    const o = r * cols;
    if (norms[r] <= NORMALIZE_EPS) {
      for (let k = 0; k < cols; k++) out[o + k] = gHat[o + k] / NORMALIZE_EPS;
      continue;
    }
    let dot = 0;
    for (let k = 0; k < cols; k++) dot += vHat[o + k] * gHat[o + k];
    const inv = 1 / norms[r];
    for (let k = 0; k < cols; k++) out[o + k] = (gHat[o + k] - vHat[o + k] * dot) * inv;
  }
  return out;
}
