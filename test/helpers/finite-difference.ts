/**
 * Central finite differences, for checking analytic gradients of the fp64 oracle.
 */

/** Numerical gradient of `f` at `x` by central differences (x is restored after each probe). */
export function centralDifference(
  f: (x: Float64Array) => number,
  x: Float64Array,
  step = 1e-6,
): Float64Array {
  const grad = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) {
    const saved = x[k];
    // A step that is exactly representable relative to x[k] keeps (x+h) − (x−h) equal to 2h.
    const h = saved + step - saved;
    x[k] = saved + h;
    const up = f(x);
    x[k] = saved - h;
    const down = f(x);
    x[k] = saved;
    grad[k] = (up - down) / (2 * h);
  }
  return grad;
}

/** Largest |a − b| over a tensor, divided by max(floor, max|b|): the tensor-relative disagreement. */
export function relativeError(analytic: ArrayLike<number>, numeric: ArrayLike<number>, floor = 1e-3): number {
  if (analytic.length !== numeric.length) return Number.POSITIVE_INFINITY;
  let scale = floor;
  for (let k = 0; k < numeric.length; k++) scale = Math.max(scale, Math.abs(numeric[k]));
  let worst = 0;
  for (let k = 0; k < numeric.length; k++) {
    const e = Math.abs(analytic[k] - numeric[k]);
    worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : Math.max(worst, e);
  }
  return worst / scale;
}
