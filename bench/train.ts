/**
 * Training throughput of a backbone through tf.layers: images per second of a full training step
 * (forward, mean squared error against a fixed target, backward, SGD with momentum) on the best backend
 * (`useBestBackend`: native kernels, else wasm), side by side with the plain TF.js cpu backend and,
 * with `--torch`, with a PyTorch twin of the same backbone on the same CPU (bench/torch_train.py: the
 * same layers, shapes and widths; best of 1 thread and all cores). Medians over repeats. LeNet++ and
 * resnet-lite run on 28×28×1 (MNIST-sized) input, MobileFaceNet on 112×112×3 faces.
 *
 *   npm run bench -- train [--backbone lenetpp|mobilefacenet|resnet-lite] [--batch N] [--width W]
 *                          [--repeats 20] [--no-compare] [--torch [--python PATH]] [--json]
 *
 * `--no-compare` skips the slow plain-TF.js run; `--json` prints one JSON line last (images_per_s,
 * median_ms_per_step, page_faults_per_step, backend, dispatch, backbone, batch, width, and the PyTorch and plain figures when measured).
 * With FACEVERLOSS_DISPATCH=avx2 PyTorch is capped at AVX2 too (ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY), so
 * an AVX-512 machine measures both sides as an AVX2 machine runs them.
 * Defaults: LeNet++ batch 64, width 0.25; MobileFaceNet batch 16, width 0.25; resnet-lite batch 64, width 1.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { engineInfo } from '../src/engine/index.js';
import { InvalidArgumentError } from '../src/errors.js';
import { unregisterNativeKernels } from '../src/kernels/index.js';
import { useBestBackend } from '../src/node/index.js';
import { type BackboneOptions, lenetpp, mobilefacenet, resnetLite } from '../src/train/index.js';
import { findTorchPython, TORCH_AVX2, torchTiming } from './torch.js';

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
    batch: 16,
    width: 0.25,
  },
  'resnet-lite': {
    title: 'resnet-lite',
    build: resnetLite,
    inputShape: [28, 28, 1],
    embeddingDim: 2,
    batch: 64,
    width: 1,
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

interface Measured {
  /** Median milliseconds per step. */
  ms: number;
  /** Minor page faults per timed step (fresh memory touched for the first time). */
  faults: number;
}

/** Median time and page faults of `repeats` timed steps after warm-up steps on the active backend. */
async function measure(setup: Setup, batch: number, width: number, repeats: number): Promise<Measured> {
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
  for (let w = 0; w < 3; w++) await step();
  const faultsBefore = process.resourceUsage().minorPageFault;
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    await step();
    times.push(performance.now() - start);
  }
  const faults = (process.resourceUsage().minorPageFault - faultsBefore) / repeats;
  model.dispose();
  tf.dispose([x, target]);
  opt.dispose();
  return { ms: median(times), faults };
}

const perSecond = (batch: number, ms: number) => (batch / ms) * 1000;

/** Runs the benchmark and prints one line per backend plus the ratios. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      backbone: { type: 'string', default: 'lenetpp' },
      repeats: { type: 'string', default: '20' },
      batch: { type: 'string' },
      width: { type: 'string' },
      'no-compare': { type: 'boolean', default: false },
      torch: { type: 'boolean', default: false },
      python: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const setup = setups[values.backbone];
  if (!setup) throw new InvalidArgumentError('--backbone', Object.keys(setups).join(' or '), values.backbone);
  const repeats = positiveInteger('--repeats', values.repeats);
  const batch = positiveInteger('--batch', values.batch ?? String(setup.batch));
  const width = Number(values.width ?? setup.width);
  if (!(width > 0 && width <= 4))
    throw new InvalidArgumentError('--width', 'a number in (0, 4]', values.width);
  const [h, w, c] = setup.inputShape;
  console.log(
    `${setup.title} width ${width}, ${h}×${w}×${c}, batch ${batch}, median of ${repeats} training steps`,
  );
  const result: Record<string, unknown> = { backbone: values.backbone, batch, width };
  const choice = await useBestBackend();
  const info = engineInfo();
  const dispatch = info.available ? info.dispatch : 'none';
  const { ms, faults } = await measure(setup, batch, width, repeats);
  const images = perSecond(batch, ms);
  console.log(
    `  ${choice.detail} (${dispatch}): ${rate(images)} images/s (${ms.toFixed(2)} ms per step, ${faults.toFixed(0)} page faults per step)`,
  );
  Object.assign(result, {
    images_per_s: images,
    median_ms_per_step: ms,
    page_faults_per_step: faults,
    backend: choice.detail,
    dispatch,
  });
  if (!values['no-compare']) {
    // Then the plain cpu backend, without the native engine's kernels (after ours: its slow run leaves a
    // heap that would slow whatever is measured next).
    await tf.setBackend('cpu');
    unregisterNativeKernels(tf);
    const plain = (await measure(setup, batch, width, Math.min(repeats, 3))).ms;
    console.log(`  tfjs cpu (plain)     ${rate(perSecond(batch, plain))} images/s`);
    result.plain_images_per_s = perSecond(batch, plain);
    console.log(`  ratio ours / plain   ${(images / perSecond(batch, plain)).toFixed(2)}×`);
  }
  if (values.torch) {
    const found = findTorchPython(values.python);
    // Our side runs at less than AVX-512 (FACEVERLOSS_DISPATCH=avx2): PyTorch gets the same ceiling.
    const capped = dispatch === 'avx2';
    if ('reason' in found) console.error(`--torch: ${found.reason}`);
    const timing =
      'python' in found
        ? torchTiming(
            found.python,
            'torch_train.py',
            [
              ...['--backbone', values.backbone, '--batch', String(batch), '--width', String(width)],
              ...['--side', String(h), '--channels', String(c), '--dim', String(setup.embeddingDim)],
              ...['--repeats', String(repeats)],
            ],
            capped ? TORCH_AVX2 : {},
          )
        : null;
    if (capped)
      console.log('  pytorch capped at AVX2 (ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY), as our dispatch');
    if (timing) {
      const torchImages = perSecond(batch, timing.median_ms);
      console.log(
        `  pytorch best (${timing.threads} thread(s)) ${rate(torchImages)} images/s → ours ÷ PyTorch ${(images / torchImages).toFixed(2)}×`,
      );
      Object.assign(result, {
        torch_images_per_s: torchImages,
        torch_threads: timing.threads,
        torch_version: timing.torch,
        ratio_vs_torch: images / torchImages,
      });
    }
  }
  if (values.json) console.log(JSON.stringify(result));
}

function positiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(name, 'a positive integer', value);
  return n;
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) await run(process.argv.slice(2));
