/**
 * Held-out evaluation after every epoch (and after the last step when it falls inside one): embed the
 * held-out images, verify pairs, write embeddings, scores and a metrics record, log the epoch line.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../data/index.js';
import { farLabel } from '../../eval/index.js';
import type { HeadLayer } from '../../tf/index.js';
import { formatTar, type HeldOutTar } from '../all-pairs.js';
import { embedDataset, verifyHeldOut } from '../evaluate.js';
import type { RunFolder } from '../run-dir.js';
import type { EpochStats, StepCallback } from './state.js';

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

export interface EvaluationInput {
  backbone: tf.LayersModel;
  /** The head whose class weights go into the embedding snapshots (absent: none are written). */
  head?: HeadLayer;
  heldout: Dataset;
  run: RunFolder;
  /** Balanced pairs for the 10-fold accuracy (capped by what the held-out labels allow). */
  pairs: number;
  seed: number;
  log: (line: string) => void;
}

/** Most balanced pairs the labels allow, capped so pair drawing stays cheap. */
export function maxPairs(labels: Int32Array): number {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  let same = 0;
  for (const c of counts.values()) same += (c * (c - 1)) / 2;
  const n = labels.length;
  const diff = (n * n - [...counts.values()].reduce((a, c) => a + c * c, 0)) / 2;
  return 2 * Math.floor(Math.min(same, diff));
}

/** Evaluate the backbone as it is after `step` steps of `epoch`, with that epoch's running sums. */
export async function evaluateEpoch(
  input: EvaluationInput,
  epoch: number,
  step: number,
  stats: EpochStats,
): Promise<EpochResult> {
  const { backbone, head, heldout, run, log } = input;
  const emb = await embedDataset(backbone, heldout, 256);
  const v = verifyHeldOut(emb, Math.min(input.pairs, maxPairs(emb.labels)), input.seed);
  const W = head?.kernel?.read().arraySync() as number[][] | undefined;
  run.writeEmbeddings(epoch, emb, W && W.length > 0 && W[0].length === emb.dim ? W : undefined);
  run.writeScores(v.scores, v.same);
  const result: EpochResult = {
    epoch,
    step,
    trainLoss: stats.lossSum / Math.max(1, stats.seen),
    trainAccuracy: stats.correct / Math.max(1, stats.seen),
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
  log(
    `epoch ${epoch + 1}: train acc ${(100 * result.trainAccuracy).toFixed(2)}%  held-out verification ` +
      `${(100 * v.accuracy).toFixed(2)}% ± ${(100 * v.accuracyStd).toFixed(2)} (10-fold, ${v.pairs} pairs)  ` +
      `AUC ${v.auc.toFixed(4)}  EER ${(100 * v.eer).toFixed(2)}%  ${formatTar(v.tarAtFar)}`,
  );
  return result;
}

/** Evaluates at each epoch's end and after the last step; results are appended to `results`. */
export function evaluationCallback(input: EvaluationInput, results: EpochResult[]): StepCallback {
  return async (event) => {
    if (event.epochEnded || event.step === event.totalSteps) {
      results.push(await evaluateEpoch(input, event.epoch, event.step, event.epochStats));
    }
  };
}
