/** Overlaid curves of several panels on shared axes: smoothed loss and held-out accuracy by step. */
import { drawAxes, frameOf, linearScale, niceTicks, prepareCanvas } from '../plot.js';

/** One panel's curve. */
export interface Series {
  name: string;
  colour: string;
  /** Step and value pairs, in step order. */
  points: [number, number][];
}

/** Exponential moving average of per-step losses (weight `keep` on the past), as (step, value) pairs. */
export function smoothLosses(losses: number[], keep = 0.9): [number, number][] {
  const out: [number, number][] = [];
  let avg = Number.NaN;
  losses.forEach((v, k) => {
    if (!Number.isFinite(v)) return;
    avg = Number.isNaN(avg) ? v : keep * avg + (1 - keep) * v;
    out.push([k + 1, avg]);
  });
  return out;
}

/** Draw the series on shared axes; `yRange` fixes the vertical range (else from the data, from 0). */
export function drawSeries(
  canvas: HTMLCanvasElement,
  series: Series[],
  labels: { x: string; y: string; yFormat?: (v: number) => string },
  yRange?: [number, number],
): void {
  const ctx = prepareCanvas(canvas);
  const f = frameOf(canvas);
  let steps = 1;
  let hi = 0;
  for (const s of series) {
    for (const [x, y] of s.points) {
      steps = Math.max(steps, x);
      if (Number.isFinite(y)) hi = Math.max(hi, y);
    }
  }
  const [y0, y1] = yRange ?? [0, hi > 0 ? hi * 1.05 : 1];
  const sc = linearScale(f, 0, steps, y0, y1);
  ctx.save();
  ctx.beginPath();
  ctx.rect(f.left, f.top, f.width, f.height);
  ctx.clip();
  ctx.lineWidth = 2;
  for (const s of series) {
    ctx.strokeStyle = s.colour;
    ctx.beginPath();
    s.points.forEach(([x, y], k) => {
      if (k === 0) ctx.moveTo(sc.x(x), sc.y(y));
      else ctx.lineTo(sc.x(x), sc.y(y));
    });
    ctx.stroke();
  }
  ctx.restore();
  drawAxes(ctx, f, sc, niceTicks(0, steps, 4), niceTicks(y0, y1, 4), labels);
}
