/**
 * Training metrics: `RUN/metrics.jsonl`, one JSON object per line, written as training goes, e.g.
 * `{"step":1,"epoch":0,"loss":2.3,"acc":0.1,"lr":0.1}`. `step` is required; every other numeric field is
 * a series to plot. Blank lines are ignored.
 */
import { CorruptFileError } from '../errors.js';
import { MiB, readRegularFile } from '../regular-file.js';

/** One metrics line: `step` plus named numbers. */
export type MetricsRecord = { step: number } & Record<string, number>;

/** Parse metrics.jsonl text; `source` names the file in errors. */
export function parseMetrics(text: string, source: string): MetricsRecord[] {
  const out: MetricsRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CorruptFileError(source, `line ${i + 1}: not valid JSON`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new CorruptFileError(source, `line ${i + 1}: expected a JSON object`);
    }
    const record = value as Record<string, unknown>;
    if (typeof record.step !== 'number' || !Number.isFinite(record.step)) {
      throw new CorruptFileError(source, `line ${i + 1}: expected a numeric "step"`);
    }
    const numbers: Record<string, number> = {};
    for (const [k, v] of Object.entries(record))
      if (typeof v === 'number' && Number.isFinite(v)) numbers[k] = v;
    out.push(numbers as MetricsRecord);
  });
  return out;
}

/** Largest metrics.jsonl read (a line per logged step is about 100 bytes). */
const METRICS_MAX_BYTES = 256 * MiB;

/** Read a metrics.jsonl file. */
export function readMetrics(path: string): MetricsRecord[] {
  // Regular files only (a pipe or device is refused, never waited on), within a cap far above any run.
  const text = readRegularFile(path, {
    what: 'a metrics.jsonl file (one JSON object per line)',
    maxBytes: METRICS_MAX_BYTES,
  });
  return parseMetrics(text.toString('utf8'), path);
}
