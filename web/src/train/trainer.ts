/**
 * Trains a small MLP backbone (784 → 128 → 64 → D) with one of the trainable heads on a digit set:
 * Adam on the backbone, the class weights and (Softmax) a bias. Everything is seeded, so a panel
 * restarted with the same settings repeats itself (on the same backend).
 */
import * as tf from '@tensorflow/tfjs';
import { createRng, type Rng } from '../../../src/rng.js';
import { headLogits, headLoss } from './margin-loss.js';
import type { MnistSubset } from './mnist-format.js';
import type { TrainableHead, TrainableParams } from './trainable.js';

/** Settings of one training run. */
export interface TrainerOptions {
  head: TrainableHead;
  params: TrainableParams;
  /** Embedding dimension (2 for the pictures). */
  dim?: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  /** Digits held out for the picture and the accuracy (the rest are trained on). */
  heldOut?: number;
}

/** Embeddings of the held-out digits and what the head makes of them. */
export interface Snapshot {
  /** heldOut × dim embeddings, row-major. */
  embeddings: Float32Array;
  labels: Uint8Array;
  /** C × dim class weights. */
  weights: Float32Array;
  /** Share of held-out digits whose largest logit (no margin) is their class. */
  accuracy: number;
}

const CLASSES = 10;

/** A seeded MLP + head trained step by step. */
export class EmbeddingTrainer {
  readonly dim: number;
  private readonly options: Required<TrainerOptions>;
  private readonly backbone: tf.Sequential;
  private readonly weights: tf.Variable<tf.Rank.R2>;
  private readonly bias: tf.Variable<tf.Rank.R1> | null;
  private readonly optimizer: tf.Optimizer;
  private readonly rng: Rng;
  private readonly trainX: tf.Tensor2D;
  private readonly trainY: Int32Array;
  private readonly testX: tf.Tensor2D;
  private readonly testY: Uint8Array;
  private stepCount = 0;

  constructor(data: MnistSubset, options: TrainerOptions) {
    this.options = {
      dim: 2,
      batchSize: 64,
      learningRate: 0.003,
      seed: 1,
      heldOut: Math.min(500, Math.floor(data.count / 4)),
      ...options,
    };
    const { dim, seed, heldOut, learningRate } = this.options;
    this.dim = dim;
    this.rng = createRng(seed);
    const size = data.rows * data.cols;
    const nTrain = data.count - heldOut;
    const pixels = Float32Array.from(data.pixels, (p) => p / 255);
    this.trainX = tf.tensor2d(pixels.subarray(0, nTrain * size), [nTrain, size]);
    this.trainY = Int32Array.from(data.labels.subarray(0, nTrain));
    this.testX = tf.tensor2d(pixels.subarray(nTrain * size), [heldOut, size]);
    this.testY = data.labels.slice(nTrain);
    this.backbone = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [size],
          units: 128,
          activation: 'relu',
          kernelInitializer: tf.initializers.heNormal({ seed }),
        }),
        tf.layers.dense({
          units: 64,
          activation: 'relu',
          kernelInitializer: tf.initializers.heNormal({ seed: seed + 1 }),
        }),
        tf.layers.dense({ units: dim, kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 2 }) }),
      ],
    });
    this.weights = tf.variable(
      tf.randomNormal([CLASSES, dim], 0, 1, 'float32', seed + 3),
      true,
      'classWeights',
    );
    this.bias = options.head === 'softmax' ? tf.variable(tf.zeros([CLASSES]), true, 'classBias') : null;
    this.optimizer = tf.train.adam(learningRate);
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** One optimisation step on a random batch; returns its loss. */
  step(): number {
    const { batchSize, head, params } = this.options;
    const idx = Int32Array.from({ length: batchSize }, () => this.rng.int(this.trainY.length));
    const loss = tf.tidy(() => {
      const indices = tf.tensor1d(idx, 'int32');
      const x = tf.gather(this.trainX, indices);
      const oneHot = tf
        .oneHot(tf.gather(tf.tensor1d(this.trainY, 'int32'), indices), CLASSES)
        .toFloat() as tf.Tensor2D;
      const value = this.optimizer.minimize(
        () => headLoss(head, params, this.backbone.apply(x) as tf.Tensor2D, this.weights, this.bias, oneHot),
        true,
      );
      return value as tf.Scalar;
    });
    const out = loss.dataSync()[0];
    loss.dispose();
    this.stepCount++;
    return out;
  }

  /** Held-out embeddings, class weights and accuracy. */
  snapshot(): Snapshot {
    const { head, params } = this.options;
    return tf.tidy(() => {
      const emb = this.backbone.apply(this.testX) as tf.Tensor2D;
      const oneHot = tf.oneHot(tf.tensor1d(this.testY, 'int32'), CLASSES).toFloat() as tf.Tensor2D;
      const logits = headLogits(head, params, emb, this.weights, this.bias, oneHot, false);
      const predicted = tf.argMax(logits, 1).dataSync();
      let correct = 0;
      for (let i = 0; i < this.testY.length; i++) if (predicted[i] === this.testY[i]) correct++;
      return {
        embeddings: emb.dataSync() as Float32Array,
        labels: this.testY,
        weights: this.weights.dataSync() as Float32Array,
        accuracy: correct / this.testY.length,
      };
    });
  }

  /** Free every tensor. */
  dispose(): void {
    this.backbone.dispose();
    this.weights.dispose();
    this.bias?.dispose();
    this.optimizer.dispose();
    this.trainX.dispose();
    this.testX.dispose();
  }
}
