/**
 * Pictures: the decision boundaries of ArcFace and CosFace in one chart, and a ROC curve.
 *
 *   npx tsx examples/plot.ts [--quick] [--out DIR]
 *
 * Writes SVG files (and PNG copies without --quick) to DIR, or to a fresh temporary folder.
 *
 * What it shows:
 * 1. `headBoundaries(name, options)` computes where a head's target logit equals the other class's
 *    logit, for one sample with a target class y and one other class j, using the head's own margin
 *    code. ArcFace adds m to the angle (boundary θj = θy + m: a straight line in the angle plane);
 *    CosFace subtracts m from the cosine (cos θj = cos θy − m: straight in the cosine plane).
 * 2. `boundaryChart` turns the curves into a vega-lite chart and `writeChart` renders it as SVG or
 *    PNG by file extension, with a bundled font so the output is the same on every machine.
 * 3. `rocChart` draws TAR against FAR (log axis) from ROC curves computed by `rocCurve`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rankScores, rocCurve } from '../src/eval/index.js';
import { createRng } from '../src/rng.js';
import {
  type BoundaryPoint,
  boundaryChart,
  type HeadBoundaries,
  headBoundaries,
  type NamedRoc,
  rocChart,
  writeChart,
} from '../src/viz/index.js';

const quick = process.argv.includes('--quick');
const outFlag = process.argv.indexOf('--out');
const dir = outFlag > 0 ? process.argv[outFlag + 1] : mkdtempSync(join(tmpdir(), 'faceverloss-plot-'));
// Grid points per axis: the contour is refined by bisection, so a coarse grid still gives exact points.
const RESOLUTION = quick ? 61 : 201;
const ARC_MARGIN = 0.5;
const COS_MARGIN = 0.35;

/** θj (degrees) where a boundary line crosses θy = `thetaY` degrees, by linear interpolation. */
function boundaryAt(lines: BoundaryPoint[][], thetaY: number): number {
  const x = (thetaY * Math.PI) / 180;
  for (const line of lines) {
    for (let k = 1; k < line.length; k++) {
      const [a, b] = [line[k - 1], line[k]];
      if ((a.x - x) * (b.x - x) <= 0 && a.x !== b.x) {
        const y = a.y + ((x - a.x) / (b.x - a.x)) * (b.y - a.y);
        return (y * 180) / Math.PI;
      }
    }
  }
  return Number.NaN;
}

/** Two seeded Gaussian score sets: same-identity pairs centred at `gap`, different ones at 0. */
function syntheticRoc(name: string, gap: number, seed: number): NamedRoc {
  const rng = createRng(seed);
  const n = quick ? 2000 : 20000;
  const scores = new Float64Array(2 * n);
  const labels = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) {
    scores[2 * i] = gap + rng.normal();
    labels[2 * i] = 1;
    scores[2 * i + 1] = rng.normal();
  }
  const roc = rocCurve(rankScores(scores, labels));
  return { name, fpr: roc.fpr, tpr: roc.tpr, negatives: n };
}

async function main(): Promise<void> {
  // ---- Decision boundaries -------------------------------------------------------------------------
  // Each call returns the curves of that head's own picture; the first curve is the head as configured
  // (ArcFace's picture adds its fallback variants past θ + m > π as extra curves).
  const spaces = ['angle', 'cosine'] as const;
  const arc = headBoundaries('arcface', { params: { margin: ARC_MARGIN }, spaces, resolution: RESOLUTION });
  const cos = headBoundaries('cosface', { params: { margin: COS_MARGIN }, spaces, resolution: RESOLUTION });
  console.log(`ArcFace picture: ${arc.curves.map((c) => c.label).join(' | ')}`);

  // The picture data is plain: two heads' first curves go into one chart by building the record by hand.
  const both: HeadBoundaries = {
    head: 'ArcFace vs CosFace',
    formula: `ArcFace: s·cos(θy + ${ARC_MARGIN}) vs s·cos θj.  CosFace: s·(cos θy − ${COS_MARGIN}) vs s·cos θj.`,
    curves: [
      { ...arc.curves[0], label: `ArcFace m = ${ARC_MARGIN}` },
      { ...cos.curves[0], label: `CosFace m = ${COS_MARGIN}` },
    ],
    scale: 1,
  };
  const boundaryFile = join(dir, 'arcface-vs-cosface.svg');
  await writeChart(boundaryChart(both, spaces), boundaryFile);
  console.log(`wrote ${boundaryFile}`);
  const arcFile = join(dir, 'arcface.svg');
  await writeChart(boundaryChart(arc, spaces), arcFile);
  console.log(`wrote ${arcFile}`);

  // Read the curves back as numbers: how far must the other class be for the target to win?
  // ArcFace: θj = θy + m everywhere. CosFace: θj = acos(cos θy − m), an angular margin that is
  // largest near θy = 0° and where cos θy − m approaches −1.
  for (const thetaY of [30, 60, 90]) {
    const a = boundaryAt(arc.curves[0].boundaries.angle!.lines, thetaY);
    const c = boundaryAt(cos.curves[0].boundaries.angle!.lines, thetaY);
    console.log(
      `at θy = ${thetaY}°: ArcFace boundary θj = ${a.toFixed(2)}°, CosFace boundary θj = ${c.toFixed(2)}°`,
    );
  }

  // ---- ROC -------------------------------------------------------------------------------------------
  const curves = [syntheticRoc('model A (d′ = 3)', 3, 1), syntheticRoc('model B (d′ = 2)', 2, 2)];
  const rocFile = join(dir, 'roc.svg');
  await writeChart(rocChart(curves, 'ROC of two synthetic score sets'), rocFile);
  console.log(`wrote ${rocFile}`);

  if (!quick) {
    // PNG rendering rasterises the SVG (resvg), with the bundled DejaVu font.
    for (const [file, spec] of [
      [join(dir, 'arcface-vs-cosface.png'), boundaryChart(both, spaces)],
      [join(dir, 'roc.png'), rocChart(curves, 'ROC of two synthetic score sets')],
    ] as const) {
      await writeChart(spec, file);
      console.log(`wrote ${file}`);
    }
  }
}

await main();
