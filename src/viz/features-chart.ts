/**
 * Feature distributions: 2-D embeddings on the plane with class-centre rays (the picture of the
 * SphereFace and Center Loss papers), 3-D embeddings normalised onto the unit sphere and drawn in two
 * orthographic views. Points on the far hemisphere are drawn faint.
 */
import { InvalidArgumentError } from '../errors.js';
import type { EmbeddingSnapshot } from './embeddings-file.js';
import type { VegaLiteSpec } from './render.js';

/** Layout options; `extent` fixes the 2-D axis range (animations keep it across epochs). */
export interface FeaturesChartOptions {
  size?: number;
  extent?: number;
  title?: string;
}

/** Unit direction of each class centre: the class weight rows, or each class's mean embedding. */
export function classDirections(s: EmbeddingSnapshot): Map<number, number[]> {
  const out = new Map<number, number[]>();
  if (s.classWeights) {
    s.classWeights.forEach((w, c) => {
      out.set(c, w);
    });
  } else {
    const sums = new Map<number, number[]>();
    s.embeddings.forEach((x, i) => {
      const acc = sums.get(s.labels[i]) ?? new Array(s.dim).fill(0);
      x.forEach((v, d) => {
        acc[d] += v;
      });
      sums.set(s.labels[i], acc);
    });
    for (const [c, v] of sums) out.set(c, v);
  }
  for (const [c, v] of out) {
    const n = Math.hypot(...v);
    out.set(
      c,
      v.map((x) => (n > 0 ? x / n : 0)),
    );
  }
  return out;
}

/** Largest embedding norm (the 2-D plot's extent). */
export function maxNorm(s: EmbeddingSnapshot): number {
  let m = 0;
  for (const x of s.embeddings) m = Math.max(m, Math.hypot(...x));
  return m > 0 ? m : 1;
}

const classColour = (classes: number[]) => ({
  field: 'class',
  type: 'nominal',
  scale: { domain: classes.map(String), scheme: classes.length <= 10 ? 'category10' : 'category20' },
  legend: classes.length <= 20 ? { title: 'class', orient: 'right' } : null,
});

function classList(s: EmbeddingSnapshot, dirs: Map<number, number[]>): number[] {
  return [...new Set([...s.labels, ...dirs.keys()])].sort((a, b) => a - b);
}

function planeChart(s: EmbeddingSnapshot, options: FeaturesChartOptions): VegaLiteSpec {
  const size = options.size ?? 420;
  const r = (options.extent ?? maxNorm(s)) * 1.05;
  const dirs = classDirections(s);
  const classes = classList(s, dirs);
  const points = s.embeddings.map((x, i) => ({ x: x[0], y: x[1], class: String(s.labels[i]) }));
  const rays = [...dirs].map(([c, d]) => ({ x: 0, y: 0, x2: d[0] * r, y2: d[1] * r, class: String(c) }));
  const axis = (field: string, title: string) => ({
    field,
    type: 'quantitative',
    scale: { domain: [-r, r], nice: false, zero: false },
    axis: { title },
  });
  return {
    width: size,
    height: size,
    layer: [
      {
        data: { values: rays },
        mark: { type: 'rule', strokeWidth: 2, opacity: 0.9, clip: true },
        encoding: {
          x: axis('x', 'x₁'),
          y: axis('y', 'x₂'),
          x2: { field: 'x2' },
          y2: { field: 'y2' },
          color: classColour(classes),
        },
      },
      {
        data: { values: points },
        mark: { type: 'circle', size: 14, opacity: 0.7, clip: true },
        encoding: { x: axis('x', 'x₁'), y: axis('y', 'x₂'), color: classColour(classes) },
      },
    ],
  };
}

type Vec3 = [number, number, number];

/** Rotation taking a point to view coordinates (x right, y up, z towards the viewer). */
function viewRotation(azimuthDeg: number, elevationDeg: number): (p: Vec3) => Vec3 {
  const a = (azimuthDeg * Math.PI) / 180;
  const e = (elevationDeg * Math.PI) / 180;
  return ([x, y, z]) => {
    // Turn about the vertical (z) axis, then tilt towards the viewer.
    const x1 = Math.cos(a) * x - Math.sin(a) * y;
    const y1 = Math.sin(a) * x + Math.cos(a) * y;
    const depth = Math.cos(e) * y1 - Math.sin(e) * z;
    const up = Math.sin(e) * y1 + Math.cos(e) * z;
    return [x1, up, -depth];
  };
}

const normalise = (v: number[]): Vec3 => {
  const n = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / n, v[1] / n, v[2] / n];
};

function sphereView(
  s: EmbeddingSnapshot,
  dirs: Map<number, number[]>,
  classes: number[],
  azimuth: number,
  elevation: number,
  size: number,
): VegaLiteSpec {
  const rotate = viewRotation(azimuth, elevation);
  const points = s.embeddings.map((x, i) => {
    const [u, v, w] = rotate(normalise(x));
    return { x: u, y: v, front: w >= 0 ? 'near side' : 'far side', class: String(s.labels[i]) };
  });
  const centres = [...dirs].map(([c, d]) => {
    const [u, v, w] = rotate(normalise(d));
    return { x: u, y: v, front: w >= 0 ? 'near side' : 'far side', class: String(c) };
  });
  const outline = Array.from({ length: 181 }, (_, k) => ({
    x: Math.cos((k * Math.PI) / 90),
    y: Math.sin((k * Math.PI) / 90),
    k,
  }));
  // The equator z = 0 in view coordinates, near half solid.
  const equator = Array.from({ length: 181 }, (_, k) => {
    const t = (k * Math.PI) / 90;
    const [u, v, w] = rotate([Math.cos(t), Math.sin(t), 0]);
    return { x: u, y: v, k, front: w >= 0 ? 'near side' : 'far side' };
  });
  const axis = (field: string) => ({
    field,
    type: 'quantitative',
    scale: { domain: [-1.05, 1.05], nice: false, zero: false },
    axis: null,
  });
  const opacity = {
    field: 'front',
    type: 'nominal',
    scale: { domain: ['near side', 'far side'], range: [0.85, 0.12] },
    legend: null,
  };
  return {
    width: size,
    height: size,
    title: { text: `azimuth ${azimuth}°, elevation ${elevation}°`, fontSize: 11, anchor: 'middle' },
    layer: [
      {
        data: { values: outline },
        mark: { type: 'line', color: '#555555', strokeWidth: 1 },
        encoding: { x: axis('x'), y: axis('y'), order: { field: 'k', type: 'quantitative' } },
      },
      {
        data: { values: equator },
        mark: { type: 'point', color: '#999999', size: 1, filled: true },
        encoding: { x: axis('x'), y: axis('y'), opacity },
      },
      {
        data: { values: points },
        mark: { type: 'circle', size: 12 },
        encoding: { x: axis('x'), y: axis('y'), color: classColour(classes), opacity },
      },
      {
        data: { values: centres },
        mark: { type: 'point', shape: 'diamond', size: 120, filled: true, stroke: 'black', strokeWidth: 1 },
        encoding: { x: axis('x'), y: axis('y'), color: classColour(classes), opacity },
      },
    ],
  };
}

/** The feature-distribution chart of one snapshot (2-D plane or 3-D sphere). */
export function featuresChart(s: EmbeddingSnapshot, options: FeaturesChartOptions = {}): VegaLiteSpec {
  const title =
    options.title ?? `feature distribution after epoch ${s.epoch + 1} (${s.embeddings.length} samples)`;
  const head = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json' };
  if (s.dim === 2) {
    return {
      ...head,
      title: { text: title, subtitle: 'embeddings coloured by class; rays: class-centre directions' },
      ...planeChart(s, options),
    };
  }
  if (s.dim === 3) {
    const dirs = classDirections(s);
    const classes = classList(s, dirs);
    const size = options.size ?? 320;
    return {
      ...head,
      title: {
        text: title,
        subtitle: 'x/‖x‖ on the unit sphere, two orthographic views; far side faint; diamonds: class centres',
      },
      hconcat: [sphereView(s, dirs, classes, 30, 20, size), sphereView(s, dirs, classes, 210, -20, size)],
    };
  }
  throw new InvalidArgumentError('embeddings.dim', 'embeddings of dimension 2 or 3 to plot', s.dim);
}
