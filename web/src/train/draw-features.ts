/** Picture of a training panel: the 2-D feature distribution with the class directions. */
import { prepareCanvas } from '../plot.js';

/** One colour per digit class (the usual ten-colour palette). */
export const CLASS_COLOURS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/**
 * `circle`: every embedding at its direction (what a cosine head sees), spread radially by a fixed
 * jitter so dense classes stay visible; `plane`: raw embeddings, scaled to fit.
 */
export type FeatureView = 'circle' | 'plane';

/** Draw held-out 2-D embeddings coloured by class, with the class weight directions as spokes. */
export function drawFeatures(
  canvas: HTMLCanvasElement,
  embeddings: Float32Array,
  labels: Uint8Array,
  weights: Float32Array,
  view: FeatureView,
): void {
  const ctx = prepareCanvas(canvas);
  const w = canvas.clientWidth || 300;
  const h = canvas.clientHeight || 300;
  const cx = w / 2;
  const cy = h / 2;
  const radius = 0.44 * Math.min(w, h);
  const n = labels.length;
  const norms = Float64Array.from({ length: n }, (_, i) =>
    Math.hypot(embeddings[2 * i], embeddings[2 * i + 1]),
  );
  // The 98th percentile norm fills the plot, so a few outliers do not squash the rest.
  const sorted = Float64Array.from(norms).sort();
  const reach = sorted[Math.floor(0.98 * (n - 1))] || 1;

  ctx.strokeStyle = '#ccc';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.arc(cx, cy, radius, 0, 2 * Math.PI);
  ctx.stroke();
  for (let i = 0; i < n; i++) {
    const x = embeddings[2 * i];
    const y = embeddings[2 * i + 1];
    const norm = norms[i] || 1;
    // Deterministic jitter in [0.7, 1] of the radius, varying from point to point.
    const r = view === 'circle' ? radius * (0.7 + 0.3 * (((i * 37) % 101) / 100)) : (radius * norm) / reach;
    ctx.fillStyle = CLASS_COLOURS[labels[i] % 10];
    ctx.beginPath();
    ctx.arc(cx + (r * x) / norm, cy - (r * y) / norm, 2.2, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.lineWidth = 2;
  ctx.font = 'bold 12px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  for (let c = 0; c < weights.length / 2; c++) {
    const x = weights[2 * c];
    const y = weights[2 * c + 1];
    const norm = Math.hypot(x, y) || 1;
    ctx.strokeStyle = CLASS_COLOURS[c];
    ctx.beginPath();
    ctx.moveTo(cx, cy);
    ctx.lineTo(cx + (radius * x) / norm, cy - (radius * y) / norm);
    ctx.stroke();
    ctx.fillStyle = CLASS_COLOURS[c];
    ctx.fillText(String(c), cx + (1.09 * radius * x) / norm, cy - (1.09 * radius * y) / norm);
  }
}
