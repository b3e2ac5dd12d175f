import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptFileError, InvalidArgumentError } from '../../src/errors.js';
import { metricNames } from '../../src/viz/curves-chart.js';
import {
  listEmbeddingSnapshots,
  readEmbeddingSnapshot,
  writeEmbeddingSnapshot,
} from '../../src/viz/embeddings-file.js';
import { featuresChart } from '../../src/viz/features-chart.js';
import { parseMetrics } from '../../src/viz/metrics-file.js';
import { formatOf, writeFileAtomic } from '../../src/viz/output.js';
import { runReportHtml } from '../../src/viz/report.js';
import { thinRoc } from '../../src/viz/roc-chart.js';

const dir = mkdtempSync(join(tmpdir(), 'faceverloss-viz-files-'));

describe('embeddings snapshot files', () => {
  it('round-trip through RUN/embeddings/epoch-NNNN.json and list in epoch order', () => {
    const run = join(dir, 'run-a');
    for (const epoch of [10, 2, 0]) {
      writeEmbeddingSnapshot(run, {
        epoch,
        labels: [0, 1],
        embeddings: [Float64Array.of(1, 2), [3, epoch]],
        classWeights: [
          [1, 0],
          [0, 1],
        ],
      });
    }
    const files = listEmbeddingSnapshots(run);
    expect(files.map((f) => f.slice(-15))).toEqual(['epoch-0000.json', 'epoch-0002.json', 'epoch-0010.json']);
    const s = readEmbeddingSnapshot(files[2]);
    expect(s).toEqual({
      epoch: 10,
      dim: 2,
      labels: [0, 1],
      embeddings: [
        [1, 2],
        [3, 10],
      ],
      classWeights: [
        [1, 0],
        [0, 1],
      ],
    });
  });

  it('rejects rows of the wrong width (writer) and broken files (reader)', () => {
    expect(() =>
      writeEmbeddingSnapshot(join(dir, 'run-b'), { epoch: 0, labels: [0, 0], embeddings: [[1, 2], [3]] }),
    ).toThrow(/snapshot\.embeddings\.1/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"epoch":0,"dim":2,"labels":[0],"embeddings":[[1,"x"]]}');
    expect(() => readEmbeddingSnapshot(bad)).toThrow(CorruptFileError);
    writeFileSync(bad, '{"epoch":0,');
    expect(() => readEmbeddingSnapshot(bad)).toThrow(/not valid JSON/);
    expect(() => listEmbeddingSnapshots(join(dir, 'missing'))).toThrow(InvalidArgumentError);
  });

  it('features chart accepts 2-D and 3-D only', () => {
    const s = { epoch: 0, dim: 4, labels: [0], embeddings: [[1, 0, 0, 0]] };
    expect(() => featuresChart(s)).toThrow(/embeddings\.dim/);
    const flat = {
      epoch: 0,
      dim: 2,
      labels: [0, 1],
      embeddings: [
        [1, 0],
        [0, 2],
      ],
    };
    expect(JSON.stringify(featuresChart(flat))).toContain('"x2":2.1');
  });
});

describe('metrics, ROC thinning and outputs', () => {
  it('metrics.jsonl: numeric series, blank lines skipped, bad lines named', () => {
    const records = parseMetrics(
      '{"step":1,"epoch":0,"loss":2.3,"acc":0.1,"lr":0.1,"note":"x"}\n\n{"step":2,"loss":2}\n',
      'm',
    );
    expect(records).toEqual([
      { step: 1, epoch: 0, loss: 2.3, acc: 0.1, lr: 0.1 },
      { step: 2, loss: 2 },
    ]);
    expect(metricNames([...records, { step: 3, zeta: 1, beta: 2 }])).toEqual([
      'loss',
      'acc',
      'lr',
      'beta',
      'zeta',
    ]);
    expect(() => parseMetrics('{"step":1}\n{"loss":1}\n', 'm.jsonl')).toThrow(/m\.jsonl: line 2/);
    expect(() => parseMetrics('not json', 'm.jsonl')).toThrow(CorruptFileError);
  });

  it('ROC thinning keeps the staircase: best TAR reached at each FAR', () => {
    // Four negatives → FARs 0, .25, .5, .75, 1; TARs after each step written out by hand.
    const roc = { name: 'r', fpr: [0, 0, 0.25, 0.25, 0.5, 1], tpr: [0, 0.5, 0.5, 1, 1, 1], negatives: 4 };
    const pts = thinRoc(roc, 2);
    // Bins at FAR .25, .5, 1 (log-spaced from 1/4 to 1).
    expect(pts).toEqual([
      { far: 0.25, tar: 1 },
      { far: 1, tar: 1 },
    ]);
    const low = thinRoc({ ...roc, fpr: [0, 0, 0.5, 1], tpr: [0, 0.5, 0.75, 1] }, 2);
    expect(low).toEqual([
      { far: 0.25, tar: 0.5 },
      { far: 0.5, tar: 0.75 },
      { far: 1, tar: 1 },
    ]);
  });

  it('output paths: extension decides the format; unwritable paths name the argument', () => {
    expect(formatOf('a/b.PNG', '--out', ['svg', 'png'])).toBe('png');
    expect(() => formatOf('a/b.jpg', '--out', ['svg', 'png'])).toThrow(/'--out'.*\.svg or \.png/);
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    expect(() => writeFileAtomic(join(file, 'sub', 'a.svg'), 'x', '--out')).toThrow(/'--out'/);
    const target = join(dir, 'nested', 'deeper', 'a.txt');
    writeFileAtomic(target, 'hello', '--out');
    expect(readFileSync(target, 'utf8')).toBe('hello');
  });

  it('report.html is self-contained: inline SVG, no scripts, no external references', async () => {
    const run = join(dir, 'run-report');
    writeEmbeddingSnapshot(run, {
      epoch: 1,
      labels: [0, 1, 1],
      embeddings: [
        [1, 0],
        [0, 1],
        [0.1, 2],
      ],
    });
    writeFileSync(
      join(run, 'metrics.jsonl'),
      '{"step":1,"loss":2,"lr":0.1}\n{"step":2,"loss":1.5,"lr":0.1}\n',
    );
    writeFileSync(join(run, 'scores.csv'), 'score,label\n0.9,1\n0.4,0\n0.8,1\n0.3,0\n');
    writeFileSync(join(run, 'config.json'), '{"head":"arcface","note":"<b>"}');
    const html = await runReportHtml(run);
    expect(html.match(/<svg /g)).toHaveLength(3);
    for (const h of ['Configuration', 'Training', 'Feature distribution', 'Verification'])
      expect(html).toContain(`<h2>${h}`);
    expect(html).toContain('&lt;b&gt;');
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|url\((?!#)|@import/i);
    // Clip-path ids are unique across the inlined figures.
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of html.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(m[1]);
  });
});
