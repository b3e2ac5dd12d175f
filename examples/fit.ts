/**
 * Training a CurricularFace head on MNIST digits with Keras-style `model.fit`, then saving the model
 * and loading it back.
 *
 *   npx tsx examples/fit.ts [--quick] [--out DIR]
 *
 * What it shows:
 * 1. `model.compile({ loss: marginLoss(head) })`: the head's margin loss plugs in as an ordinary
 *    Keras loss. `model.fit` requires targets shaped like the model's output (B×C cosines), so the
 *    labels go in as one-hot rows; `marginLoss` turns them back into class indices.
 * 2. `saveModel(model, dir)` writes `model.json` + `weights.bin` (the files `tf.loadLayersModel`
 *    reads in a browser too). The head's parameters are in `model.json`; its class weights and its
 *    state (CurricularFace's `t`) are weights, so a reloaded model resumes training where it stopped.
 * 3. `loadModel(dir)` rebuilds the model, the `HeadLayer` included (it is registered with TF.js's
 *    serialisation by name), and gives exactly the same outputs.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModel, saveModel, useBestBackend } from '../src/node/index.js';
import { HeadLayer, marginLoss } from '../src/tf/index.js';
import { mnistTensors } from './lib/mnist-tensors.js';

const quick = process.argv.includes('--quick');
const outFlag = process.argv.indexOf('--out');
const PER_CLASS = quick ? 40 : 400;
const EPOCHS = quick ? 3 : 15;
const BATCH = quick ? 40 : 100;

async function main(): Promise<void> {
  const backend = await useBestBackend();
  console.log(`backend: ${backend.backend}`);
  const train = await mnistTensors('train', PER_CLASS);
  const test = await mnistTensors('heldout', quick ? 20 : 100);

  // Backbone (flattened image → 32-d embedding) and head in one Sequential model. CurricularFace:
  // ArcFace's target margin plus hard negatives re-weighted by the state t.
  const head = new HeadLayer({
    head: 'curricularface',
    params: { scale: 16, margin: 0.3, momentum: 0.1 },
    classes: 10,
    seed: 5,
  });
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        units: 128,
        activation: 'relu',
        inputShape: [28 * 28],
        kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
      }),
      tf.layers.dense({ units: 32, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      head,
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.003), loss: marginLoss(head) });

  // fit calls the model in training mode (margins on, state updated) and the loss once per batch.
  // `shuffle` is left off so the run is reproducible; MNIST from src/data is ordered class by class,
  // so the images are interleaved once up front instead: the first image of every digit, then the
  // second of every digit, … (every split holds the same number of images per digit).
  const order = Int32Array.from(
    { length: train.size },
    (_, i) => (i % 10) * (train.size / 10) + Math.floor(i / 10),
  );
  const idx = tf.tensor1d(order, 'int32');
  const x = tf.gather(train.x, idx);
  const y = tf.gather(train.oneHot, idx);
  const history = await model.fit(x, y, {
    epochs: EPOCHS,
    batchSize: BATCH,
    shuffle: false,
    verbose: 0,
    callbacks: {
      onEpochEnd: (epoch, logs) =>
        console.log(
          `  epoch ${epoch + 1}/${EPOCHS}  loss ${logs!.loss.toFixed(4)}  t ${head.getHeadState().t.toFixed(4)}`,
        ),
    },
  });
  const losses = history.history.loss as number[];
  console.log(`fit loss: first ${losses[0].toFixed(4)} -> last ${losses[losses.length - 1].toFixed(4)}`);

  // Held-out accuracy: the class whose weight has the highest cosine with the embedding.
  const predicted = tf.tidy(() => tf.argMax(model.predict(test.x) as tf.Tensor, 1));
  const correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(predicted, test.labels), 'int32')).dataSync()[0]);
  console.log(`held-out accuracy: ${((100 * correct) / test.size).toFixed(1)}%`);

  // ---- Save and reload ------------------------------------------------------------------------------
  const dir = outFlag > 0 ? process.argv[outFlag + 1] : mkdtempSync(join(tmpdir(), 'faceverloss-fit-'));
  await saveModel(model, dir);
  for (const f of readdirSync(dir).sort())
    console.log(`saved ${join(dir, f)} (${statSync(join(dir, f)).size} bytes)`);

  const loaded = await loadModel(dir);
  const loadedHead = loaded.layers[loaded.layers.length - 1] as HeadLayer;
  console.log(`reloaded head: ${loadedHead.headName} ${JSON.stringify(loadedHead.getHeadState())}`);

  // Same weights, same graph: the cosines must match bit for bit, and so must the state.
  const a = (model.predict(test.x) as tf.Tensor).dataSync();
  const b = (loaded.predict(test.x) as tf.Tensor).dataSync();
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  const sameState = JSON.stringify(loadedHead.getHeadState()) === JSON.stringify(head.getHeadState());
  console.log(
    `reloaded outputs identical: ${maxDiff === 0} (max |difference| ${maxDiff}), state identical: ${sameState}`,
  );

  if (outFlag < 0) rmSync(dir, { recursive: true, force: true });
  if (maxDiff !== 0 || !sameState) process.exitCode = 1;
}

await main();
