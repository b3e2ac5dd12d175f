/**
 * The figure of the margin-loss papers for a comparison folder (`faceverloss compare --out OUT`): every
 * head's last-epoch feature distribution side by side, all held-out ROC curves on one chart, and a
 * self-contained `compare.html` with the summary table. Writes into OUT:
 *
 * ```
 * OUT/features.svg, features.png   one panel per head (grid of at most 3 columns), titled with the head
 *                                  and its held-out verification accuracy (last `val_acc` in metrics.jsonl)
 * OUT/roc.svg                      TAR against FAR of every head's scores.csv; legend names carry the AUC
 * OUT/compare.html                 summary.json's table (when present), both figures, links to report.html
 * ```
 */

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { z } from 'zod';
import { CorruptFileError, InvalidArgumentError } from '../errors.js';
import { auc, readScoresFile } from '../eval/index.js';
import { compareRowSchema, compareTableCells } from './compare-table.js';
import { listEmbeddingSnapshots, readEmbeddingSnapshot } from './embeddings-file.js';
import { featuresChart } from './features-chart.js';
import { escapeHtml, inlineSvg } from './html.js';
import { readMetrics } from './metrics-file.js';
import { writeFileAtomic } from './output.js';
import { type RasterOptions, renderSvg, svgToPng, type VegaLiteSpec } from './render.js';
import { type NamedRoc, rocChart, rocFromScoresFile } from './roc-chart.js';

/** One compared run: the head's name and its run folder. */
export interface CompareRun {
  head: string;
  runDir: string;
}

/** Layout options: `size` is a 2-D panel's side in pixels (a 3-D panel's two views share 4/3 of it). */
export interface CompareFiguresOptions extends RasterOptions {
  size?: number;
}

/** Paths of the files written. */
export interface CompareFigures {
  featuresSvg: string;
  featuresPng: string;
  roc: string;
  html: string;
}

/** Panels per row: six heads make two rows of three, the layout of the papers' figures. */
const MAX_COLUMNS = 3;

const summarySchema = z.object({ rows: z.array(compareRowSchema) });
type SummaryRow = z.infer<typeof summarySchema>['rows'][number];

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

function checkRuns(runs: unknown): CompareRun[] {
  if (!Array.isArray(runs) || runs.length === 0) {
    throw new InvalidArgumentError('runs', 'a non-empty array of { head, runDir }', runs);
  }
  const seen = new Set<string>();
  runs.forEach((r: unknown, i) => {
    const run = (typeof r === 'object' && r !== null ? r : {}) as Partial<CompareRun>;
    if (typeof run.head !== 'string' || run.head.length === 0 || seen.has(run.head)) {
      throw new InvalidArgumentError(`runs[${i}].head`, 'a head name not listed before', run.head);
    }
    seen.add(run.head);
    let isDir = false;
    try {
      isDir = typeof run.runDir === 'string' && statSync(run.runDir).isDirectory();
    } catch {
      // Missing: reported below with the path.
    }
    if (!isDir) {
      throw new InvalidArgumentError(
        `runs[${i}].runDir`,
        `an existing run folder for '${run.head}'`,
        run.runDir,
      );
    }
  });
  return runs as CompareRun[];
}

/** The last held-out verification accuracy (`val_acc`) in the run's metrics.jsonl, if any. */
function lastVerificationAccuracy(runDir: string): number | undefined {
  const path = join(runDir, 'metrics.jsonl');
  if (!existsSync(path)) {
    throw new CorruptFileError(path, 'missing (expected metrics.jsonl: one JSON object per line)');
  }
  const records = readMetrics(path);
  for (let i = records.length - 1; i >= 0; i--)
    if (records[i].val_acc !== undefined) return records[i].val_acc;
  return undefined;
}

/**
 * A panel's title: the head and its accuracy, details on short subtitle lines. (Without a canvas, vega
 * estimates text widths generously and sizes grid cells by them, so long titles would spread the grid.)
 */
function panelTitle(head: string, accuracy: number | undefined, detail: string): Record<string, unknown> {
  return {
    text: `${head}: ${accuracy === undefined ? 'n/a' : pct(accuracy)}`,
    subtitle: ['held-out verification accuracy', detail],
  };
}

/** A panel of the same size that says why this head has no feature picture. */
function placeholderPanel(title: Record<string, unknown>, size: number): VegaLiteSpec {
  return {
    title,
    width: size,
    height: size,
    data: { values: [{ text: 'no feature picture' }] },
    mark: { type: 'text', fontSize: 13, color: '#888888' },
    encoding: { text: { field: 'text', type: 'nominal' } },
  };
}

/**
 * One head's panel: featuresChart of its last snapshot, retitled. A run whose `embeddings/` is missing
 * or holds no epoch-NNNN.json, or whose embeddings are not 2-D or 3-D, gets a placeholder panel saying so.
 */
function featuresPanel(run: CompareRun, size: number): VegaLiteSpec {
  const accuracy = lastVerificationAccuracy(run.runDir);
  const dir = join(run.runDir, 'embeddings');
  if (!existsSync(dir) || !readdirSync(dir).some((n) => /^epoch-\d+\.json$/.test(n))) {
    return placeholderPanel(panelTitle(run.head, accuracy, 'no embeddings/ snapshots in this run'), size);
  }
  const files = listEmbeddingSnapshots(dir, `embeddings of '${run.head}'`);
  const s = readEmbeddingSnapshot(files[files.length - 1]);
  if (s.dim !== 2 && s.dim !== 3) {
    return placeholderPanel(
      panelTitle(run.head, accuracy, `${s.dim}-D embeddings (only 2-D/3-D drawn)`),
      size,
    );
  }
  // A 3-D panel has two sphere views side by side; smaller views keep it close to a 2-D panel's width.
  const chart = featuresChart(s, { size: s.dim === 2 ? size : Math.round((size * 2) / 3) });
  const { $schema: _schema, title: _title, ...body } = chart;
  return {
    ...body,
    title: panelTitle(run.head, accuracy, `after epoch ${s.epoch + 1}, ${s.embeddings.length} samples`),
  };
}

/** The grid of feature panels, one per run, in the given order. */
function featuresGrid(runs: readonly CompareRun[], size: number): VegaLiteSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Feature distributions, last epoch',
      subtitle: 'held-out embeddings coloured by class; rays / diamonds: class-centre directions',
    },
    columns: Math.min(MAX_COLUMNS, runs.length),
    spacing: 24,
    // Columns as wide as their widest panel: a 3-D panel (two views) must not widen every 2-D column.
    align: 'each',
    concat: runs.map((r) => featuresPanel(r, size)),
    // Each head has its own feature scale (softmax norms grow, normalised heads stay near the sphere);
    // classes are the same across heads, so one colour legend serves all panels.
    resolve: { scale: { x: 'independent', y: 'independent', color: 'shared' } },
  };
}

/** A head's held-out ROC, named with its AUC. */
function headRoc(run: CompareRun): NamedRoc {
  const path = join(run.runDir, 'scores.csv');
  if (!existsSync(path)) {
    throw new CorruptFileError(path, 'missing (expected the held-out pair scores, a score,label CSV)');
  }
  const file = readScoresFile(path);
  const area = auc({ scores: file.scores, labels: file.labels });
  return { ...rocFromScoresFile(path), name: `${run.head} (AUC ${area.toFixed(4)})` };
}

/** rocChart of all heads, with the legend in the given order and names left whole (they carry the AUC). */
function rocFigure(curves: NamedRoc[]): VegaLiteSpec {
  const spec = rocChart(curves, 'Held-out ROC by head');
  const encoding = spec.encoding as Record<string, Record<string, unknown>>;
  const color = encoding.color;
  return {
    ...spec,
    encoding: {
      ...encoding,
      color: {
        ...color,
        scale: { domain: curves.map((c) => c.name) },
        legend: { ...(color.legend as object), labelLimit: 0 },
      },
    },
  };
}

function readSummary(outDir: string): SummaryRow[] | undefined {
  const path = join(outDir, 'summary.json');
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new CorruptFileError(path, 'is not readable JSON (expected { rows: [...] } from compare)');
  }
  const parsed = summarySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CorruptFileError(path, `field '${issue.path.join('.')}': ${issue.message}`);
  }
  return parsed.data.rows;
}

const STYLE = `body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:1500px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}td:first-child{text-align:left}figure{margin:0}
svg{max-width:100%;height:auto}`;

function compareHtml(
  outDir: string,
  runs: readonly CompareRun[],
  summary: SummaryRow[] | undefined,
  featuresSvg: string,
  rocSvg: string,
): string {
  const sections: string[] = [];
  if (summary) {
    const { header, body } = compareTableCells(summary);
    const rows = body.map((cells) => cells.map((c) => `<td>${escapeHtml(c)}</td>`).join(''));
    sections.push(
      `<h2>Summary</h2><table><tr>${header.map((h) => `<th>${h}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r}</tr>`).join('')}</table>`,
    );
  }
  sections.push(
    `<h2>Feature distributions</h2><figure>${inlineSvg(featuresSvg, 'features-')}</figure>`,
    `<h2>Verification</h2><figure>${inlineSvg(rocSvg, 'roc-')}</figure>`,
  );
  const links = runs.map((r) => {
    const report = join(r.runDir, 'report.html');
    const href = relative(outDir, report).split(sep).map(encodeURIComponent).join('/');
    return existsSync(report)
      ? `<li><a href="${escapeHtml(href)}">${escapeHtml(r.head)}</a></li>`
      : `<li>${escapeHtml(r.head)}: no report.html yet</li>`;
  });
  sections.push(`<h2>Run reports</h2><ul>${links.join('')}</ul>`);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>faceverloss comparison</title><style>${STYLE}</style></head>
<body><h1>Comparison of ${runs.length} head${runs.length === 1 ? '' : 's'}</h1>
${sections.join('\n')}
</body></html>
`;
}

/**
 * Write `features.svg`, `features.png`, `roc.svg` and `compare.html` into `outDir` for the given runs
 * (panels and curves in the given order). Every run folder must exist and hold `metrics.jsonl` and
 * `scores.csv` (else an {@link InvalidArgumentError} / {@link CorruptFileError} naming the path, before
 * anything is written). A run without snapshots in `embeddings/`, or with embeddings that are not 2-D
 * or 3-D, still gets its panel, which says why there is no picture. `outDir/summary.json` is optional.
 */
export async function writeCompareFigures(
  outDir: string,
  runs: readonly CompareRun[],
  options: CompareFiguresOptions = {},
): Promise<CompareFigures> {
  if (typeof outDir !== 'string' || outDir.length === 0) {
    throw new InvalidArgumentError('outDir', 'a folder path', outDir);
  }
  const checked = checkRuns(runs);
  const size = options.size ?? 300;
  if (!Number.isInteger(size) || size < 60) {
    throw new InvalidArgumentError('options.size', 'an integer ≥ 60 (panel side in pixels)', size);
  }
  const featuresSvg = await renderSvg(featuresGrid(checked, size));
  const rocSvg = await renderSvg(rocFigure(checked.map(headRoc)));
  const summary = readSummary(outDir);
  const html = compareHtml(outDir, checked, summary, featuresSvg, rocSvg);
  const paths: CompareFigures = {
    featuresSvg: join(outDir, 'features.svg'),
    featuresPng: join(outDir, 'features.png'),
    roc: join(outDir, 'roc.svg'),
    html: join(outDir, 'compare.html'),
  };
  writeFileAtomic(paths.featuresSvg, featuresSvg, 'outDir');
  writeFileAtomic(paths.featuresPng, svgToPng(featuresSvg, options), 'outDir');
  writeFileAtomic(paths.roc, rocSvg, 'outDir');
  writeFileAtomic(paths.html, html, 'outDir');
  return paths;
}
