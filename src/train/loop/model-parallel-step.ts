/**
 * One step of a model-parallel run (data-parallel backbone, model-parallel head), as PyTorch DDP around
 * insightface's partial_fc_v2:
 *
 * 1. the backbone's forward on this rank's rows of the global batch (its part of the batch stream) →
 *    embeddings;
 * 2. train accuracy: each rank's best cosine per row over its classes and the target cosine of the rows
 *    whose class it holds, all-reduced (MAX) over the gathered batch, before the head moves;
 * 3. the sharded head step: loss over the gathered global batch, this rank's rows of W stepped (SGD with
 *    momentum, in the backward), this rank's rows of dL/dX back;
 * 4. dL/dX back-propagated through the backbone (the tape's output is Σ emb ⊙ dL/dX, whose gradient with
 *    respect to the embeddings is dL/dX exactly);
 * 5. the backbone's gradients summed over ranks in one all-reduce: the loss is the mean over the global
 *    batch, so the sum is the one-process gradient of that batch;
 * 6. clipping, weight decay and the optimiser update of the ordinary step, on every rank alike, so the
 *    backbone's weights stay identical on all ranks.
 *
 * Batch norm uses each rank's own batch statistics (DDP without SyncBatchNorm).
 */
import * as tf from '@tensorflow/tfjs';
import type { Comm } from '../../parallel/comm.js';
import { shardedMarginStep } from '../../parallel/sharded-step.js';
import type { TrainConfig } from '../config.js';
import type { ClassShard } from '../model-parallel/class-shard.js';
import type { DivergenceGuard } from './divergence.js';
import { applyUpdate, type StepOutcome } from './step.js';

/** The pieces a model-parallel step works on. */
export interface ModelParallelStepModel {
  backbone: tf.LayersModel;
  optimizer: tf.Optimizer;
  imageShape: readonly [number, number, number];
  comm: Comm;
  shard: ClassShard;
}

/** Classes per block of the accuracy's cosine product (bounds its B×block buffer). */
const COSINE_BLOCK = 8192;

/**
 * Rows of the gathered batch whose largest cosine (over every rank's classes) is at their own class, as
 * the ordinary step's argmax counts them.
 */
function countCorrect(comm: Comm, shard: ClassShard, emb: Float32Array, labels: Int32Array): number {
  const { D, range, geometry } = shard;
  const b = labels.length;
  const B = b * comm.size;
  const X = new Float32Array(B * D);
  comm.allGather(emb, X);
  const all = new Int32Array(B);
  comm.allGather(labels, all);
  // [0, B): each row's best cosine over this shard; [B, 2B): its target cosine (−∞ off its owner).
  const best = new Float32Array(2 * B).fill(Number.NEGATIVE_INFINITY);
  tf.tidy(() => {
    const x = tf.tensor2d(X, [B, D]);
    const xn = geometry.normalizeX ? tf.div(x, tf.maximum(tf.norm(x, 2, 1, true), 1e-12)) : x;
    for (let first = 0; first < range.count; first += COSINE_BLOCK) {
      const rows = Math.min(COSINE_BLOCK, range.count - first);
      tf.tidy(() => {
        const w = tf.tensor2d(shard.W.subarray(first * D, (first + rows) * D), [rows, D]);
        const wn = geometry.normalizeW === 'none' ? w : tf.div(w, tf.maximum(tf.norm(w, 2, 1, true), 1e-12));
        const cos = tf.matMul(xn, wn, false, true);
        const blockBest = tf.max(cos, 1).dataSync();
        const values = cos.dataSync();
        for (let i = 0; i < B; i++) {
          if (blockBest[i] > best[i]) best[i] = blockBest[i];
          const k = all[i] - range.start - first;
          if (k >= 0 && k < rows) best[B + i] = values[i * rows + k];
        }
      });
    }
  });
  comm.allReduceMax(best);
  let correct = 0;
  for (let i = 0; i < B; i++) if (best[B + i] >= best[i]) correct++;
  return correct;
}

/**
 * A function that trains this rank's rows of one global batch; `step` is the number of steps done before
 * it (0-based), `lr` the schedule's rate (the head's SGD uses it too). Every rank calls it together.
 */
export function createModelParallelStep(
  { backbone, optimizer, imageShape, comm, shard }: ModelParallelStepModel,
  config: Pick<TrainConfig, 'clipNorm' | 'weightDecay' | 'momentum'>,
  guard: DivergenceGuard,
): (images: Float32Array, labels: Int32Array, step: number, lr: number) => Promise<StepOutcome> {
  const vars = backbone.trainableWeights.map((w) => w.read() as tf.Variable);
  const names = vars.map((v) => v.name);
  const decay = backbone.trainableWeights.map((w) => config.weightDecay > 0 && w.shape.length >= 2);
  const sizes = vars.map((v) => v.size);
  const flat = new Float32Array(sizes.reduce((a, n) => a + n, 0));
  const [height, width, channels] = imageShape;

  return async (images, labels, step, lr) => {
    const x = tf.tensor4d(images, [labels.length, height, width, channels]);
    let loss = Number.NaN;
    let correct = 0;
    let grads: tf.NamedTensorMap;
    try {
      let value: tf.Scalar;
      ({ value, grads } = tf.variableGrads(() => {
        const emb = backbone.apply(x, { training: true }) as tf.Tensor2D;
        const embeddings = emb.dataSync() as Float32Array;
        correct = countCorrect(comm, shard, embeddings, labels);
        const result = shardedMarginStep({
          comm,
          X: embeddings,
          labels,
          W: shard.W,
          classes: shard.classes,
          D: shard.D,
          geometry: shard.geometry,
          margin: shard.margin,
          sgd: { lr, momentum: config.momentum, velocity: shard.velocity },
        });
        loss = result.loss;
        return tf.sum(tf.mul(emb, tf.tensor2d(result.dX, emb.shape)));
      }, vars));
      value.dispose();
    } finally {
      x.dispose();
    }
    // The loss is the same on every rank, so every rank stops here alike.
    if (!Number.isFinite(loss)) {
      tf.dispose(grads);
      throw guard.error(step + 1, 'loss');
    }
    let offset = 0;
    for (const v of vars) {
      flat.set(grads[v.name].dataSync() as Float32Array, offset);
      offset += v.size;
    }
    comm.allReduceSum(flat);
    offset = 0;
    vars.forEach((v, i) => {
      grads[v.name].dispose();
      grads[v.name] = tf.tensor(flat.subarray(offset, offset + sizes[i]), v.shape);
      offset += sizes[i];
    });
    applyUpdate({ vars, names, decay, optimizer }, grads, config, () =>
      guard.error(step + 1, 'the gradient'),
    );
    return { loss, correct, images: labels.length * comm.size };
  };
}
