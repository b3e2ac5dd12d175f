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
import { angularStatistics } from '../eval/index.js';
import { headNames } from '../heads/registry.js';
import {
  createProgress,
  mergeTrainConfig,
  openRunData,
  silentProgress,
  type TrainConfig,
  train,
} from '../train/index.js';
import {
  type CompareRow,
  formatCompareTable,
  listEmbeddingSnapshots,
  readEmbeddingSnapshot,
  writeCompareFigures,
  writeFileAtomic,
} from '../viz/index.js';
import { DEMO_CONFIG, QUICK_CONFIG } from './demo.js';
import { addTrainFlags, flagsToConfig, selectBackend, type TrainFlags } from './train.js';

/** Head parameters suited to 2-D/3-D features on ten classes (face-scale defaults saturate there). */
export const SMALL_SCALE_PARAMS: Record<string, Record<string, unknown>> = {
  arcface: { scale: 16, margin: 0.3 },
  cosface: { scale: 16, margin: 0.2 },
  curricularface: { scale: 16, margin: 0.3 },
  mvsoftmax: { scale: 16, margin: 0.2 },
};

/**
 * The comparison's training budget: every training digit of the package (700 per class), 6 epochs. The
 * normalised heads need more steps than the demo's three epochs: their feature gradient is ∝ s/‖x‖, so
 * early steps are clipped (global norm 2, after a 150-step warm-up) and the angular clusters tighten
 * slowly. What these settings measure is in docs/compare.md.
 */
export const COMPARE_CONFIG = { ...DEMO_CONFIG, epochs: 6 } as const;

/**
 * SphereFace anneals λ (the weight of plain cos θ in its blended target) per iteration: with the paper's
 * λ = 1000·(1 + 0.12·iter)^−1 it reaches its floor of 5 after ~3,300 iterations, so a comparison of a
 * few hundred steps would end while SphereFace is still mostly softmax. γ is set so λ reaches the floor
 * halfway through the run instead.
 */
export function spherefaceForBudget(totalSteps: number): Record<string, unknown> {
  const base = 1000;
  const floor = 5;
  return { lambdaGamma: (base / floor - 1) / Math.max(1, totalSteps / 2) };
}

/** Steps the run will take: epochs × batches per epoch of its training split, or --max-steps. */
async function totalSteps(config: TrainConfig): Promise<number> {
  const data = await openRunData(config);
  try {
    const steps = config.epochs * Math.ceil((data.train.size ?? 0) / config.batch);
    return Math.min(steps, config.maxSteps ?? steps);
  } finally {
    await data.close();
  }
}

/**
 * Angular statistics of the run's last held-out embeddings (see angularStatistics): the mean angle of a
 * held-out image to its class centre, the smallest angle between class centres, and their ratio.
 */
function heldOutAngles(runDir: string): Pick<CompareRow, 'intraAngle' | 'interAngle' | 'separation'> {
  const files = listEmbeddingSnapshots(runDir);
  if (files.length === 0) return {};
  const snap = readEmbeddingSnapshot(files[files.length - 1]);
  const a = angularStatistics(snap.embeddings.flat(), snap.labels, snap.dim);
  return { intraAngle: a.intraMean, interAngle: a.interMin, separation: a.separation };
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
    const base = { ...COMPARE_CONFIG, ...(quick ? QUICK_CONFIG : {}) };
    const rows: CompareRow[] = [];
    for (const head of heads) {
      let config = mergeTrainConfig(
        { ...base, head, params: SMALL_SCALE_PARAMS[head] ?? {} },
        values,
        'compare defaults',
      );
      if (head === 'sphereface' && values.params === undefined) {
        config = mergeTrainConfig(
          { ...base, head, params: spherefaceForBudget(await totalSteps(config)) },
          values,
          'compare defaults',
        );
      }
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
        ...heldOutAngles(join(out, head)),
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
