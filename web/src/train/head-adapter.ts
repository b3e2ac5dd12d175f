/**
 * The one place the live-training panels reach the library's TF.js layer (`faceverloss/tf`, which is
 * browser-safe): a registered head as a {@link HeadLayer}, its training loss through `marginLoss`, and
 * what the pictures need from it (evaluation scores, class directions).
 */
import * as tf from '@tensorflow/tfjs';
import { HeadLayer, marginLoss } from '../../../src/tf/index.js';

/** A head ready to train on B×D embeddings. */
export interface TrainableHead {
  /** Every weight the optimiser updates (class weights and the head's learnable extras). */
  readonly variables: tf.Variable[];
  /** The head's training loss of a batch (to be called under a gradient tape). */
  loss(embeddings: tf.Tensor2D, labels: Int32Array): tf.Scalar;
  /** B×C scores whose largest entry is the predicted class (no margin). */
  scores(embeddings: tf.Tensor2D): tf.Tensor2D;
  /** C×D class directions (the first sub-centre of each class), row-major. */
  classWeights(): Float32Array;
  dispose(): void;
}

/** Build `name` with `params` for `classes` classes on `dim`-dimensional embeddings. */
export function createTrainableHead(
  name: string,
  params: Record<string, unknown>,
  options: { classes: number; dim: number; seed: number },
): TrainableHead {
  const layer = new HeadLayer({ head: name, params, classes: options.classes, seed: options.seed });
  // A symbolic call builds the weights and counts the layer as used, which TF.js needs to dispose it.
  layer.apply(tf.input({ shape: [options.dim] }));
  const noLogits = layer.head.definition.compute !== undefined;
  const bias = layer.extraWeights.bias;
  const lossOf = marginLoss(layer);
  return {
    variables: layer.trainableWeights.map((w) => w.read() as tf.Variable),
    loss: (embeddings, labels) => {
      const output = layer.apply(embeddings, { training: true }) as tf.Tensor;
      const classes = tf.tensor1d(labels, 'int32');
      try {
        return lossOf(classes, output);
      } finally {
        classes.dispose();
      }
    },
    scores: (embeddings) =>
      tf.tidy(() => {
        const W = layer.kernel!.read() as tf.Tensor2D;
        // Heads without logits (Center Loss) predict the nearest centre.
        if (noLogits) {
          const d2 = tf.sub(tf.mul(2, tf.matMul(embeddings, W, false, true)), tf.sum(tf.square(W), 1));
          return d2 as tf.Tensor2D;
        }
        const out = layer.apply(embeddings, { training: false }) as tf.Tensor2D;
        return (bias ? tf.add(out, bias.read()) : out) as tf.Tensor2D;
      }),
    classWeights: () => {
      const K = layer.head.subCenters;
      const W = layer.kernel!.read().dataSync() as Float32Array;
      const D = options.dim;
      const out = new Float32Array(options.classes * D);
      // Sub-centres are stored class-major: row c·K + k.
      for (let c = 0; c < options.classes; c++) out.set(W.subarray(c * K * D, c * K * D + D), c * D);
      return out;
    },
    dispose: () => {
      layer.dispose();
    },
  };
}
