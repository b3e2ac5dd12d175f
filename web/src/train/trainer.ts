/**
 * Trains a small MLP backbone (784 → 128 → 64 → D) with any registered head on a digit set: Adam on
 * the backbone and on the head's weights, gradients clipped by global norm. Everything is seeded: the
 * data order by `seed`, the initial weights by `initSeed`, so panels that share both start from the
 * same network and see the same batches.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng, type Rng } from '../../../src/rng.js';
import { createTrainableHead, type TrainableHead } from './head-adapter.js';
import type { MnistSubset } from './mnist-format.js';

/** Settings of one training run. */
export interface TrainerOptions {
  head: string;
  params: Record<string, unknown>;
  /** Seed of the batch order. */
  seed: number;
  /** Seed of the initial weights (defaults to `seed`). */
  initSeed?: number;
  /** Embedding dimension (2 for the pictures). */
  dim?: number;
  batchSize?: number;
  learningRate?: number;
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
  /** Share of held-out digits whose largest score is their class. */
  accuracy: number;
}

const CLASSES = 10;

/** Gradients beyond this global norm are scaled down (large-s heads start with steep losses). */
const CLIP_NORM = 5;

/** A seeded MLP + head trained step by step. */
export class EmbeddingTrainer {
  readonly dim: number;
  private readonly backbone: tf.Sequential;
  private readonly head: TrainableHead;
  private readonly variables: tf.Variable[];
  private readonly optimizer: tf.Optimizer;
  private readonly rng: Rng;
  private readonly batchSize: number;
  private readonly trainX: tf.Tensor2D;
  private readonly trainY: Int32Array;
  private readonly testX: tf.Tensor2D;
  private readonly testY: Uint8Array;
  private stepCount = 0;

  constructor(data: MnistSubset, options: TrainerOptions) {
    const dim = options.dim ?? 2;
    const heldOut = options.heldOut ?? Math.min(500, Math.floor(data.count / 4));
    // TF.js initialisers treat seed 0 as "no seed": shift away from it.
    const init = (options.initSeed ?? options.seed) + 1;
    this.dim = dim;
    this.batchSize = options.batchSize ?? 64;
    this.rng = createRng(options.seed);
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
          kernelInitializer: tf.initializers.heNormal({ seed: init }),
        }),
        tf.layers.dense({
          units: 64,
          activation: 'relu',
          kernelInitializer: tf.initializers.heNormal({ seed: init + 1 }),
        }),
        tf.layers.dense({ units: dim, kernelInitializer: tf.initializers.glorotNormal({ seed: init + 2 }) }),
      ],
    });
    this.head = createTrainableHead(options.head, options.params, { classes: CLASSES, dim, seed: init + 3 });
    this.variables = [
      ...this.backbone.trainableWeights.map((w) => w.read() as tf.Variable),
      ...this.head.variables,
    ];
    this.optimizer = tf.train.adam(options.learningRate ?? 0.003);
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** One optimisation step on a random batch; returns its loss. */
  step(): number {
    const idx = Int32Array.from({ length: this.batchSize }, () => this.rng.int(this.trainY.length));
    const labels = Int32Array.from(idx, (i) => this.trainY[i]);
    const x = tf.tidy(() => tf.gather(this.trainX, tf.tensor1d(idx, 'int32')));
    const { value, grads } = tf.variableGrads(
      () => this.head.loss(this.backbone.apply(x) as tf.Tensor2D, labels),
      this.variables,
    );
    x.dispose();
    const loss = value.dataSync()[0];
    value.dispose();
    const clipped = tf.tidy(() => {
      const names = Object.keys(grads);
      const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]))))).dataSync()[0];
      const factor = Number.isFinite(norm) && norm > CLIP_NORM ? CLIP_NORM / norm : 1;
      return Object.fromEntries(names.map((n) => [n, tf.mul(grads[n], factor)])) as tf.NamedTensorMap;
    });
    tf.dispose(grads);
    this.optimizer.applyGradients(clipped);
    tf.dispose(clipped);
    this.stepCount++;
    return loss;
  }

  /** Held-out embeddings, class weights and accuracy. */
  snapshot(): Snapshot {
    return tf.tidy(() => {
      const emb = this.backbone.apply(this.testX) as tf.Tensor2D;
      const predicted = tf.argMax(this.head.scores(emb), 1).dataSync();
      let correct = 0;
      for (let i = 0; i < this.testY.length; i++) if (predicted[i] === this.testY[i]) correct++;
      return {
        embeddings: emb.dataSync() as Float32Array,
        labels: this.testY,
        weights: this.head.classWeights(),
        accuracy: correct / this.testY.length,
      };
    });
  }

  /** Free every tensor. */
  dispose(): void {
    this.backbone.dispose();
    this.head.dispose();
    this.optimizer.dispose();
    this.trainX.dispose();
    this.testX.dispose();
  }
}
