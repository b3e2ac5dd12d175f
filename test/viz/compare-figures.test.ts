import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptFileError, InvalidArgumentError } from '../../src/errors.js';
import { writeCompareFigures } from '../../src/viz/compare-figures.js';
import { writeEmbeddingSnapshot } from '../../src/viz/embeddings-file.js';

const dir = mkdtempSync(join(tmpdir(), 'faceverloss-viz-compare-'));

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from the IHDR chunk, after checking the signature and the chunk name. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  expect(Array.from(png.slice(0, 8))).toEqual(PNG_SIGNATURE);
  expect(String.fromCharCode(...png.slice(12, 16))).toBe('IHDR');
  const v = new DataView(png.buffer, png.byteOffset);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/** Small deterministic generator so the fixtures do not depend on Math.random. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Fixture {
  head: string;
  runDir: string;
  /** The last val_acc written to metrics.jsonl. */
  accuracy: number;
  scores: number[];
  labels: number[];
}

/**
 * A run folder as training leaves it: two epochs of embeddings (`dim` 2 or 3, or none), metrics.jsonl
 * with two epoch records and a later step record without val_acc, and scores.csv.
 */
function makeRun(head: string, dim: 0 | 2 | 3 | 5, accuracy: number, seed: number): Fixture {
  const runDir = join(dir, 'runs', head);
  mkdirSync(runDir, { recursive: true });
  const rand = lcg(seed);
  const classes = 4;
  const labels = Array.from({ length: 40 }, (_, i) => i % classes);
  if (dim > 0) {
    for (const epoch of [0, 1]) {
      const embeddings = labels.map((c) =>
        Array.from({ length: dim }, (_, d) => (d === c % dim ? 2 : 0) + (rand() - 0.5) * (2 - epoch)),
      );
      writeEmbeddingSnapshot(runDir, { epoch, labels, embeddings });
    }
  }
  const metrics = [
    { step: 10, epoch: 0, train_acc: 0.4, val_acc: accuracy - 0.2, val_auc: 0.7, val_eer: 0.3 },
    { step: 20, epoch: 1, train_acc: 0.8, val_acc: accuracy, val_auc: 0.9, val_eer: 0.1 },
    { step: 25, epoch: 2, loss: 0.5, acc: 0.85 },
  ];
  writeFileSync(join(runDir, 'metrics.jsonl'), `${metrics.map((m) => JSON.stringify(m)).join('\n')}\n`);
  const pairLabels = Array.from({ length: 60 }, (_, i) => i % 2);
  const scores = pairLabels.map((y) => rand() + (y === 1 ? 0.4 : 0));
  writeFileSync(
    join(runDir, 'scores.csv'),
    `score,label\n${scores.map((s, i) => `${s},${pairLabels[i]}`).join('\n')}\n`,
  );
  return { head, runDir, accuracy, scores, labels: pairLabels };
}

/** AUC by counting pairs of (same, different) scores, ties counting one half. */
function bruteAuc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((p, i) => {
    if (labels[i] !== 1) return;
    scores.forEach((n, j) => {
      if (labels[j] !== 0) return;
      pairs++;
      wins += p > n ? 1 : p === n ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

const runs = [
  makeRun('softmax', 2, 0.8125, 1),
  makeRun('cosface', 2, 0.9375, 2),
  makeRun('arcface', 3, 0.9531, 3),
  makeRun('sphereface', 0, 0.875, 4),
];
const asRuns = (fs: Fixture[]) => fs.map(({ head, runDir }) => ({ head, runDir }));
const pctOf = (v: number) => `${(100 * v).toFixed(2)}%`;

describe('writeCompareFigures', () => {
  it('writes the features grid, the ROC and the page for a comparison folder', async () => {
    const out = join(dir, 'all');
    mkdirSync(out);
    const summary = runs.map((r, i) => ({
      head: r.head,
      trainAccuracy: 0.5 + 0.1 * i,
      verificationAccuracy: r.accuracy,
      auc: 0.91 + 0.01 * i,
      eer: 0.125 - 0.01 * i,
      seconds: 12.25 + i,
    }));
    writeFileSync(join(out, 'summary.json'), JSON.stringify({ rows: summary }));
    writeFileSync(join(runs[0].runDir, 'report.html'), '<!DOCTYPE html>');

    const paths = await writeCompareFigures(out, asRuns(runs));
    for (const p of Object.values(paths)) expect(existsSync(p)).toBe(true);

    const svg = readFileSync(paths.featuresSvg, 'utf8');
    for (const r of runs) {
      // The last val_acc, not the earlier epoch's, and not lost to the later step line.
      expect(svg).toContain(`>${r.head}: ${pctOf(r.accuracy)}<`);
      expect(svg).not.toContain(pctOf(r.accuracy - 0.2));
    }
    expect(svg.match(/>held-out verification accuracy</g)?.length).toBe(runs.length);
    expect(svg).toContain('no embeddings/ snapshots in this run');
    // 3-D panels are two sphere views.
    expect(svg).toContain('azimuth 30°, elevation 20°');
    // Panels appear in the given order.
    const at = runs.map((r) => svg.indexOf(`>${r.head}: `));
    expect([...at].sort((a, b) => a - b)).toEqual(at);

    const roc = readFileSync(paths.roc, 'utf8');
    for (const r of runs) {
      const area = bruteAuc(r.scores, r.labels);
      expect(roc).toContain(`${r.head} (AUC ${area.toFixed(4)})`);
    }
    const legend = runs.map((r) => roc.indexOf(`>${r.head} (AUC`));
    expect([...legend].sort((a, b) => a - b)).toEqual(legend);

    const html = readFileSync(paths.html, 'utf8');
    for (const row of summary) {
      expect(html).toContain(`<td>${row.head}</td>`);
      expect(html).toContain(`<td>${pctOf(row.trainAccuracy)}</td>`);
      expect(html).toContain(`<td>${pctOf(row.verificationAccuracy)}</td>`);
      expect(html).toContain(`<td>${row.auc.toFixed(4)}</td>`);
      expect(html).toContain(`<td>${pctOf(row.eer)}</td>`);
      expect(html).toContain(`<td>${row.seconds.toFixed(1)} s</td>`);
    }
    expect(html).toContain('href="../runs/softmax/report.html"');
    expect(html).toContain('cosface: no report.html yet');
    expect(html.match(/<svg/g)?.length).toBe(2);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('the PNG grows with the panels: wider up to three columns, then a second row', async () => {
    const sizes = [];
    for (const n of [1, 3, 4]) {
      const paths = await writeCompareFigures(join(dir, `grid-${n}`), asRuns(runs.slice(0, n)), {
        size: 120,
        scale: 1,
      });
      sizes.push(pngSize(readFileSync(paths.featuresPng)));
    }
    const [one, three, four] = sizes;
    // Three panels of 120 px (plus axes and spacing) add at least 2 × 120 px of width.
    expect(three.width - one.width).toBeGreaterThanOrEqual(240);
    expect(Math.abs(three.height - one.height)).toBeLessThanOrEqual(40);
    // The fourth panel wraps: the grid keeps three columns (a long panel title may widen one).
    expect(four.width - three.width).toBeGreaterThanOrEqual(0);
    expect(four.width - three.width).toBeLessThan(120);
    expect(four.height - three.height).toBeGreaterThanOrEqual(120);
  });

  it('a run with embeddings that are neither 2-D nor 3-D gets a panel that says so', async () => {
    const wide = makeRun('adaface', 5, 0.75, 5);
    const hollow = makeRun('magface', 0, 0.7, 6);
    mkdirSync(join(hollow.runDir, 'embeddings'));
    const paths = await writeCompareFigures(join(dir, 'wide'), asRuns([runs[0], wide, hollow]), {
      size: 120,
    });
    const svg = readFileSync(paths.featuresSvg, 'utf8');
    expect(svg).toContain('5-D embeddings (only 2-D/3-D drawn)');
    expect(svg).toContain(`>adaface: ${pctOf(0.75)}<`);
    // An empty embeddings/ folder is a run without snapshots, not an error.
    expect(svg).toContain(`>magface: ${pctOf(0.7)}<`);
    expect(svg).toContain('no embeddings/ snapshots in this run');
    // Without summary.json the page has no table but still both figures.
    const html = readFileSync(paths.html, 'utf8');
    expect(html).not.toContain('<table>');
    expect(html.match(/<svg/g)?.length).toBe(2);
  });

  it('missing run folders and files are typed errors naming the path, and nothing is written', async () => {
    const out = join(dir, 'broken');
    const missing = join(dir, 'runs', 'nope');
    await expect(
      writeCompareFigures(out, [...asRuns(runs.slice(0, 1)), { head: 'nope', runDir: missing }]),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(writeCompareFigures(out, [{ head: 'nope', runDir: missing }])).rejects.toThrow(
      /runs\[0\]\.runDir.*runs\/nope/,
    );
    const empty = join(dir, 'runs', 'empty');
    mkdirSync(empty);
    await expect(writeCompareFigures(out, [{ head: 'empty', runDir: empty }])).rejects.toThrow(
      new CorruptFileError(join(empty, 'metrics.jsonl'), 'x').message.replace(/: x$/, ''),
    );
    writeFileSync(join(empty, 'metrics.jsonl'), '{"step":1,"val_acc":0.5}\n');
    const err = await writeCompareFigures(out, [{ head: 'empty', runDir: empty }]).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect((err as CorruptFileError).path).toBe(join(empty, 'scores.csv'));
    await expect(writeCompareFigures(out, [])).rejects.toThrow(/'runs'/);
    await expect(writeCompareFigures(out, asRuns([runs[0], runs[0]]))).rejects.toThrow(/runs\[1\]\.head/);
    expect(existsSync(out)).toBe(false);
  });
});
