/**
 * Decision-boundary pictures: every curve a head's picture asks for ({@link headPicture}), computed by
 * {@link computeBoundary}, drawn in the angle and/or cosine plane with the winning region shaded and
 * the no-margin diagonal for reference. Also the gallery of every head side by side.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Head } from '../heads/define.js';
import { createHead, headDefinition, headNames, resolveParams } from '../heads/registry.js';
import { type Boundary, type BoundarySpace, computeBoundary } from './boundary.js';
import { headPicture } from './head-pictures.js';
import type { VegaLiteSpec } from './render.js';

/** What to compute for one head. */
export interface HeadBoundaryOptions {
  /** Head parameters (validated by the head's schema); they apply to every curve. */
  params?: Record<string, unknown>;
  /** Head state entries (CurricularFace `t`, SphereFace `lambda`, …); they apply to every curve. */
  state?: Record<string, number>;
  spaces?: readonly BoundarySpace[];
  /** Grid points per axis. */
  resolution?: number;
  /** Compute the logits-vs-cos θj panel for heads that transform hard negatives (default true). */
  negatives?: boolean;
}

/** Both logits, divided by the head's scale, along cos θj ∈ [−1, 1] at a fixed θy. */
export interface NegativeSweep {
  cosJ: Float64Array;
  target: Float64Array;
  negative: Float64Array;
}

/** One curve of a head's picture, in each requested plane. */
export interface HeadBoundaryCurve {
  label: string;
  boundaries: Partial<Record<BoundarySpace, Boundary>>;
  /** The head that produced it (with the curve's parameters and state). */
  head: Head;
  xNorm: number;
  negatives?: NegativeSweep;
}

/** All curves of a head's picture. */
export interface HeadBoundaries {
  head: string;
  formula: string;
  curves: HeadBoundaryCurve[];
  /** θy (degrees) of the curves' {@link NegativeSweep}, when computed. */
  negativesAt?: number;
  /** The scale the sweep's logits were divided by. */
  scale: number;
}

/** Both logits along cos θj at target angle `thetaY` (radians), divided by `scale`. */
export function sweepNegatives(
  head: Head,
  thetaY: number,
  scale: number,
  xNorm = 1,
  points = 401,
): NegativeSweep {
  const cosJ = Float64Array.from({ length: points }, (_, k) => -1 + (2 * k) / (points - 1));
  const cos = new Float64Array(2 * points);
  for (let k = 0; k < points; k++) {
    cos[2 * k] = Math.cos(thetaY);
    cos[2 * k + 1] = cosJ[k];
  }
  const logits = head.marginLogits(cos, 2, new Int32Array(points), new Float64Array(points).fill(xNorm));
  const target = new Float64Array(points);
  const negative = new Float64Array(points);
  for (let k = 0; k < points; k++) {
    target[k] = logits[2 * k] / scale;
    negative[k] = logits[2 * k + 1] / scale;
  }
  return { cosJ, target, negative };
}

/** Build the head for one curve, with state entries applied on top of its initial state. */
function headWithState(
  name: string,
  params: Record<string, unknown>,
  state: Record<string, number>,
  argument: string,
): Head {
  const head = createHead(name, params);
  head.initState(2);
  const current = head.getState();
  for (const key of Object.keys(state)) {
    if (!(key in current)) {
      const known = Object.keys(current);
      throw new InvalidArgumentError(
        `${argument}.${key}`,
        known.length > 0
          ? `a state entry of ${name}: one of ${known.join(', ')}`
          : `nothing (${name} has no state)`,
        state[key],
      );
    }
  }
  head.setState({ ...current, ...state });
  return head;
}

/** Compute every curve of `name`'s boundary picture. */
export function headBoundaries(name: string, options: HeadBoundaryOptions = {}): HeadBoundaries {
  const userParams = options.params ?? {};
  const userState = options.state ?? {};
  const resolved = resolveParams(name, userParams);
  const picture = headPicture(name);
  const formula = picture.formula === undefined ? headDefinition(name).summary : picture.formula;
  const given = new Set([...Object.keys(userParams), ...Object.keys(userState)]);
  const spaces = options.spaces ?? ['angle', 'cosine'];
  const negativesAt = options.negatives === false ? undefined : picture.negativesAt;
  const scale = typeof resolved.scale === 'number' ? resolved.scale : 1;
  const curves = picture.variants(resolved, given).map((variant): HeadBoundaryCurve => {
    const head = picture.boundaryHead
      ? createHead(picture.boundaryHead)
      : headWithState(
          name,
          { ...userParams, ...variant.params },
          { ...variant.state, ...userState },
          'state',
        );
    const xNorm = variant.xNorm ?? 1;
    const boundaries: Partial<Record<BoundarySpace, Boundary>> = {};
    for (const space of spaces) {
      boundaries[space] = computeBoundary(head, { space, xNorm, resolution: options.resolution });
    }
    const negatives =
      negativesAt !== undefined
        ? sweepNegatives(head, (negativesAt * Math.PI) / 180, scale, xNorm)
        : undefined;
    return { label: variant.label, boundaries, head, xNorm, negatives };
  });
  return { head: name, formula, curves, negativesAt, scale };
}

/** Curve colours: the configured head first (dark blue), then contrasting ones. */
export const CURVE_COLOURS = ['#1f4e9c', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
/** The configured head solid, comparison curves dashed so overlapping curves stay visible. */
const CURVE_DASHES = [
  [1, 0],
  [7, 3],
  [3, 3],
  [9, 3, 2, 3],
  [5, 5],
];
const LEGEND = { orient: 'bottom', direction: 'vertical', title: null, labelLimit: 320 };
const REGION_COLOUR = '#d4e3f7';

const toDegrees = (v: number) => (v * 180) / Math.PI;

interface PanelOptions {
  size: number;
  /** Legend placement, or `null` to leave it to the caller. */
  legend: boolean;
  title?: string;
}

/** One plane of a head's picture as a layered vega-lite chart. */
function boundaryPanel(data: HeadBoundaries, space: BoundarySpace, options: PanelOptions): VegaLiteSpec {
  const conv = space === 'angle' ? toDegrees : (v: number) => v;
  const first = data.curves[0]?.boundaries[space];
  const [lo, hi] = (first?.range ?? [0, Math.PI]).map(conv);
  const region = (first?.region ?? []).map((r) => ({
    x: conv(r.x - r.halfWidth),
    x2: conv(r.x + r.halfWidth),
    y: conv(r.y0),
    y2: conv(r.y1),
  }));
  const lines: Record<string, number | string>[] = [];
  data.curves.forEach((curve, c) => {
    curve.boundaries[space]?.lines.forEach((line, l) => {
      line.forEach((p, k) => {
        lines.push({ x: conv(p.x), y: conv(p.y), curve: curve.label, line: `${c}-${l}`, order: k });
      });
    });
  });
  const labels = data.curves.map((c) => c.label);
  const ticks = space === 'angle' ? [0, 30, 60, 90, 120, 150, 180] : [-1, -0.5, 0, 0.5, 1];
  const axisX = {
    field: 'x',
    type: 'quantitative',
    scale: { domain: [lo, hi], nice: false, zero: false, clamp: true },
    axis: { title: space === 'angle' ? 'θy (°), angle to the target class' : 'cos θy', values: ticks },
  };
  const axisY = {
    field: 'y',
    type: 'quantitative',
    scale: { domain: [lo, hi], nice: false, zero: false, clamp: true },
    axis: { title: space === 'angle' ? 'θj (°), angle to the other class' : 'cos θj', values: ticks },
  };
  return {
    width: options.size,
    height: options.size,
    ...(options.title ? { title: { text: options.title, fontSize: 11, anchor: 'middle' } } : {}),
    layer: [
      {
        data: { values: region },
        mark: { type: 'rect', color: REGION_COLOUR, stroke: REGION_COLOUR, strokeWidth: 0.6, clip: true },
        encoding: { x: axisX, x2: { field: 'x2' }, y: axisY, y2: { field: 'y2' } },
      },
      {
        data: {
          values: [
            { x: lo, y: lo },
            { x: hi, y: hi },
          ],
        },
        mark: { type: 'line', color: '#777777', strokeDash: [5, 4], strokeWidth: 1 },
        encoding: { x: axisX, y: axisY },
      },
      {
        data: { values: lines },
        mark: { type: 'line', strokeWidth: 2, clip: true, interpolate: 'linear' },
        encoding: {
          x: axisX,
          y: axisY,
          detail: { field: 'line', type: 'nominal' },
          order: { field: 'order', type: 'quantitative' },
          strokeDash: {
            field: 'curve',
            type: 'nominal',
            scale: { domain: labels, range: CURVE_DASHES.slice(0, labels.length) },
            legend: null,
          },
          color: {
            field: 'curve',
            type: 'nominal',
            scale: { domain: labels, range: CURVE_COLOURS.slice(0, labels.length) },
            legend: options.legend ? LEGEND : null,
          },
        },
      },
    ],
  };
}

/** Logits of target and negative along cos θj at a fixed θy (heads that transform hard negatives). */
function negativesPanel(data: HeadBoundaries, size: number): VegaLiteSpec {
  const rows: Record<string, number | string>[] = [];
  for (const curve of data.curves) {
    const sweep = curve.negatives;
    if (!sweep) continue;
    sweep.cosJ.forEach((c, k) => {
      rows.push({ x: c, y: sweep.negative[k], curve: curve.label, kind: 'negative', order: k });
      rows.push({ x: c, y: sweep.target[k], curve: curve.label, kind: 'target', order: k });
    });
  }
  const ys = rows.map((r) => r.y as number);
  const lo = Math.min(-1, ...ys);
  const hi = Math.max(1, ...ys);
  const labels = data.curves.map((c) => c.label);
  const unit = data.scale === 1 ? 'logit' : `logit / s (s = ${data.scale})`;
  const x = {
    field: 'x',
    type: 'quantitative',
    scale: { domain: [-1, 1], nice: false, zero: false },
    axis: { title: 'cos θj', values: [-1, -0.5, 0, 0.5, 1] },
  };
  const y = {
    field: 'y',
    type: 'quantitative',
    scale: { domain: [lo, hi], nice: true, zero: false },
    axis: { title: unit },
  };
  const style = {
    strokeDash: {
      field: 'curve',
      type: 'nominal',
      scale: { domain: labels, range: CURVE_DASHES.slice(0, labels.length) },
      legend: null,
    },
    color: {
      field: 'curve',
      type: 'nominal',
      scale: { domain: labels, range: CURVE_COLOURS.slice(0, labels.length) },
      legend: LEGEND,
    },
    detail: { field: 'kind', type: 'nominal' },
    order: { field: 'order', type: 'quantitative' },
  };
  return {
    width: size,
    height: size,
    title: {
      text: `both logits at θy = ${data.negativesAt}°: thick negative, thin target`,
      fontSize: 11,
      anchor: 'middle',
    },
    layer: [
      {
        data: {
          values: [
            { x: -1, y: -1 },
            { x: 1, y: 1 },
          ],
        },
        mark: { type: 'line', color: '#777777', strokeDash: [5, 4], strokeWidth: 1 },
        encoding: { x, y },
      },
      {
        data: { values: rows },
        transform: [{ filter: "datum.kind === 'negative'" }],
        mark: { type: 'line', strokeWidth: 2, clip: true },
        encoding: { x, y, ...style },
      },
      {
        data: { values: rows },
        transform: [{ filter: "datum.kind === 'target'" }],
        mark: { type: 'line', strokeWidth: 1, clip: true },
        encoding: { x, y, ...style },
      },
    ],
  };
}

/** Split a caption into lines of at most `width` characters at spaces. */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line.length > 0 ? `${line} ${word}` : word;
  }
  if (line.length > 0) out.push(line);
  return out;
}

/** The picture of one head: one panel per plane, formula caption, legend of curves. */
export function boundaryChart(
  data: HeadBoundaries,
  spaces: readonly BoundarySpace[],
  size = 280,
): VegaLiteSpec {
  // vega sizes text without a canvas as 0.8·fontSize per character: wrap to the charts' width.
  const panels = spaces.map((space) =>
    boundaryPanel(data, space, {
      size,
      legend: true,
      title: space === 'angle' ? 'angle plane (θy, θj)' : 'cosine plane (cos θy, cos θj)',
    }),
  );
  if (data.curves.some((c) => c.negatives)) panels.push(negativesPanel(data, size));
  // vega sizes text without a canvas as 0.8·fontSize per character: wrap to the charts' width.
  const captionWidth = Math.max(40, Math.floor((panels.length * (size + 75)) / 8.2));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${data.head}: decision boundary, target class y vs one other class j`,
      subtitle: [
        ...wrap(data.formula, captionWidth),
        ...wrap(
          `Shaded: the target logit wins${data.curves.length > 1 ? ' (first curve)' : ''}. Dashed diagonal: no margin. Curves: logits equal.`,
          captionWidth,
        ),
      ],
    },
    ...(panels.length === 1 ? panels[0] : { hconcat: panels, spacing: 30 }),
  };
}

/** Every head's angle-plane boundary as small multiples. */
export function galleryChart(
  names: readonly string[] = headNames,
  options: { resolution?: number; size?: number; columns?: number } = {},
): VegaLiteSpec {
  const size = options.size ?? 170;
  const panels = names.map((name) => {
    const data = headBoundaries(name, { spaces: ['angle'], resolution: options.resolution ?? 121 });
    const panel = boundaryPanel(data, 'angle', { size, legend: true, title: name });
    return { ...panel, resolve: { scale: { color: 'independent', strokeDash: 'independent' } } };
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Decision boundaries of every head in the angle plane (θy, θj)',
      subtitle:
        'Shaded: the target logit wins. Dashed: no margin (θj = θy). Legends: the curves drawn per head.',
    },
    columns: options.columns ?? 5,
    concat: panels,
    spacing: 24,
    resolve: {
      scale: { color: 'independent', strokeDash: 'independent' },
      legend: { color: 'independent', strokeDash: 'independent' },
    },
    config: { axis: { labelFontSize: 8, titleFontSize: 9 }, legend: { labelFontSize: 8, labelLimit: 200 } },
  };
}
