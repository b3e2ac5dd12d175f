/**
 * `faceverloss compare`: train several heads the same way (same data, seed, schedule, backbone, and the
 * same softmax-trained starting weights) and print one table: train accuracy, held-out verification
 * accuracy, AUC, EER, TAR at low FAR, angular statistics, time. Writes `--out/warm-start`, one run folder
 * per head, `summary.json`, `summary.md` and the side-by-side figures. Heads train in parallel processes
 * (compare-jobs.ts).
 *
 *   compare --heads softmax,sphereface,cosface,arcface,mvsoftmax,curricularface --embedding-dim 2
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { angularStatistics } from '../eval/index.js';
import { headDefinition, headNames } from '../heads/registry.js';
import { acquireRunLock, mergeTrainConfig, openRunData, type TrainConfig } from '../train/index.js';
import {
  type CompareRow,
  formatCompareTable,
  listEmbeddingSnapshots,
  readEmbeddingSnapshot,
  writeCompareFigures,
  writeFileAtomic,
} from '../viz/index.js';
import { defaultJobs, type HeadRun, type HeadRunResult, runHeads } from './compare-jobs.js';
import { DEMO_CONFIG, QUICK_CONFIG, QUICK_WARM_START_EPOCHS } from './demo.js';
import { parseCount, type SharedStart, sharedStart, warmStartHelp } from './shared-start.js';
import { addTrainFlags, flagsToConfig, selectBackend, type TrainFlags } from './train.js';

/**
 * The comparison's budget: every training digit of the package (700 per class), a shared softmax start of
 * COMPARE_WARM_START_EPOCHS epochs, then 8 epochs per head. Verification uses 160 held-out digits per class (all
 * that the smallest class, 5, has left), so TAR at 1e-3 FAR rests on 1.28 M pairs. What these settings
 * measure, and what training from random weights gives instead, is in docs/compare.md.
 */
export const COMPARE_CONFIG = { ...DEMO_CONFIG, epochs: 8, heldoutPerClass: 160, pairs: 6000 } as const;

/**
 * Epochs of the softmax run every head starts from (see src/train/warm-start.ts). From random weights in
 * 2-D, MV-Softmax and CurricularFace fold their class weights onto two directions (train accuracy 20 %).
 */
export const COMPARE_WARM_START_EPOCHS = 4;

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

/** The flags of `compare`: the training flags plus its own. */
type CompareFlags = TrainFlags & {
  heads: string;
  quick?: boolean;
  out: string;
  jobs?: string;
  warmStartEpochs?: string;
};

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
      .option('--jobs <n>', 'heads trained at once, each in its own process (default: one per core)')
      .option('--warm-start-epochs <n>', warmStartHelp(COMPARE_WARM_START_EPOCHS))
      .option('--out <dir>', 'folder for one run per head and the summary', 'runs/compare'),
  ).action(compare);
}

/** The head names of --heads, each checked against the registry. */
function parseHeads(list: string): string[] {
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
  return heads;
}

/** Each head's run: the shared settings, the head's small-scale parameters, and the shared start. */
async function headRuns(
  heads: readonly string[],
  base: Record<string, unknown>,
  values: Record<string, unknown>,
  out: string,
): Promise<HeadRun[]> {
  const runs: HeadRun[] = [];
  for (const head of heads) {
    const small = headDefinition(head).smallScale;
    let config = mergeTrainConfig(
      { ...base, head, params: small?.compare ?? {} },
      values,
      'compare defaults',
    );
    // Parameters that follow the run's length (SphereFace's λ annealing) need its step count first.
    if (small?.compareForSteps && values.params === undefined) {
      config = mergeTrainConfig(
        { ...base, head, params: small.compareForSteps(await totalSteps(config)) },
        values,
        'compare defaults',
      );
    }
    runs.push({ head, config, out: join(out, head) });
  }
  return runs;
}

/** The table row of a finished head run. */
function compareRow({ head, last, seconds }: HeadRunResult, out: string): CompareRow {
  return {
    head,
    trainAccuracy: last.trainAccuracy,
    verificationAccuracy: last.verificationAccuracy,
    auc: last.auc,
    eer: last.eer,
    tarAtFar: last.tarAtFar.map((t) => (t.tar === undefined ? { far: t.far } : { far: t.far, tar: t.tar })),
    ...heldOutAngles(join(out, head)),
    seconds,
  };
}

/** `compare`: validate every configuration, train the shared start, then every head; write the table and figures. */
async function compare(flags: CompareFlags): Promise<void> {
  const { heads: list, quick, out, jobs: jobsFlag, warmStartEpochs: warmFlag, ...rest } = flags;
  const heads = parseHeads(list);
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
  const jobs = jobsFlag === undefined ? defaultJobs(heads.length) : parseCount('--jobs', jobsFlag, 1);
  const defaultWarm = quick ? QUICK_WARM_START_EPOCHS : COMPARE_WARM_START_EPOCHS;
  const warmEpochs = warmFlag === undefined ? defaultWarm : parseCount('--warm-start-epochs', warmFlag, 0);
  const base = { ...COMPARE_CONFIG, ...(quick ? QUICK_CONFIG : {}) };

  const start = sharedStart(out, base, values, warmEpochs, 'compare defaults');
  // Every configuration is validated before anything trains or is written.
  const runs = await headRuns(heads, start ? { ...base, init: start.out } : base, values, out);

  // The comparison folder is locked like a run folder: a second compare into it would mix the heads'
  // runs of two comparisons in one table. Each head's run folder has its own lock (taken by train).
  mkdirSync(dirname(resolve(out)), { recursive: true });
  const lock = acquireRunLock(out);
  try {
    await compareLocked(flags, runs, start, jobs, heads, out);
  } finally {
    lock.release();
  }
}

/** Train the shared start and every head, then write the table and figures (under the folder's lock). */
async function compareLocked(
  flags: CompareFlags,
  runs: HeadRun[],
  start: SharedStart | undefined,
  jobs: number,
  heads: string[],
  out: string,
): Promise<void> {
  const write = (text: string) => process.stdout.write(text);
  write(`backend: ${await selectBackend(flags.backend)}\n`);
  if (start) await runHeads([{ head: 'warm-start (softmax)', ...start }], { jobs: 1, write });
  const results = await runHeads(runs, { jobs, backend: flags.backend, write });

  const rows = results.map((r) => compareRow(r, out));
  const table = formatCompareTable(rows);
  writeFileAtomic(join(out, 'summary.json'), `${JSON.stringify({ rows }, null, 2)}\n`, '--out');
  writeFileAtomic(join(out, 'summary.md'), `\`\`\`\n${table}\`\`\`\n`, '--out');
  await writeCompareFigures(
    out,
    heads.map((head) => ({ head, runDir: join(out, head) })),
  );
  write(`\n${table}summary: ${join(out, 'summary.md')}; figures: ${join(out, 'compare.html')}\n`);
}
