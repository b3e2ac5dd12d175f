/**
 * Training throughput of LeNet++ on 28×28 MNIST-sized input through tf.layers: images per second of a
 * full training step (forward, loss, backward, SGD update) on the plain TF.js cpu backend and on the
 * best backend (`useBestBackend`: native kernels, else wasm), side by side, medians over repeats.
 *
 *   npx tsx bench/train.ts [--repeats 5] [--batch 64] [--width 0.25]
 *   npm run bench -- train …
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { unregisterNativeKernels } from '../src/engine/index.js';
import { useBestBackend } from '../src/tf/index.js';
import { lenetpp } from '../src/train/index.js';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median images/s of `repeats` timed steps after one warm-up step on the active backend. */
async function measure(batch: number, width: number, repeats: number): Promise<number> {
  const model = lenetpp({ inputShape: [28, 28, 1], embeddingDim: 2, seed: 1, width });
  const x = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const target = tf.randomNormal([batch, 2], 0, 1, 'float32', 2);
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
      repeats: { type: 'string', default: '5' },
      batch: { type: 'string', default: '64' },
      width: { type: 'string', default: '0.25' },
    },
  });
  const repeats = Number(values.repeats);
  const batch = Number(values.batch);
  const width = Number(values.width);
  console.log(`LeNet++ width ${width}, 28×28×1, batch ${batch}, median of ${repeats} training steps`);
  // The plain cpu backend: without the native engine's kernels, whatever an earlier import registered.
  await tf.setBackend('cpu');
  unregisterNativeKernels(tf);
  const plain = await measure(batch, width, repeats);
  console.log(`  tfjs cpu (plain)     ${plain.toFixed(1).padStart(8)} images/s`);
  const choice = await useBestBackend();
  const best = await measure(batch, width, repeats);
  console.log(`  best (${choice.detail})  ${best.toFixed(1).padStart(8)} images/s`);
  console.log(`  ratio best / plain   ${(best / plain).toFixed(2)}×`);
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) await run(process.argv.slice(2));
