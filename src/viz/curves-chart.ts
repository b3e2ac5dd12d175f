/** Training curves: one panel per metric (loss, accuracy, learning rate, then any others) over steps. */
import { InvalidArgumentError } from '../errors.js';
import type { MetricsRecord } from './metrics-file.js';
import type { VegaLiteSpec } from './render.js';

const PREFERRED = ['loss', 'acc', 'accuracy', 'lr'];
const NOT_SERIES = new Set(['step', 'epoch', 'time', 'timestamp']);
const TITLES: Record<string, string> = {
  loss: 'loss',
  acc: 'accuracy',
  accuracy: 'accuracy',
  lr: 'learning rate',
};

/** Metric names to plot, in display order. */
export function metricNames(records: readonly MetricsRecord[]): string[] {
  const names = new Set<string>();
  for (const r of records) for (const k of Object.keys(r)) if (!NOT_SERIES.has(k)) names.add(k);
  const rest = [...names].filter((n) => !PREFERRED.includes(n)).sort();
  return [...PREFERRED.filter((n) => names.has(n)), ...rest];
}

/** Stacked line charts sharing the step axis. */
export function curvesChart(records: readonly MetricsRecord[], title = 'training curves'): VegaLiteSpec {
  const names = metricNames(records);
  if (names.length === 0) {
    throw new InvalidArgumentError('metrics', 'lines with "step" and at least one other number');
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title },
    vconcat: names.map((name) => ({
      width: 520,
      height: 140,
      data: {
        values: records
          .filter((r) => typeof r[name] === 'number')
          .map((r) => ({ step: r.step, value: r[name] })),
      },
      mark: {
        type: 'line',
        strokeWidth: 1.5,
        color: '#1f4e9c',
        point: records.length <= 60 ? { color: '#1f4e9c', filled: true } : false,
      },
      encoding: {
        x: { field: 'step', type: 'quantitative', axis: { title: 'step' } },
        y: {
          field: 'value',
          type: 'quantitative',
          scale: { zero: false },
          axis: { title: TITLES[name] ?? name },
        },
      },
    })),
    spacing: 14,
  };
}
