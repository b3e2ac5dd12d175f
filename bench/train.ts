/**
 * Training throughput of a backbone through tf.layers: images per second of a full training step
 * (forward, loss, backward, SGD update) on the plain TF.js cpu backend and on the best backend
 * (`useBestBackend`: native kernels, else wasm), side by side, medians over repeats. LeNet++ runs on
 * 28×28×1 (MNIST-sized) input, MobileFaceNet on 112×112×3 faces.
 *
 *   npx tsx bench/train.ts [--backbone lenetpp|mobilefacenet] [--repeats 5] [--batch N] [--width W]
 *   npm run bench -- train …
 *
 * Defaults: LeNet++ batch 64, width 0.25; MobileFaceNet batch 4, width 0.25 — its training-mode batch
 * normalisation still runs as generic TF.js ops, so larger settings take tens of seconds per step.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { unregisterNativeKernels } from '../src/engine/index.js';
import { InvalidArgumentError } from '../src/errors.js';
import { useBestBackend } from '../src/tf/index.js';
import { type BackboneOptions, lenetpp, mobilefacenet } from '../src/train/index.js';

/** What the benchmark needs to know about each backbone. */
interface Setup {
  title: string;
  build: (options: BackboneOptions) => tf.LayersModel;
  inputShape: [number, number, number];
  embeddingDim: number;
  batch: number;
  width: number;
}

const setups: Record<string, Setup> = {
  lenetpp: {
    title: 'LeNet++',
    build: lenetpp,
    inputShape: [28, 28, 1],
    embeddingDim: 2,
    batch: 64,
    width: 0.25,
  },
  mobilefacenet: {
    title: 'MobileFaceNet',
    build: mobilefacenet,
    inputShape: [112, 112, 3],
    embeddingDim: 128,
    batch: 4,
    width: 0.25,
  },
};

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Images/s with enough digits to compare slow backbones too. */
function rate(value: number): string {
  return value.toFixed(value < 10 ? 2 : 1).padStart(8);
}

/** Median images/s of `repeats` timed steps after one warm-up step on the active backend. */
async function measure(setup: Setup, batch: number, width: number, repeats: number): Promise<number> {
  const { inputShape, embeddingDim } = setup;
  const model = setup.build({ inputShape, embeddingDim, seed: 1, width });
  const x = tf.randomNormal([batch, ...inputShape], 0, 1, 'float32', 1);
  const target = tf.randomNormal([batch, embeddingDim], 0, 1, 'float32', 2);
  const opt = tf.train.momentum(0.01, 0.9);
  const step = async () => {
    const loss = opt.minimize(
      () => tf.mean(tf.square(tf.sub(model.apply(x, { training: true }) as tf.Tensor, target))) as tf.Scalar,
      true,
    )!;
    await loss.data();
    loss.dispose();
  };
  await step();
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    await step();
    rates.push((batch / (performance.now() - start)) * 1000);
  }
  model.dispose();
  tf.dispose([x, target]);
  opt.dispose();
  return median(rates);
}

/** Runs the benchmark and prints one line per backend plus the ratio. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      backbone: { type: 'string', default: 'lenetpp' },
      repeats: { type: 'string', default: '5' },
      batch: { type: 'string' },
      width: { type: 'string' },
    },
  });
  const setup = setups[values.backbone];
  if (!setup) throw new InvalidArgumentError('--backbone', Object.keys(setups).join(' or '), values.backbone);
  const repeats = Number(values.repeats);
  const batch = Number(values.batch ?? setup.batch);
  const width = Number(values.width ?? setup.width);
  const [h, w, c] = setup.inputShape;
  console.log(
    `${setup.title} width ${width}, ${h}×${w}×${c}, batch ${batch}, median of ${repeats} training steps`,
  );
  // The plain cpu backend: without the native engine's kernels, whatever an earlier import registered.
  await tf.setBackend('cpu');
  unregisterNativeKernels(tf);
  const plain = await measure(setup, batch, width, repeats);
  console.log(`  tfjs cpu (plain)     ${rate(plain)} images/s`);
  const choice = await useBestBackend();
  const best = await measure(setup, batch, width, repeats);
  console.log(`  best (${choice.detail})  ${rate(best)} images/s`);
  console.log(`  ratio best / plain   ${(best / plain).toFixed(2)}×`);
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) await run(process.argv.slice(2));
