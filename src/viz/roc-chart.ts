/**
 * ROC curves with a logarithmic FAR axis (TAR against FAR), one curve per score file. The curve
 * itself comes from `src/eval` ({@link rocCurve}); here it is only thinned for drawing.
 */
import { basename } from 'node:path';
import { rankScores, readScoresFile, rocCurve } from '../eval/index.js';
import type { VegaLiteSpec } from './render.js';

/** A named ROC curve as rates. */
export interface NamedRoc {
  name: string;
  fpr: ArrayLike<number>;
  tpr: ArrayLike<number>;
  /** Different-identity pairs: the smallest non-zero FAR is 1/negatives. */
  negatives: number;
}

/** The ROC of a `score,label` CSV file, named by its file name. */
export function rocFromScoresFile(path: string): NamedRoc {
  const file = readScoresFile(path);
  const roc = rocCurve(rankScores(file.scores, file.labels));
  let negatives = 0;
  for (const y of file.labels) if (y === 0) negatives++;
  return { name: basename(path).replace(/\.csv$/i, ''), fpr: roc.fpr, tpr: roc.tpr, negatives };
}

/**
 * Points worth drawing on a log-FAR axis: for each of `bins` log-spaced FAR values the best TAR reached
 * without exceeding it (the ROC is a staircase, so this keeps its shape), plus the last point.
 */
export function thinRoc(roc: NamedRoc, bins = 300): { far: number; tar: number }[] {
  const n = roc.fpr.length;
  const minFar = 1 / Math.max(1, roc.negatives);
  const out: { far: number; tar: number }[] = [];
  let k = 0;
  let best = 0;
  for (let b = 0; b <= bins; b++) {
    const limit = minFar * (1 / minFar) ** (b / bins);
    while (k < n && roc.fpr[k] <= limit * (1 + 1e-12)) {
      best = Math.max(best, roc.tpr[k]);
      k++;
    }
    const far = Math.min(limit, 1);
    if (out.length === 0 || out[out.length - 1].tar !== best || b === bins) out.push({ far, tar: best });
  }
  return out;
}

/** TAR against FAR (log axis) for one or more curves. */
export function rocChart(curves: readonly NamedRoc[], title = 'ROC'): VegaLiteSpec {
  const rows = curves.flatMap((c) => thinRoc(c).map((p, k) => ({ ...p, curve: c.name, k })));
  const minFar = Math.min(...curves.map((c) => 1 / Math.max(1, c.negatives)));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: 'TAR (same-identity pairs accepted) against FAR (different-identity pairs accepted)',
    },
    width: 420,
    height: 320,
    data: { values: rows },
    mark: { type: 'line', strokeWidth: 2, interpolate: 'step-after', clip: true },
    encoding: {
      x: {
        field: 'far',
        type: 'quantitative',
        scale: { type: 'log', domain: [minFar, 1], nice: false },
        axis: { title: 'FAR (log scale)', format: '.0e' },
      },
      y: { field: 'tar', type: 'quantitative', scale: { domain: [0, 1] }, axis: { title: 'TAR' } },
      color: { field: 'curve', type: 'nominal', legend: { title: null, orient: 'bottom-right' } },
      order: { field: 'k', type: 'quantitative' },
    },
  };
}
