/** Canvas pictures of the explorer: the decision plane and the logit curves. */
import { drawAxes, frameOf, linearScale, niceTicks, prepareCanvas } from '../plot.js';
import { type BoundaryGrid, type LogitCurves, planeRange } from './margin-grid.js';

const DEGREE_TICKS = [0, 30, 60, 90, 120, 150, 180].map((d) => (d * Math.PI) / 180);
const degrees = (v: number) => `${Math.round((v * 180) / Math.PI)}°`;

/** Colours: where the target wins, where the other class wins. */
const WIN = [120, 170, 230];
const LOSE = [238, 238, 238];
const BOUNDARY = '#0b3d91';
const OVERLAY = '#d35400';

const COS_TICKS = [-1, -0.5, 0, 0.5, 1];

/**
 * `win`: shade where the target logit wins; `probability`: shade by the softmax probability of the
 * target against the other class, σ(logit_y − logit_j), which shows how sharp the scale s makes it.
 */
export type Shading = 'win' | 'probability';

/** What else goes on the plane besides the head's own boundary. */
export interface BoundaryExtras {
  shading: Shading;
  /** A second head's boundary, drawn dashed, with its name for the key. */
  overlay?: { segments: Float64Array; name: string };
  name: string;
}

/** Colour of a grid cell. */
function cellColour(diff: number, shading: Shading): number[] {
  if (shading === 'win' || !Number.isFinite(diff)) return diff > 0 ? WIN : LOSE;
  const p = 1 / (1 + Math.exp(-diff));
  return WIN.map((w, k) => Math.round(LOSE[k] + p * (w - LOSE[k])));
}

/**
 * Shade the plane, draw the head's boundary (contour segments in plane coordinates), an optional second
 * head's boundary, and the no-margin diagonal θj = θy for reference.
 */
export function drawBoundary(
  canvas: HTMLCanvasElement,
  grid: BoundaryGrid,
  segments: Float64Array,
  extras: BoundaryExtras = { shading: 'win', name: '' },
): void {
  const ctx = prepareCanvas(canvas);
  const f = frameOf(canvas);
  const { lo, hi } = planeRange(grid.plane);
  const s = linearScale(f, lo, hi, lo, hi);
  const { n, diff } = grid;
  // One pixel per grid sample, flipped so θj grows upwards, then stretched over the frame.
  const cells = document.createElement('canvas');
  cells.width = n;
  cells.height = n;
  const cctx = cells.getContext('2d')!;
  const img = cctx.createImageData(n, n);
  for (let b = 0; b < n; b++) {
    for (let a = 0; a < n; a++) {
      const c = cellColour(diff[b * n + a], extras.shading);
      const p = 4 * ((n - 1 - b) * n + a);
      img.data[p] = c[0];
      img.data[p + 1] = c[1];
      img.data[p + 2] = c[2];
      img.data[p + 3] = 255;
    }
  }
  cctx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(cells, f.left, f.top, f.width, f.height);

  ctx.save();
  ctx.beginPath();
  ctx.rect(f.left, f.top, f.width, f.height);
  ctx.clip();
  ctx.setLineDash([5, 4]);
  ctx.strokeStyle = '#777';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(s.x(lo), s.y(lo));
  ctx.lineTo(s.x(hi), s.y(hi));
  ctx.stroke();
  const contour = (segs: Float64Array, colour: string, dash: number[]) => {
    ctx.setLineDash(dash);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let k = 0; k < segs.length; k += 4) {
      ctx.moveTo(s.x(segs[k]), s.y(segs[k + 1]));
      ctx.lineTo(s.x(segs[k + 2]), s.y(segs[k + 3]));
    }
    ctx.stroke();
  };
  if (extras.overlay) contour(extras.overlay.segments, OVERLAY, [7, 4]);
  contour(segments, BOUNDARY, []);
  ctx.restore();

  if (extras.overlay) {
    // Key in the corner where the target is farthest and the other class nearest, which every head
    // leaves to the other class, far from any boundary.
    ctx.save();
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    ctx.textAlign = grid.plane === 'angle' ? 'right' : 'left';
    const x = grid.plane === 'angle' ? f.left + f.width - 8 : f.left + 8;
    const y = grid.plane === 'angle' ? f.top + f.height - 40 : f.top + 6;
    ctx.fillStyle = BOUNDARY;
    ctx.fillText(`── ${extras.name}`, x, y);
    ctx.fillStyle = OVERLAY;
    ctx.fillText(`– – ${extras.overlay.name}`, x, y + 16);
    ctx.restore();
  }

  if (grid.plane === 'angle') {
    drawAxes(ctx, f, s, DEGREE_TICKS, DEGREE_TICKS, {
      x: 'θy (angle to the target class)',
      y: 'θj (angle to the other class)',
      format: degrees,
      yFormat: degrees,
    });
  } else {
    drawAxes(ctx, f, s, COS_TICKS, COS_TICKS, { x: 'cos θy (target)', y: 'cos θj (other class)' });
  }
}

/** Target logit vs θy and negative logit vs θj on shared axes. */
export function drawCurves(canvas: HTMLCanvasElement, curves: LogitCurves): void {
  const ctx = prepareCanvas(canvas);
  const f = frameOf(canvas);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of [...curves.target, ...curves.negative]) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!Number.isFinite(lo)) [lo, hi] = [-1, 1];
  if (hi - lo < 1e-9) [lo, hi] = [lo - 1, hi + 1];
  const pad = 0.05 * (hi - lo);
  const s = linearScale(f, 0, Math.PI, lo - pad, hi + pad);
  const line = (values: Float64Array, colour: string, dash: number[]) => {
    ctx.save();
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.setLineDash(dash);
    ctx.beginPath();
    let pen = false;
    values.forEach((v, k) => {
      if (!Number.isFinite(v)) {
        pen = false;
        return;
      }
      const x = s.x(curves.theta[k]);
      const y = s.y(v);
      if (pen) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
    ctx.restore();
  };
  line(curves.negative, '#888', [6, 4]);
  line(curves.target, '#c0392b', []);
  drawAxes(ctx, f, s, DEGREE_TICKS, niceTicks(lo, hi), { x: 'θ', y: 'logit', format: degrees });
  ctx.save();
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'top';
  // Top right: every head's logits fall with the angle, so that corner stays clear of the curves.
  ctx.textAlign = 'right';
  ctx.fillStyle = '#c0392b';
  ctx.fillText(`target (θy = θ, θj = ${degrees(curves.otherAngle)}) ──`, f.left + f.width - 8, f.top + 6);
  ctx.fillStyle = '#666';
  ctx.fillText(`negative (θj = θ, θy = ${degrees(curves.otherAngle)}) – –`, f.left + f.width - 8, f.top + 22);
  ctx.restore();
}
