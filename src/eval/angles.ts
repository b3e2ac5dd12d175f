/**
 * Angular statistics of labelled embeddings: the quantities the margin papers argue about. SphereFace
 * asks that the largest intra-class angle be smaller than the smallest inter-class angle; ArcFace and
 * CosFace draw their features as tight clusters with wide gaps. Here, per class, the centre is the mean
 * of the unit-normalised embeddings; a sample's intra-class angle is its angle to its own centre.
 *
 * - `intraMean`: mean intra-class angle over all samples (radians);
 * - `intraP95`: the 95th percentile of the intra-class angles;
 * - `interMin`: the smallest angle between two class centres;
 * - `separation`: interMin / (2·intraP95) — above 1, the typical clusters (95 % of each) do not touch.
 */
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';

/** See the module comment. */
export interface AngularStatistics {
  intraMean: number;
  intraP95: number;
  interMin: number;
  separation: number;
  classes: number;
}

/** Angular statistics of `n` embeddings of dimension `dim` (row-major) with integer `labels`. */
export function angularStatistics(
  embeddings: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
): AngularStatistics {
  if (!Number.isInteger(dim) || dim < 2) throw new InvalidArgumentError('dim', 'an integer ≥ 2', dim);
  const n = labels.length;
  if (embeddings.length !== n * dim) {
    throw new ShapeMismatchError(
      'embeddings',
      `labels.length × dim = ${n * dim} values`,
      `${embeddings.length} values`,
    );
  }
  const unit = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += embeddings[i * dim + d] ** 2;
    const norm = Math.sqrt(s);
    if (!(norm > 0) || !Number.isFinite(norm)) {
      throw new InvalidArgumentError(`embeddings row ${i}`, 'a finite, non-zero vector', norm);
    }
    for (let d = 0; d < dim; d++) unit[i * dim + d] = embeddings[i * dim + d] / norm;
  }
  const centres = new Map<number, Float64Array>();
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0)
      throw new InvalidArgumentError(`labels[${i}]`, 'a non-negative integer', label);
    let c = centres.get(label);
    if (c === undefined) {
      c = new Float64Array(dim);
      centres.set(label, c);
    }
    for (let d = 0; d < dim; d++) c[d] += unit[i * dim + d];
  }
  if (centres.size < 2) throw new InvalidArgumentError('labels', 'at least two classes', centres.size);
  for (const [label, c] of centres) {
    const norm = Math.hypot(...c);
    if (!(norm > 1e-12)) {
      throw new InvalidArgumentError(
        `class ${label}`,
        'embeddings whose mean direction is defined',
        'they cancel out',
      );
    }
    for (let d = 0; d < dim; d++) c[d] /= norm;
  }
  const angle = (a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number) => {
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += a[ai + d] * b[bi + d];
    return Math.acos(Math.min(1, Math.max(-1, dot)));
  };
  const intra = new Float64Array(n);
  for (let i = 0; i < n; i++) intra[i] = angle(unit, i * dim, centres.get(labels[i]) as Float64Array, 0);
  const sorted = Float64Array.from(intra).sort();
  const intraP95 = sorted[Math.min(n - 1, Math.ceil(0.95 * n) - 1)];
  const list = [...centres.values()];
  let interMin = Number.POSITIVE_INFINITY;
  for (let a = 0; a < list.length; a++) {
    for (let b = a + 1; b < list.length; b++) interMin = Math.min(interMin, angle(list[a], 0, list[b], 0));
  }
  return {
    intraMean: intra.reduce((s, v) => s + v, 0) / n,
    intraP95,
    interMin,
    separation: intraP95 > 0 ? interMin / (2 * intraP95) : Number.POSITIVE_INFINITY,
    classes: centres.size,
  };
}
