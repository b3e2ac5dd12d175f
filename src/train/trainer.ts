/**
 * A training run: checks everything before the disk changes, opens (or resumes) the run folder, builds
 * backbone + {@link HeadLayer}, then hands the loop (loop/loop.ts) one step (loop/step.ts) and its
 * callbacks — progress, held-out evaluation, checkpoints — each in its own file under loop/.
 *
 * Determinism: weights, data order and flips, and the head's random draws are seeded; a checkpoint
 * stores everything the next step depends on, so stopping and resuming on the same backend continues
 * with bit-identical weights.
 *
 * Model-parallel (`modelParallel`: the job's communicator): every rank follows the same seeded order
 * in global batches of ranks × `batch` images and decodes and trains only its contiguous part (rank r:
 * rows r·batch … (r+1)·batch − 1) through its copy of the backbone, the class weights sharded over the ranks (loop/model-parallel-step.ts).
 * Rank 0 alone owns the run folder (lock, staging, config, metrics, evaluation, the backbone's
 * checkpoint, pictures); every rank writes only its file of RUN/head-shards/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import type { Comm } from '../parallel/comm.js';
import { HeadLayer } from '../tf/index.js';
import { createBackbone } from './backbones/index.js';
import { checkBatch } from './batch-limit.js';
import { type LoadedCheckpoint, readCheckpoint, recoverCheckpoint } from './checkpoint.js';
import { parseTrainConfig, type TrainConfig } from './config.js';
import { openRunData } from './data.js';
import { decodableRunData } from './decodable.js';
import { checkpointCallback, createCheckpointer } from './loop/checkpointing.js';
import { DivergenceGuard } from './loop/divergence.js';
import { type EpochResult, evaluationCallback, maxPairs } from './loop/evaluation.js';
import { runLoop } from './loop/loop.js';
import { createModelParallelStep } from './loop/model-parallel-step.js';
import { progressCallback } from './loop/progress.js';
import { restoreCheckpoint } from './loop/restore.js';
import { emptyEpochStats, type TrainingState } from './loop/state.js';
import { createStep } from './loop/step.js';
import { type ClassShard, loadClassShard, saveClassShard, takeRows } from './model-parallel/class-shard.js';
import { buildModelParallel } from './model-parallel/model.js';
import { checkModelParallelConfig, checkResumeMode } from './model-parallel/run-mode.js';
import { createOptimizer } from './optimizer.js';
import { type ProgressReporter, silentProgress } from './progress.js';
import { checkResumeFields, checkResumeShapes, readSavedConfig } from './resume-check.js';
import { RunFolder } from './run-dir.js';
import { acquireRunLock, type RunLock } from './run-lock.js';
import { checkFreshOut } from './run-outputs.js';
import { clearStaleStaging, createStaging, dismantle, stagingFolder, swapIn } from './run-staging.js';
import { learningRate } from './schedule.js';
import { warmStart, warmStartWith } from './warm-start.js';

export type { EpochResult } from './loop/evaluation.js';

/** Data sets in memory (no image to decode, none to check). */
const BUNDLED_DATA = ['mnist', 'fashion-mnist'];

/** Options of {@link train}. */
export interface TrainOptions {
  /**
   * Run folder. A fresh run is built beside it and put in its place once its first checkpoint exists;
   * the folder must be new, empty or a run of ours (unless `force`). Locked while the run writes it.
   */
  out: string;
  /**
   * Write a fresh run into a folder that is not a run of ours, keeping every file in it (refused when a
   * file there has the name of a run output).
   */
  force?: boolean;
  /** Continue the run in `out` from its checkpoint (its config.json is used, except the two below). */
  resume?: boolean;
  /** With `resume`: train up to this many epochs instead of the saved number. */
  epochs?: number;
  /** With `resume`: stop at this global step instead of the saved limit. */
  maxSteps?: number;
  progress?: ProgressReporter;
  /** Informational lines (split, backend, per-epoch verification). */
  log?: (line: string) => void;
  /** Render pictures and report.html at the end (default true). */
  pictures?: boolean;
  /**
   * Train model-parallel over this communicator (an `MpiComm` under `mpirun`): `batch` images per rank,
   * the class weights sharded. Every rank calls {@link train} with the same configuration. An error
   * on one rank leaves the others waiting in their next collective: end the job then (`MpiComm.abort`),
   * as `faceverloss train --model-parallel` does.
   */
  modelParallel?: Comm;
}

/** What a finished run reports. */
export interface TrainResult {
  runDir: string;
  config: TrainConfig;
  steps: number;
  epochs: EpochResult[];
  /** Wall time of the training loop (seconds), excluding pictures. */
  seconds: number;
  imagesPerSecond: number;
  split: string;
  backend: string;
}

/** Build backbone + head and the combined model (input images → cosines). */
export function buildModel(config: TrainConfig, shape: [number, number, number], classes: number) {
  const backbone = createBackbone(config.backbone, {
    inputShape: shape,
    embeddingDim: config.embeddingDim,
    seed: config.seed,
    width: config.width,
  });
  // TF.js initialisers treat seed 0 as "no seed" (random), so seeds are shifted away from 0.
  const headSeed = config.seed >= 0 ? config.seed + 1 : config.seed;
  const head = new HeadLayer({ head: config.head, params: config.params, classes, seed: headSeed });
  const output = head.apply(backbone.outputs[0]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: backbone.inputs, outputs: output, name: 'faceverloss' });
  return { backbone, head, model };
}

/** Train (or resume) a run; see {@link TrainOptions}. Throws {@link TrainingDivergedError} on NaN/Inf. */
export async function train(
  configInput: TrainConfig | undefined,
  options: TrainOptions,
): Promise<TrainResult> {
  if (typeof options.out !== 'string' || options.out.length === 0)
    throw new InvalidArgumentError('--out', 'a run folder path', options.out);
  // Absolute, because a fresh run's folder is put in place by renames in its parent.
  const out = resolve(options.out);
  let config = parseTrainConfig(configInput ?? {});
  const comm = options.modelParallel;
  // The rank that owns the run folder (the only one in an ordinary run).
  const lead = comm === undefined || comm.rank === 0;
  const log = lead ? (options.log ?? (() => {})) : () => {};
  const progress = lead ? (options.progress ?? silentProgress) : silentProgress;
  let lock: RunLock | undefined;
  let staging: string | undefined;
  try {
    let resumed: LoadedCheckpoint | undefined;
    if (options.resume) {
      if (!existsSync(join(out, 'config.json')))
        throw new InvalidArgumentError('--resume', 'a run folder with config.json', options.out);
      if (lead) {
        // Locked before reading: a trainer still running there may be replacing the checkpoint.
        lock = acquireRunLock(out);
        clearStaleStaging(out);
        recoverCheckpoint(out);
      }
      // The other ranks read the folder once rank 0 has finished what a crash interrupted.
      comm?.barrier();
      checkResumeMode(out, comm);
      config = readSavedConfig(out, options);
      resumed = readCheckpoint(out);
      checkResumeFields(join(out, 'config.json'), config, resumed.state.config);
    } else if (lead) {
      // Read-only, so a wrong --out fails before the data is opened.
      checkFreshOut(out, options.force ?? false);
    }
    if (comm) checkModelParallelConfig(config);
    // Images per step over all ranks.
    const globalBatch = config.batch * (comm?.size ?? 1);

    // Everything is validated before the disk changes: data, split, batch, model, --init.
    const opened = await openRunData(config);
    try {
      const data = BUNDLED_DATA.includes(config.data) ? opened : await decodableRunData(opened);
      checkHeldOutPairs(data.heldout.labels, data.split);
      const { train: trainData, heldout } = data;
      checkBatch(globalBatch, trainData.size ?? 0, trainData.shape);
      const { height, width, channels } = trainData.shape;
      const built: {
        backbone: tf.LayersModel;
        head?: HeadLayer;
        model: tf.LayersModel;
        shard?: ClassShard;
      } = comm
        ? buildModelParallel(config, [height, width, channels], trainData.numClasses, comm)
        : buildModel(config, [height, width, channels], trainData.numClasses);
      const { backbone, head, model, shard } = built;
      if (resumed) checkResumeShapes(join(out, 'config.json'), model, resumed.weights);
      let warmStarted: string | undefined;
      if (!resumed && config.init !== undefined) {
        warmStarted = shard
          ? warmStartWith(config.init, backbone, (classWeights) => takeRows(shard, classWeights))
          : warmStart(config.init, backbone, head as HeadLayer);
      }
      let replaceOld = false;
      // Where this rank writes: the staging folder of a fresh run until it is swapped in, then `out`.
      let runDir = out;
      if (!resumed) {
        if (lead) {
          mkdirSync(dirname(out), { recursive: true });
          lock = acquireRunLock(out);
          clearStaleStaging(out);
          // Again under the lock: the folder may have changed since the first look.
          replaceOld = checkFreshOut(out, options.force ?? false);
          staging = createStaging(out);
          runDir = staging;
        }
        if (comm) {
          // Rank 0's staging folder is named by its process id; the gather also waits until it exists.
          const pids = new Int32Array(comm.size);
          comm.allGather(Int32Array.of(process.pid), pids);
          runDir = stagingFolder(out, pids[0]);
        }
      }
      const run = new RunFolder(runDir);
      const opt = createOptimizer(config);
      const size = trainData.size ?? 0;
      // A model-parallel run drops a short last batch: every rank must contribute the same rows.
      const stepsPerEpoch = comm ? Math.floor(size / globalBatch) : Math.ceil(size / globalBatch);
      const epochSize = comm ? stepsPerEpoch * globalBatch : size;
      const totalSteps = Math.min(config.epochs * stepsPerEpoch, config.maxSteps ?? Number.POSITIVE_INFINITY);

      const state: TrainingState = { step: 0, epochStats: emptyEpochStats() };
      if (resumed) {
        await restoreCheckpoint(
          resumed,
          { model, head, optimizer: opt.optimizer, run: lead ? run : undefined },
          state,
        );
        if (comm && shard) loadClassShard(out, comm, shard, resumed.state.step);
      } else {
        if (warmStarted !== undefined) log(`init: ${warmStarted}`);
        if (lead) run.writeConfig(config, data.split, comm ? { ranks: comm.size } : undefined);
      }
      if (comm) log(`model-parallel: ${comm.size} ranks × ${config.batch} images per step`);
      log(`data: ${data.split}`);
      log(
        `train ${trainData.name}: ${size} images, ${trainData.numClasses} classes; held out ${heldout.name}: ${heldout.size} images`,
      );

      const stream = trainData.batches({
        batchSize: globalBatch,
        epochs: config.epochs,
        // Each rank decodes only its rows of the global batch, whose short last part would be unequal.
        ...(comm ? { dropLast: true, part: { index: comm.rank, count: comm.size } } : {}),
        ...(resumed
          ? { state: resumed.state.iteration }
          : { seed: config.seed, flip: config.flip, shuffle: true }),
        reuseBuffers: true,
      });
      const guard = new DivergenceGuard(config, head ?? { headParams: config.params }, resumed?.state.step);
      const writeCheckpoint = createCheckpointer({
        run,
        model,
        head,
        optimizer: opt.optimizer,
        stream,
        state,
        config,
        guard,
      });
      // A model-parallel checkpoint: every rank's shard (with the manifest), then rank 0's backbone.
      const checkpoint = async (nextEpoch: number) => {
        if (comm && shard) saveClassShard(run.dir, comm, shard, state.step);
        if (lead) await writeCheckpoint(nextEpoch);
      };
      if (!resumed) {
        // A checkpoint at step 0, so a run killed before its first regular checkpoint can be resumed;
        // with it the new run is complete enough to take the place of whatever was in the folder.
        await checkpoint(0);
        if (staging !== undefined) swapIn(staging, out, replaceOld);
        staging = undefined;
        // No rank writes into `out` before rank 0 has put the staged run (and its shards) there.
        comm?.barrier();
        run.dir = out;
      }

      const imageShape = [height, width, channels] as const;
      const step =
        comm && shard
          ? createModelParallelStep(
              { backbone, optimizer: opt.optimizer, imageShape, comm, shard },
              config,
              guard,
            )
          : createStep(
              { model, head: head as HeadLayer, optimizer: opt.optimizer, imageShape },
              config,
              guard,
            );
      const epochs: EpochResult[] = [];
      const started = performance.now();
      let imagesThisRun = 0;
      progress.start(totalSteps, state.step);
      const evaluate = evaluationCallback(
        { backbone, head, heldout, run, pairs: config.pairs, seed: config.seed, log },
        epochs,
      );
      await runLoop({
        stream,
        epochSize,
        totalSteps,
        state,
        learningRate: (at) => learningRate(config, at, totalSteps),
        trainStep: (images, labels, at, lr) => {
          opt.setLearningRate(lr);
          return step(images, labels, at, lr);
        },
        callbacks: [
          ...(lead ? [progressCallback(progress, run, config.logEvery)] : []),
          // Held-out verification needs only the backbone, the same on every rank: rank 0 evaluates and
          // the others wait for it.
          async (event) => {
            if (lead) await evaluate(event);
            if (comm && (event.epochEnded || event.step === event.totalSteps)) comm.barrier();
          },
          checkpointCallback(checkpoint, config.checkpointEvery),
          (event) => {
            imagesThisRun += event.batchSize;
          },
        ],
      });
      progress.stop();
      const seconds = (performance.now() - started) / 1000;
      await stream.return?.();
      if (lead && (options.pictures ?? true)) await run.writePictures(config.embeddingDim);
      model.dispose();
      return {
        runDir: options.out,
        config,
        steps: state.step,
        epochs,
        seconds,
        imagesPerSecond: imagesThisRun / Math.max(seconds, 1e-9),
        split: data.split,
        backend: tf.getBackend(),
      };
    } finally {
      await opened.close();
    }
  } finally {
    // A fresh run that failed before its swap leaves nothing: its staging folder holds only its own files.
    if (staging !== undefined) dismantle(staging, out);
    lock?.release();
  }
}

/** Fewest verification pairs worth scoring: one per fold of the 10-fold accuracy. */
const MIN_HELD_OUT_PAIRS = 10;

/** Refuse a split whose held-out images cannot give the 10-fold verification enough pairs. */
function checkHeldOutPairs(labels: Int32Array | undefined, split: string): void {
  if (labels === undefined) return;
  const available = maxPairs(labels);
  if (available < MIN_HELD_OUT_PAIRS) {
    throw new InvalidArgumentError(
      '--train-per-class',
      `a split leaving held-out images for at least ${MIN_HELD_OUT_PAIRS} balanced verification pairs ` +
        `(this one leaves ${labels.length} held-out images giving ${available}; lower --train-per-class or ` +
        `use more images per identity)`,
      split,
    );
  }
}
