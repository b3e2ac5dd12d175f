/**
 * The training loop: backbone + {@link HeadLayer} + the head's margin loss, stepped with
 * `tf.variableGrads` / `optimizer.applyGradients` so the loop controls head-state updates, weight
 * decay, the learning rate and divergence checks. Writes the run folder as it goes (see run-dir.ts).
 *
 * Determinism: weights, data order and flips, and the head's random draws are seeded; a checkpoint
 * stores everything the next step depends on, so stopping and resuming on the same backend continues
 * with bit-identical weights.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError, NonFiniteError } from '../errors.js';
import { farLabel } from '../eval/index.js';
import { HeadLayer } from '../tf/index.js';
import { formatTar, type HeldOutTar } from './all-pairs.js';
import { createBackbone } from './backbones/index.js';
import { checkBatch } from './batch-limit.js';
import { type LoadedCheckpoint, readCheckpoint, recoverCheckpoint, writeCheckpoint } from './checkpoint.js';
import { parseTrainConfig, type TrainConfig } from './config.js';
import { openRunData } from './data.js';
import { decodableRunData } from './decodable.js';
import { TrainingDivergedError } from './errors.js';
import { embedDataset, verifyHeldOut } from './evaluate.js';
import { createOptimizer, optimizerState, setOptimizerState } from './optimizer.js';
import { type ProgressReporter, silentProgress } from './progress.js';
import { checkResumeFields, checkResumeShapes, readSavedConfig } from './resume-check.js';
import { RunFolder } from './run-dir.js';
import { acquireRunLock, type RunLock } from './run-lock.js';
import { checkFreshOut } from './run-outputs.js';
import { clearStaleStaging, createStaging, dismantle, swapIn } from './run-staging.js';
import { learningRate } from './schedule.js';
import { warmStart } from './warm-start.js';

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
}

/** Held-out verification of one epoch. */
export interface EpochResult {
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy: number;
  verificationAccuracy: number;
  auc: number;
  eer: number;
  /** TAR at low FARs over every held-out pair (see all-pairs.ts). */
  tarAtFar: HeldOutTar[];
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

/** The hint of a divergence error: what to change, with the values this run used. */
function divergenceHint(config: TrainConfig, head: HeadLayer): string {
  const p = head.headParams;
  const margin = Object.entries(p)
    .filter(([k, v]) => typeof v === 'number' && /^(scale|margin|m\d?|s)$/.test(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return (
    `learning rate too high (--lr ${config.lr}; try 10× lower or --warmup), or a margin too large for ` +
    `the scale and data (${config.head}${margin ? ` ${margin}` : ''}; try a smaller --param margin)`
  );
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

const allFinite = (t: tf.Tensor) => tf.tidy(() => tf.all(tf.isFinite(t)).dataSync()[0] === 1);

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
  const log = options.log ?? (() => {});
  const progress = options.progress ?? silentProgress;
  let lock: RunLock | undefined;
  let staging: string | undefined;
  try {
    let resumed: LoadedCheckpoint | undefined;
    if (options.resume) {
      if (!existsSync(join(out, 'config.json')))
        throw new InvalidArgumentError('--resume', 'a run folder with config.json', options.out);
      // Locked before reading: a trainer still running there may be replacing the checkpoint.
      lock = acquireRunLock(out);
      clearStaleStaging(out);
      recoverCheckpoint(out);
      config = readSavedConfig(out, options);
      resumed = readCheckpoint(out);
      checkResumeFields(join(out, 'config.json'), config, resumed.state.config);
    } else {
      // Read-only, so a wrong --out fails before the data is opened.
      checkFreshOut(out, options.force ?? false);
    }

    // Everything is validated before the disk changes: data, split, batch, model, --init.
    const opened = await openRunData(config);
    try {
      const data = BUNDLED_DATA.includes(config.data) ? opened : await decodableRunData(opened);
      checkHeldOutPairs(data.heldout.labels, data.split);
      const { train: trainData, heldout } = data;
      checkBatch(config.batch, trainData.size ?? 0, trainData.shape);
      const { height, width, channels } = trainData.shape;
      const { backbone, head, model } = buildModel(config, [height, width, channels], trainData.numClasses);
      if (resumed) checkResumeShapes(join(out, 'config.json'), model, resumed.weights);
      const warmStarted =
        !resumed && config.init !== undefined ? warmStart(config.init, backbone, head) : undefined;
      let replaceOld = false;
      if (!resumed) {
        mkdirSync(dirname(out), { recursive: true });
        lock = acquireRunLock(out);
        clearStaleStaging(out);
        // Again under the lock: the folder may have changed since the first look.
        replaceOld = checkFreshOut(out, options.force ?? false);
        staging = createStaging(out);
      }
      const run = new RunFolder(staging ?? out);
      const opt = createOptimizer(config);
      const trainable = model.trainableWeights;
      const vars = trainable.map((w) => w.read() as tf.Variable);
      // Decay the convolution and dense kernels (not biases, PReLU slopes, norms or the class weights).
      const decay = trainable.map(
        (w) => config.weightDecay > 0 && w.shape.length >= 2 && !w.name.includes(head.name),
      );
      const size = trainData.size ?? 0;
      const stepsPerEpoch = Math.ceil(size / config.batch);
      const totalSteps = Math.min(config.epochs * stepsPerEpoch, config.maxSteps ?? Number.POSITIVE_INFINITY);

      let step = 0;
      let epochStats = { seen: 0, correct: 0, lossSum: 0 };
      let iteration = undefined as ReturnType<ReturnType<typeof trainData.batches>['getState']> | undefined;
      if (resumed) {
        model.setWeights(resumed.weights);
        for (const t of resumed.weights) t.dispose();
        head.setHeadState(head.getHeadState());
        step = resumed.state.step;
        epochStats = resumed.state.epochStats;
        iteration = resumed.state.iteration;
        if (resumed.state.rng && head.head.random) head.head.random.setState(resumed.state.rng);
        // Slots are created on the first applyGradients; one zero-learning-rate step would move momentum,
        // so restore directly (TF.js matches slots to variables by position).
        await setOptimizerState(opt.optimizer, resumed.optimizer);
        // Records written after the checkpoint are about steps this run trains again.
        if (resumed.state.metricsBytes !== undefined) run.rollbackMetrics(resumed.state.metricsBytes);
      } else {
        if (warmStarted !== undefined) log(`init: ${warmStarted}`);
        run.writeConfig(config, data.split);
      }
      log(`data: ${data.split}`);
      log(
        `train ${trainData.name}: ${size} images, ${trainData.numClasses} classes; held out ${heldout.name}: ${heldout.size} images`,
      );

      const epochs: EpochResult[] = [];
      const stream = trainData.batches({
        batchSize: config.batch,
        epochs: config.epochs,
        ...(iteration ? { state: iteration } : { seed: config.seed, flip: config.flip, shuffle: true }),
        reuseBuffers: true,
      });
      const hint = divergenceHint(config, head);
      const started = performance.now();
      let imagesThisRun = 0;

      // The step of the checkpoint in the folder, for the divergence message.
      let checkpointStep = resumed?.state.step;
      const diverged = (at: number, quantity: string) =>
        new TrainingDivergedError(at, quantity, hint, checkpointStep);
      const checkpoint = async (nextEpoch: number) => {
        for (let i = 0; i < vars.length; i++) {
          if (!allFinite(vars[i])) throw diverged(step, trainable[i].name);
        }
        await writeCheckpoint(run.dir, model, await optimizerState(opt.optimizer), {
          epoch: nextEpoch,
          step,
          iteration: stream.getState(),
          rng: head.head.random?.getState() ?? null,
          headState: head.getHeadState(),
          epochStats,
          metricsBytes: run.metricsBytes(),
          config,
        });
        checkpointStep = step;
      };

      if (staging !== undefined) {
        // A checkpoint at step 0, so a run killed before its first regular checkpoint can be resumed;
        // with it the new run is complete enough to take the place of whatever was in the folder.
        await checkpoint(0);
        swapIn(staging, out, replaceOld);
        staging = undefined;
        run.dir = out;
      }

      const endEpoch = async (epoch: number, complete: boolean) => {
        const emb = await embedDataset(backbone, heldout, 256);
        const v = verifyHeldOut(emb, Math.min(config.pairs, maxPairs(emb.labels)), config.seed);
        const W = head.kernel!.read().arraySync() as number[][];
        run.writeEmbeddings(epoch, emb, W.length > 0 && W[0].length === emb.dim ? W : undefined);
        run.writeScores(v.scores, v.same);
        const result: EpochResult = {
          epoch,
          step,
          trainLoss: epochStats.lossSum / Math.max(1, epochStats.seen),
          trainAccuracy: epochStats.correct / Math.max(1, epochStats.seen),
          verificationAccuracy: v.accuracy,
          auc: v.auc,
          eer: v.eer,
          tarAtFar: v.tarAtFar,
        };
        run.appendMetrics({
          step,
          epoch,
          train_acc: result.trainAccuracy,
          val_acc: v.accuracy,
          val_auc: v.auc,
          val_eer: v.eer,
          ...Object.fromEntries(v.tarAtFar.map((t) => [`val_tar_far_${farLabel(t.far)}`, t.tar ?? null])),
        });
        epochs.push(result);
        log(
          `epoch ${epoch + 1}: train acc ${(100 * result.trainAccuracy).toFixed(2)}%  held-out verification ` +
            `${(100 * v.accuracy).toFixed(2)}% ± ${(100 * v.accuracyStd).toFixed(2)} (10-fold, ${v.pairs} pairs)  ` +
            `AUC ${v.auc.toFixed(4)}  EER ${(100 * v.eer).toFixed(2)}%  ${formatTar(v.tarAtFar)}`,
        );
        // A stop inside an epoch keeps its running sums for the resumed part of that epoch.
        if (complete) epochStats = { seen: 0, correct: 0, lossSum: 0 };
      };

      progress.start(totalSteps, step);
      let windowStart = performance.now();
      let windowImages = 0;
      while (step < totalSteps) {
        const next = await stream.next();
        if (next.done) break;
        const batch = next.value;
        const lr = learningRate(config, step, totalSteps);
        opt.setLearningRate(lr);
        const x = tf.tensor4d(batch.images, [batch.size, height, width, channels]);
        let correct = 0;
        let stepResult: { value: tf.Scalar; grads: tf.NamedTensorMap };
        try {
          stepResult = tf.variableGrads(() => {
            const cos = model.apply(x, { training: true }) as tf.Tensor2D;
            const pred = tf.argMax(cos, 1);
            correct = tf
              .sum(tf.cast(tf.equal(pred, tf.tensor1d(batch.labels, 'int32')), 'int32'))
              .dataSync()[0];
            return head.lossFor(cos, batch.labels);
          }, vars);
        } catch (err) {
          // The head refuses non-finite embeddings or weights: the previous update diverged.
          if (err instanceof NonFiniteError) throw diverged(step + 1, `'${err.argument}' of the head`);
          throw err;
        } finally {
          x.dispose();
        }
        const { value, grads } = stepResult;
        const loss = (await value.data())[0];
        value.dispose();
        if (!Number.isFinite(loss)) {
          tf.dispose(grads);
          throw diverged(step + 1, 'loss');
        }
        if (config.clipNorm > 0) {
          const list = vars.map((v) => grads[v.name]);
          const norm = tf.tidy(() => tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
          if (!Number.isFinite(norm)) {
            tf.dispose(grads);
            throw diverged(step + 1, 'the gradient');
          }
          if (norm > config.clipNorm) {
            for (const v of vars) {
              const g = grads[v.name];
              grads[v.name] = tf.mul(g, config.clipNorm / norm);
              g.dispose();
            }
          }
        }
        const ordered = vars.map((v, i) => {
          const g = grads[v.name];
          return { name: v.name, tensor: decay[i] ? tf.add(g, tf.mul(config.weightDecay, v)) : g };
        });
        opt.optimizer.applyGradients(ordered);
        tf.dispose(grads);
        tf.dispose(ordered.map((o, i) => (decay[i] ? o.tensor : undefined)).filter((t) => t !== undefined));
        step++;
        epochStats.seen += batch.size;
        epochStats.correct += correct;
        epochStats.lossSum += loss * batch.size;
        imagesThisRun += batch.size;
        windowImages += batch.size;
        const now = performance.now();
        const ips = (windowImages / Math.max(now - windowStart, 1e-6)) * 1000;
        if (now - windowStart > 5000) {
          windowStart = now;
          windowImages = 0;
        }
        if (step % config.logEvery === 0 || step === totalSteps) {
          run.appendMetrics({
            step,
            epoch: batch.epoch,
            loss,
            acc: correct / batch.size,
            lr,
            images_per_s: ips,
          });
        }
        progress.update({
          step,
          total: totalSteps,
          epoch: batch.epoch,
          loss,
          acc: correct / batch.size,
          imagesPerSecond: ips,
        });
        if (stream.getState().position >= size) {
          // End of an epoch: evaluate on the held-out images, then checkpoint (the stream state now
          // points past this epoch, so a resumed run starts the next one).
          await endEpoch(batch.epoch, true);
          await checkpoint(batch.epoch + 1);
        } else if (
          step === totalSteps ||
          (config.checkpointEvery > 0 && step % config.checkpointEvery === 0)
        ) {
          if (step === totalSteps) await endEpoch(batch.epoch, false);
          await checkpoint(batch.epoch);
        }
      }
      progress.stop();
      const seconds = (performance.now() - started) / 1000;
      await stream.return?.();
      if (options.pictures ?? true) await run.writePictures(config.embeddingDim);
      model.dispose();
      return {
        runDir: options.out,
        config,
        steps: step,
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

/** Most balanced pairs the labels allow, capped so pair drawing stays cheap. */
function maxPairs(labels: Int32Array): number {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  let same = 0;
  for (const c of counts.values()) same += (c * (c - 1)) / 2;
  const n = labels.length;
  const diff = (n * n - [...counts.values()].reduce((a, c) => a + c * c, 0)) / 2;
  return 2 * Math.floor(Math.min(same, diff));
}
