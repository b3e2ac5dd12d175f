/** Small canvas helpers shared by the pictures: device-pixel sizing, plot frames, axes, checksums. */

/** Plot area inside a canvas, in CSS pixels. */
export interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Map data coordinates to canvas coordinates inside a frame. */
export interface Scale {
  x: (v: number) => number;
  y: (v: number) => number;
}

/** Size the canvas backing store for the device pixel ratio; returns a context in CSS pixels. */
export function prepareCanvas(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ratio = globalThis.devicePixelRatio || 1;
  const w = canvas.clientWidth || Number(canvas.getAttribute('width')) || 300;
  const h = canvas.clientHeight || Number(canvas.getAttribute('height')) || 150;
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('2-D canvas unavailable');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return ctx;
}

/** Left margin of a plot frame, in CSS pixels. */
const FRAME_LEFT = 62;
/** Right margin: half of the widest x tick label ("180°") stays inside the canvas. */
const FRAME_RIGHT = 18;

/** A frame leaving room for axis labels on the left and bottom. */
export function frameOf(canvas: HTMLCanvasElement): Frame {
  const w = canvas.clientWidth || 300;
  const h = canvas.clientHeight || 150;
  // The left margin holds the y label (x ≈ 6–18) and tick labels up to ~36 px wide (right-aligned at
  // left − 6), so the two never overlap.
  return { left: FRAME_LEFT, top: 12, width: w - FRAME_LEFT - FRAME_RIGHT, height: h - 48 };
}

/** Linear scale from [x0, x1] × [y0, y1] onto a frame (y grows upwards). */
export function linearScale(f: Frame, x0: number, x1: number, y0: number, y1: number): Scale {
  return {
    x: (v) => f.left + ((v - x0) / (x1 - x0)) * f.width,
    y: (v) => f.top + f.height - ((v - y0) / (y1 - y0)) * f.height,
  };
}

/** Centre line of the rotated y-axis label (clear of tick labels, which end at FRAME_LEFT − 6). */
const Y_LABEL_X = 11;

/** Axis ticks and labels. */
export function drawAxes(
  ctx: CanvasRenderingContext2D,
  f: Frame,
  s: Scale,
  xTicks: number[],
  yTicks: number[],
  labels: { x: string; y: string; format?: (v: number) => string; yFormat?: (v: number) => string },
): void {
  const fmt = labels.format ?? ((v: number) => String(v));
  const yFmt = labels.yFormat ?? shortNumber;
  ctx.save();
  ctx.strokeStyle = '#444';
  ctx.lineWidth = 1;
  ctx.strokeRect(f.left, f.top, f.width, f.height);
  ctx.fillStyle = '#222';
  ctx.font = '11px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xTicks) {
    const x = s.x(t);
    ctx.beginPath();
    ctx.moveTo(x, f.top + f.height);
    ctx.lineTo(x, f.top + f.height + 4);
    ctx.stroke();
    ctx.fillText(fmt(t), x, f.top + f.height + 6);
  }
  ctx.fillText(labels.x, f.left + f.width / 2, f.top + f.height + 22);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of yTicks) {
    const y = s.y(t);
    ctx.beginPath();
    ctx.moveTo(f.left - 4, y);
    ctx.lineTo(f.left, y);
    ctx.stroke();
    ctx.fillText(yFmt(t), f.left - 6, y);
  }
  ctx.translate(Y_LABEL_X, f.top + f.height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText(labels.y, 0, 0);
  ctx.restore();
}

/** A tick value in at most three significant digits, without trailing zeros (0.5, not 0.500). */
export function shortNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)));
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  const step = (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * pow;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

/** Grey the plot area and write why there is no picture (an invalid setting). */
export function drawUnavailable(canvas: HTMLCanvasElement, reason: string): void {
  const ctx = prepareCanvas(canvas);
  const w = canvas.clientWidth || 300;
  const h = canvas.clientHeight || 150;
  ctx.fillStyle = '#d9d9d9';
  ctx.fillRect(0, 0, w, h);
  ctx.fillStyle = '#333';
  ctx.font = '13px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  const lines = wrapText(ctx, reason, w - 32);
  lines.forEach((line, k) => {
    ctx.fillText(line, w / 2, h / 2 + (k - (lines.length - 1) / 2) * 17);
  });
}

/** Break text into lines no wider than `width` at spaces. */
function wrapText(ctx: CanvasRenderingContext2D, text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    const next = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(next).width > width) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/** FNV-1a hash of the canvas pixels, as 8 hex digits: changes whenever the picture changes. */
export function canvasChecksum(canvas: HTMLCanvasElement): string {
  const ctx = canvas.getContext('2d');
  if (!ctx) return '';
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
