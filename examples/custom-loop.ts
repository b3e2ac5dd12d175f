/**
 * Training an ArcFace head on MNIST digits with a hand-written TF.js training loop.
 *
 *   npx tsx examples/custom-loop.ts           # a few hundred steps, a usable digit embedding
 *   npx tsx examples/custom-loop.ts --quick   # a few seconds, what CI runs
 *
 * What it shows:
 * 1. A face-verification model is two parts: a backbone that maps an image to an embedding, and a
 *    head that holds one weight vector per class (identity) and turns embeddings into a loss. Here
 *    the backbone is a small dense network and the head is a `HeadLayer` running ArcFace.
 * 2. `HeadLayer` outputs plain cosines (embedding vs every class). The margin is applied by
 *    `marginLoss(layer)`, which needs the labels, so the layer stays usable at test time, where
 *    there are no labels and no margins.
 * 3. A custom loop: `tf.variableGrads` computes the loss and the gradients of every trainable
 *    variable (backbone and class weights), `optimizer.applyGradients` steps.
 * 4. A head with state (CurricularFace): its `t` is an EMA of the batch's mean target cosine,
 *    updated by every training call of the loss, stored in the layer and saved with the model.
 */
import * as tf from '@tensorflow/tfjs';
import { useBestBackend } from '../src/node/index.js';
import { HeadLayer, marginLoss } from '../src/tf/index.js';
import { mnistTensors, shuffledIndices } from './lib/mnist-tensors.js';

const quick = process.argv.includes('--quick');
// Quick mode only has to prove the API works end to end: few images, few steps.
const PER_CLASS = quick ? 40 : 400;
const STEPS = quick ? 12 : 300;
const BATCH = quick ? 40 : 100;
const EMBEDDING = 32;
const CLASSES = 10;

/** A small backbone: flattened 28×28 image → 128 ReLU units → a 32-d embedding (no activation). */
function backbone(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: 128,
        activation: 'relu',
        inputShape: [28 * 28],
        kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
      }),
      // Face models end with a linear layer (often followed by batch norm): the head normalises the
      // embedding itself, so its norm is free (MagFace and AdaFace read it as a quality signal).
      tf.layers.dense({ units: EMBEDDING, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
}

/** Backbone + head as one model; `model.apply(x, { training: true })` returns the head's cosines. */
function withHead(head: HeadLayer): tf.Sequential {
  const model = backbone();
  model.add(head);
  return model;
}

/** Rows `order[start … start+size)` of `x` and `labels`: one mini-batch. */
function batchAt(
  x: tf.Tensor2D,
  labels: tf.Tensor1D,
  order: Int32Array,
  step: number,
  size: number,
): { xb: tf.Tensor2D; yb: tf.Tensor1D } {
  const start = (step * size) % (order.length - size + 1);
  const idx = tf.tensor1d(order.subarray(start, start + size), 'int32');
  const out = { xb: tf.gather(x, idx) as tf.Tensor2D, yb: tf.gather(labels, idx) as tf.Tensor1D };
  idx.dispose();
  return out;
}

/** Share of `x` whose highest cosine is with its own class weight (the head's eval-mode output). */
function accuracy(model: tf.Sequential, x: tf.Tensor2D, labels: tf.Tensor1D): number {
  return tf.tidy(() => {
    // `predict` runs in inference mode: the HeadLayer outputs cosines, no margin is applied.
    const cos = model.predict(x) as tf.Tensor2D;
    return tf.mean(tf.cast(tf.equal(tf.argMax(cos, 1), labels), 'float32')).dataSync()[0];
  });
}

async function main(): Promise<void> {
  // Native kernels when the addon built, else wasm, else the plain JS cpu backend.
  const backend = await useBestBackend();
  console.log(`backend: ${backend.backend} (${backend.detail})`);

  const train = await mnistTensors('train', PER_CLASS);
  const test = await mnistTensors('heldout', quick ? 20 : 100);
  console.log(`MNIST: ${train.size} training images, ${test.size} held-out images`);

  // ---- 1. ArcFace with tf.variableGrads + optimizer.applyGradients ---------------------------------
  // scale 16 instead of the face-recognition default 64: with ten classes a smaller scale trains
  // more smoothly (the loss saturates less early). margin 0.3 rad ≈ 17°.
  const arcface = new HeadLayer({
    head: 'arcface',
    params: { scale: 16, margin: 0.3 },
    classes: CLASSES,
    seed: 3,
  });
  const model = withHead(arcface);
  const loss = marginLoss(arcface);
  const optimizer = tf.train.adam(0.003);
  const order = shuffledIndices(train.size, 7);

  console.log(`\nArcFace (s = 16, m = 0.3), ${STEPS} steps of ${BATCH} images`);
  console.log(`accuracy before training: ${(100 * accuracy(model, test.x, test.labels)).toFixed(1)}%`);
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const { xb, yb } = batchAt(train.x, train.labels, order, step, BATCH);
    // variableGrads differentiates the closure w.r.t. every trainable variable it touches: the two
    // dense layers and the head's class weights. `training: true` is what makes the loss apply the
    // margin (and update state, for heads that have some).
    const { value, grads } = tf.variableGrads(() =>
      loss(yb, model.apply(xb, { training: true }) as tf.Tensor),
    );
    // Gradients are keyed by variable name; applyGradients takes them as a list of { name, tensor }.
    optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    losses.push(value.dataSync()[0]);
    tf.dispose([value, xb, yb, ...Object.values(grads)]);
    const every = Math.max(1, Math.floor(STEPS / 6));
    if (step % every === 0 || step === STEPS - 1) {
      console.log(`  step ${String(step + 1).padStart(4)}  loss ${losses[step].toFixed(4)}`);
    }
  }
  // Mean of the first and last few steps, so one lucky batch does not decide the comparison.
  const window = Math.min(3, Math.floor(STEPS / 2));
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const first = mean(losses.slice(0, window));
  const last = mean(losses.slice(-window));
  console.log(`ArcFace loss: first ${first.toFixed(4)} -> last ${last.toFixed(4)}`);
  console.log(`accuracy after training: ${(100 * accuracy(model, test.x, test.labels)).toFixed(1)}%`);

  // ---- 2. CurricularFace: a head with state, trained with optimizer.minimize ----------------------
  // minimize(f, true) is variableGrads + applyGradients in one call, returning the loss.
  const curricular = new HeadLayer({
    head: 'curricularface',
    params: { scale: 16, margin: 0.3, momentum: 0.1 },
    classes: CLASSES,
    seed: 4,
  });
  const model2 = withHead(curricular);
  const loss2 = marginLoss(curricular);
  const optimizer2 = tf.train.adam(0.003);
  const steps2 = quick ? 6 : 60;
  console.log(`\nCurricularFace (momentum 0.1), ${steps2} steps; t is its state`);
  console.log(`  initial state: ${JSON.stringify(curricular.getHeadState())}`);
  for (let step = 0; step < steps2; step++) {
    const { xb, yb } = batchAt(train.x, train.labels, order, step, BATCH);
    const value = optimizer2.minimize(
      () => loss2(yb, model2.apply(xb, { training: true }) as tf.Tensor),
      true,
    )!;
    const every = Math.max(1, Math.floor(steps2 / 6));
    if (step % every === 0 || step === steps2 - 1) {
      // t follows the mean target cosine: it starts at 0 and grows as embeddings align with their class.
      const { t } = curricular.getHeadState();
      console.log(
        `  step ${String(step + 1).padStart(4)}  loss ${value.dataSync()[0].toFixed(4)}  t ${t.toFixed(4)}`,
      );
    }
    tf.dispose([value, xb, yb]);
  }
  // Inference never changes the state: margins and EMA updates happen only in training calls.
  const before = curricular.getHeadState().t;
  tf.dispose(model2.predict(test.x) as tf.Tensor);
  console.log(
    `CurricularFace t: ${before.toFixed(4)} (unchanged by predict: ${curricular.getHeadState().t === before})`,
  );
}

await main();
