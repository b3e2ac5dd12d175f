/**
 * `report.html` for a run folder: one self-contained page (inline SVG and CSS, no scripts and no network
 * resources) with whatever the run holds: config.json, training curves (metrics.jsonl), the latest
 * feature distribution (embeddings/epoch-NNNN.json), and the ROC of scores.csv.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { curvesChart, metricNames } from './curves-chart.js';
import { listEmbeddingSnapshots, readEmbeddingSnapshot } from './embeddings-file.js';
import { featuresChart } from './features-chart.js';
import { escapeHtml, inlineSvg } from './html.js';
import { readMetrics } from './metrics-file.js';
import { writeFileAtomic } from './output.js';
import { renderSvg } from './render.js';
import { rocChart, rocFromScoresFile } from './roc-chart.js';

let figureCount = 0;
const inline = (svg: string) => inlineSvg(svg, `fig${figureCount++}-`);

const STYLE = `body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.85em}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}figure{margin:0}`;

/** Build the report HTML of a run folder (nothing is written). */
export async function runReportHtml(runDir: string): Promise<string> {
  const sections: string[] = [];
  const configPath = join(runDir, 'config.json');
  if (existsSync(configPath)) {
    const text = readFileSync(configPath, 'utf8');
    let pretty = text;
    try {
      pretty = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Shown as written when it is not valid JSON.
    }
    sections.push(`<h2>Configuration</h2><pre>${escapeHtml(pretty)}</pre>`);
  }
  const metricsPath = join(runDir, 'metrics.jsonl');
  if (existsSync(metricsPath)) {
    const records = readMetrics(metricsPath);
    if (records.length > 0) {
      const last = records[records.length - 1];
      const names = ['step', ...(last.epoch !== undefined ? ['epoch'] : []), ...metricNames(records)];
      const cells = names.map((n) => `<td>${last[n] === undefined ? '' : escapeHtml(String(last[n]))}</td>`);
      sections.push(
        `<h2>Training</h2><table><tr>${names.map((n) => `<th>${escapeHtml(n)}</th>`).join('')}</tr><tr>${cells.join('')}</tr></table>`,
        `<figure>${inline(await renderSvg(curvesChart(records)))}</figure>`,
      );
    }
  }
  const snapshots = existsSync(join(runDir, 'embeddings')) ? listEmbeddingSnapshots(runDir, 'runDir') : [];
  if (snapshots.length > 0) {
    const latest = readEmbeddingSnapshot(snapshots[snapshots.length - 1]);
    if (latest.dim === 2 || latest.dim === 3) {
      sections.push(
        `<h2>Feature distribution</h2><figure>${inline(await renderSvg(featuresChart(latest)))}</figure>`,
      );
    }
  }
  const scoresPath = join(runDir, 'scores.csv');
  if (existsSync(scoresPath)) {
    sections.push(
      `<h2>Verification</h2><figure>${inline(await renderSvg(rocChart([rocFromScoresFile(scoresPath)])))}</figure>`,
    );
  }
  if (sections.length === 0) sections.push('<p>This run folder holds nothing to report yet.</p>');
  const name = escapeHtml(basename(resolve(runDir)));
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>faceverloss run ${name}</title><style>${STYLE}</style></head>
<body><h1>Run ${name}</h1>
${sections.join('\n')}
</body></html>
`;
}

/** Write `RUN/report.html` (or `out`) for a run folder and return its path. */
export async function writeRunReport(runDir: string, out?: string): Promise<string> {
  if (typeof runDir !== 'string' || !existsSync(runDir)) {
    throw new InvalidArgumentError('runDir', 'an existing run folder', runDir);
  }
  const path = out ?? join(runDir, 'report.html');
  writeFileAtomic(path, await runReportHtml(runDir), out === undefined ? 'runDir' : 'out');
  return path;
}
