/**
 * `faceverloss compare`: train several heads the same way (same data, seed, schedule, backbone) and
 * print one table: train accuracy, held-out verification accuracy, AUC, EER, time. Writes one run
 * folder per head under `--out` plus `summary.json` and `summary.md`.
 *
 *   compare --heads softmax,sphereface,cosface,arcface,mvsoftmax,curricularface --embedding-dim 2
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { headNames } from '../heads/registry.js';
import { createProgress, mergeTrainConfig, silentProgress, train } from '../train/index.js';
import { writeCompareFigures, writeFileAtomic } from '../viz/index.js';
import { DEMO_CONFIG, QUICK_CONFIG } from './demo.js';
import { addTrainFlags, flagsToConfig, selectBackend, type TrainFlags } from './train.js';

/** Head parameters suited to 2-D/3-D features on ten classes (face-scale defaults saturate there). */
export const SMALL_SCALE_PARAMS: Record<string, Record<string, unknown>> = {
  arcface: { scale: 16, margin: 0.3 },
  cosface: { scale: 16, margin: 0.2 },
  curricularface: { scale: 16, margin: 0.3 },
  mvsoftmax: { scale: 16, margin: 0.2 },
};

/** One row of the comparison. */
export interface CompareRow {
  head: string;
  trainAccuracy: number;
  verificationAccuracy: number;
  auc: number;
  eer: number;
  seconds: number;
}

/** The comparison as a fixed-width text table. */
export function formatCompareTable(rows: readonly CompareRow[]): string {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const header = ['head', 'train acc', 'held-out verif. acc', 'AUC', 'EER', 'time'];
  const body = rows.map((r) => [
    r.head,
    pct(r.trainAccuracy),
    pct(r.verificationAccuracy),
    r.auc.toFixed(4),
    pct(r.eer),
    `${r.seconds.toFixed(1)} s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return `${[line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')}\n`;
}

/** Registers `compare`. */
export function registerCompare(program: Command): void {
  addTrainFlags(
    program
      .command('compare')
      .description('train several heads identically and compare held-out verification accuracy')
      .option(
        '--heads <list>',
        'comma-separated head names',
        'softmax,sphereface,cosface,arcface,mvsoftmax,curricularface',
      )
      .option('--quick', 'the small --quick demo setting for every head')
      .option('--out <dir>', 'folder for one run per head and the summary', 'runs/compare'),
  ).action(async (flags: TrainFlags & { heads: string; quick?: boolean; out: string }) => {
    const { heads: list, quick, out, ...rest } = flags;
    const heads = list
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h.length > 0);
    if (heads.length === 0)
      throw new InvalidArgumentError('--heads', 'a comma-separated list of head names', list);
    for (const h of heads) {
      if (!headNames.includes(h))
        throw new InvalidArgumentError('--heads', `names from ${headNames.join(', ')}`, h);
    }
    const values = flagsToConfig(rest);
    if (values.head !== undefined)
      throw new InvalidArgumentError('--head', 'nothing (use --heads)', values.head);
    // --param applies to every head, so it is only accepted with one head.
    if (values.params !== undefined && heads.length > 1) {
      throw new InvalidArgumentError(
        '--param',
        'no --param when comparing several heads',
        flags.param.join(' '),
      );
    }
    process.stdout.write(`backend: ${await selectBackend(flags.backend)}\n`);
    const base = { ...DEMO_CONFIG, ...(quick ? QUICK_CONFIG : {}) };
    const rows: CompareRow[] = [];
    for (const head of heads) {
      const config = mergeTrainConfig(
        { ...base, head, params: SMALL_SCALE_PARAMS[head] ?? {} },
        values,
        'compare defaults',
      );
      process.stdout.write(`== ${head} ==\n`);
      const result = await train(config, {
        out: join(out, head),
        progress: process.stdout.isTTY ? createProgress(process.stdout) : silentProgress,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      const last = result.epochs[result.epochs.length - 1];
      rows.push({
        head,
        trainAccuracy: last.trainAccuracy,
        verificationAccuracy: last.verificationAccuracy,
        auc: last.auc,
        eer: last.eer,
        seconds: result.seconds,
      });
    }
    const table = formatCompareTable(rows);
    writeFileAtomic(join(out, 'summary.json'), `${JSON.stringify({ rows }, null, 2)}\n`, '--out');
    writeFileAtomic(join(out, 'summary.md'), `\`\`\`\n${table}\`\`\`\n`, '--out');
    await writeCompareFigures(
      out,
      heads.map((head) => ({ head, runDir: join(out, head) })),
    );
    process.stdout.write(
      `\n${table}summary: ${join(out, 'summary.md')}; figures: ${join(out, 'compare.html')}\n`,
    );
  });
}
