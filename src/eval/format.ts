/** Human-readable tables and JSON objects for evaluation results (used by `faceverloss eval`). */
import type { IdentificationResult } from './identification.js';
import type { VerificationReport } from './verification.js';

/** JSON has no ±Infinity: thresholds that are infinite become null. */
function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** The verification report as a JSON-ready object with the documented snake_case keys. */
export function verificationToJson(report: VerificationReport): Record<string, unknown> {
  return {
    pairs: report.pairs,
    positives: report.positives,
    negatives: report.negatives,
    accuracy: report.accuracy,
    accuracy_std: report.accuracyStd,
    threshold: report.threshold,
    fold_accuracies: Array.from(report.foldAccuracies),
    fold_thresholds: Array.from(report.foldThresholds),
    auc: report.auc,
    eer: report.eer,
    eer_threshold: finiteOrNull(report.eerThreshold),
    tar_at_far: report.tarAtFar.map((t) => ({
      far: t.far,
      tar: t.tar,
      threshold: finiteOrNull(t.threshold),
      achieved_far: t.achievedFar,
    })),
  };
}

/** The identification result as a JSON-ready object (snake_case keys). */
export function identificationToJson(result: IdentificationResult): Record<string, unknown> {
  return {
    probes: result.probes,
    identities: result.identities,
    rank1: result.rank1,
    rank5: result.rank5,
    cmc: Array.from(result.cmc),
  };
}

function pct(v: number): string {
  return `${(100 * v).toFixed(2)}%`;
}

/** 0.001 → "1e-3" (non-round targets keep two significant digits: 0.0025 → "2.5e-3"). */
function farLabel(far: number): string {
  return Number(far.toPrecision(2)).toExponential();
}

function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

/** A two-column table of the verification report. */
export function formatVerificationTable(report: VerificationReport): string {
  const rows: [string, string][] = [
    ['pairs', `${report.pairs} (${report.positives} same, ${report.negatives} different)`],
    [
      `accuracy (${report.foldAccuracies.length}-fold)`,
      `${pct(report.accuracy)} ± ${pct(report.accuracyStd)}  (mean threshold ${report.threshold.toFixed(4)})`,
    ],
    ['AUC', report.auc.toFixed(6)],
    ['EER', `${pct(report.eer)}  (threshold ${report.eerThreshold.toFixed(4)})`],
  ];
  for (const t of report.tarAtFar) {
    rows.push([`TAR @ FAR=${farLabel(t.far)}`, `${pct(t.tar)}  (threshold ${t.threshold.toFixed(4)})`]);
  }
  if (report.tarAtFar.length === 0) rows.push(['TAR @ FAR', `n/a (${report.negatives} different pairs)`]);
  return table(rows);
}

/** A two-column table of the identification result (rank-1, rank-5 and the first CMC points). */
export function formatIdentificationTable(result: IdentificationResult): string {
  const rows: [string, string][] = [
    ['probes', String(result.probes)],
    ['gallery identities', String(result.identities)],
    ['rank-1', pct(result.rank1)],
    ['rank-5', pct(result.rank5)],
  ];
  const shown = Math.min(10, result.cmc.length);
  rows.push([`CMC rank 1…${shown}`, Array.from(result.cmc.subarray(0, shown), pct).join(' ')]);
  return table(rows);
}
