/**
 * `faceverloss plot`: pictures as SVG / PNG (GIF for animations).
 *
 *   plot boundary --head arcface [--param margin=0.3] [--state t=0.5] [--space angle|cosine|both] --out F
 *   plot boundary --all --out gallery.png
 *   plot features RUN|FILE --out F.png            (2-D plane or 3-D sphere)
 *   plot features RUN --animate --out F.gif       (one frame per epoch snapshot)
 *   plot roc scores.csv [more.csv …] --out F.svg  (log-FAR axis)
 *   plot curves RUN|metrics.jsonl --out F.svg
 *   plot report RUN [--out F.html]
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { headNames } from '../heads/registry.js';
import type { BoundarySpace } from '../viz/boundary.js';
import { boundaryChart, galleryChart, headBoundaries } from '../viz/boundary-chart.js';
import { curvesChart } from '../viz/curves-chart.js';
import { listEmbeddingSnapshots, readEmbeddingSnapshot } from '../viz/embeddings-file.js';
import { featuresGif } from '../viz/features-animation.js';
import { featuresChart } from '../viz/features-chart.js';
import { readMetrics } from '../viz/metrics-file.js';
import { formatOf, writeChart, writeFileAtomic } from '../viz/output.js';
import { writeRunReport } from '../viz/report.js';
import { rocChart, rocFromScoresFile } from '../viz/roc-chart.js';

/** Hooks for embedding the command (tests). */
export interface PlotCommandOptions {
  /** Where the "wrote PATH" lines go (default: standard output). */
  readonly write?: (text: string) => void;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Parse repeated `key=value` options; values are JSON when they parse (numbers, booleans, null). */
export function parseAssignments(items: readonly string[], argument: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(argument, 'key=value (e.g. margin=0.3)', item);
    const key = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1).trim();
    if (raw === '') throw new InvalidArgumentError(`${argument} ${key}`, 'a value after =', item);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON: a plain string such as an enum value (fallback=none).
    }
    out[key] = value;
  }
  return out;
}

function parseState(items: readonly string[]): Record<string, number> {
  const values = parseAssignments(items, '--state');
  for (const [k, v] of Object.entries(values)) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new InvalidArgumentError(`--state ${k}`, 'a finite number', v);
  }
  return values as Record<string, number>;
}

function parseSpaces(space: string): BoundarySpace[] {
  if (space === 'both') return ['angle', 'cosine'];
  if (space === 'angle' || space === 'cosine') return [space];
  throw new InvalidArgumentError('--space', 'angle, cosine or both', space);
}

function parseResolution(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 11 || n > 1001)
    throw new InvalidArgumentError('--resolution', 'an integer in [11, 1001]', value);
  return n;
}

/** An input path must exist before anything else about the command is judged. */
function requireInput(path: string, argument: string, expected: string): void {
  if (!existsSync(path)) throw new InvalidArgumentError(argument, expected, path);
}

function requireOut(out: string | undefined, formats: readonly string[]): string {
  if (out === undefined) {
    throw new InvalidArgumentError(
      '--out',
      `a file path ending in ${formats.map((f) => `.${f}`).join(' or ')}`,
    );
  }
  formatOf(out, '--out', formats);
  return out;
}

interface BoundaryFlags {
  head?: string;
  all?: boolean;
  param: string[];
  state: string[];
  space: string;
  resolution?: string;
  out?: string;
}

export function registerPlot(program: Command, options: PlotCommandOptions = {}): void {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const wrote = (path: string) => write(`wrote ${path}\n`);
  const plot = program
    .command('plot')
    .description('draw decision boundaries, features, ROC and training curves');

  plot
    .command('boundary')
    .description("a head's binary decision boundary in the angle and cosine planes (or --all heads)")
    .option('--head <name>', `head: ${headNames.join(', ')}`)
    .option('--all', 'every head side by side (angle plane)')
    .option('--param <key=value>', 'head parameter (repeatable)', collect, [])
    .option(
      '--state <key=value>',
      'head state entry, e.g. t=0.5 for CurricularFace (repeatable)',
      collect,
      [],
    )
    .option('--space <plane>', 'angle, cosine or both', 'both')
    .option('--resolution <n>', 'grid points per axis')
    .option('--out <file>', 'output .svg or .png')
    .action(async (flags: BoundaryFlags) => {
      const out = requireOut(flags.out, ['svg', 'png']);
      if (flags.all) {
        if (flags.head !== undefined)
          throw new InvalidArgumentError('--head', 'no head together with --all', flags.head);
        await writeChart(
          galleryChart(headNames, { resolution: parseResolution(flags.resolution, 121) }),
          out,
          '--out',
        );
        wrote(out);
        return;
      }
      if (flags.head === undefined)
        throw new InvalidArgumentError('--head', `a head name (${headNames.join(', ')}) or --all`);
      if (!headNames.includes(flags.head)) {
        throw new InvalidArgumentError('--head', `one of ${headNames.join(', ')}`, flags.head);
      }
      const spaces = parseSpaces(flags.space);
      const data = headBoundaries(flags.head, {
        params: parseAssignments(flags.param, '--param'),
        state: parseState(flags.state),
        spaces,
        resolution: parseResolution(flags.resolution, 201),
      });
      await writeChart(boundaryChart(data, spaces), out, '--out');
      wrote(out);
    });

  plot
    .command('features')
    .description('embeddings coloured by class: 2-D plane or 3-D sphere (RUN/embeddings/epoch-NNNN.json)')
    .argument('<source>', 'run folder or embeddings snapshot file')
    .option('--epoch <n>', 'epoch to draw (default: the latest)')
    .option('--animate', 'one GIF frame per epoch snapshot')
    .option('--delay <ms>', 'GIF frame delay in milliseconds', '700')
    .option('--out <file>', 'output .svg or .png (.gif with --animate)')
    .action(
      async (source: string, flags: { epoch?: string; animate?: boolean; delay: string; out?: string }) => {
        // A missing source is reported first; then the output path is checked before any file is read,
        // so a typo in either costs nothing.
        requireInput(source, 'source', 'an existing run folder or embeddings snapshot file');
        const out = requireOut(flags.out, flags.animate ? ['gif'] : ['svg', 'png']);
        const files = listEmbeddingSnapshots(source, 'source');
        if (flags.animate) {
          const delay = Number(flags.delay);
          if (!Number.isInteger(delay) || delay < 10 || delay > 60000) {
            throw new InvalidArgumentError(
              '--delay',
              'an integer number of milliseconds in [10, 60000]',
              flags.delay,
            );
          }
          writeFileAtomic(out, await featuresGif(files, { delayMs: delay }), '--out');
          wrote(out);
          return;
        }
        let snapshot = readEmbeddingSnapshot(files[files.length - 1]);
        if (flags.epoch !== undefined) {
          const epoch = Number(flags.epoch);
          const match = files.map((f) => readEmbeddingSnapshot(f)).find((s) => s.epoch === epoch);
          if (!match)
            throw new InvalidArgumentError('--epoch', `an epoch with a snapshot in ${source}`, flags.epoch);
          snapshot = match;
        }
        await writeChart(featuresChart(snapshot), out, '--out');
        wrote(out);
      },
    );

  plot
    .command('roc')
    .description('ROC curves (TAR against log FAR) from score,label CSV files')
    .argument('<scores...>', 'score CSV files (header with score and label columns)')
    .option('--title <text>', 'chart title', 'ROC')
    .option('--out <file>', 'output .svg or .png')
    .action(async (scores: string[], flags: { title: string; out?: string }) => {
      for (const file of scores) requireInput(file, 'scores', 'existing score CSV files');
      const out = requireOut(flags.out, ['svg', 'png']);
      await writeChart(rocChart(scores.map(rocFromScoresFile), flags.title), out, '--out');
      wrote(out);
    });

  plot
    .command('curves')
    .description('loss, accuracy and learning rate over steps from RUN/metrics.jsonl')
    .argument('<run>', 'run folder or metrics.jsonl file')
    .option('--out <file>', 'output .svg or .png')
    .action(async (run: string, flags: { out?: string }) => {
      // The input is named first: a missing run is the problem to report, whatever --out says.
      requireInput(run, 'run', 'an existing run folder or metrics.jsonl file');
      const out = requireOut(flags.out, ['svg', 'png']);
      const path = statSync(run).isDirectory() ? join(run, 'metrics.jsonl') : run;
      await writeChart(curvesChart(readMetrics(path)), out, '--out');
      wrote(out);
    });

  plot
    .command('report')
    .description('self-contained report.html for a run folder')
    .argument('<run>', 'run folder')
    .option('--out <file>', 'output .html (default RUN/report.html)')
    .action(async (run: string, flags: { out?: string }) => {
      if (flags.out !== undefined) formatOf(flags.out, '--out', ['html']);
      wrote(await writeRunReport(run, flags.out));
    });
}
