/**
 * A short training run for the crash-safety test, run as its own process so it can be killed:
 * `node --import tsx test/reliability/train-child.ts RUN_DIR [--resume]`. Prints `step N` after every
 * optimiser step so the parent can choose when to kill it.
 */
import * as tf from '@tensorflow/tfjs';
import { parseTrainConfig, train } from '../../src/train/index.js';

/** The run every process of the test trains: tiny, stateful head, a checkpoint after every step. */
export const CRASH_RUN_CONFIG = {
  head: 'curricularface',
  data: 'mnist',
  perClass: 12,
  heldoutPerClass: 4,
  backbone: 'lenetpp',
  width: 0.25,
  embeddingDim: 2,
  epochs: 2,
  batch: 16,
  maxSteps: 14,
  checkpointEvery: 1,
  pairs: 20,
  logEvery: 1,
  seed: 3,
  optimizer: 'sgd',
  momentum: 0.9,
} as const;

/** Runs (or resumes) the crash-test run in `out` on the cpu backend. */
export async function runCrashTraining(out: string, resume: boolean, onStep: (step: number) => void) {
  await tf.setBackend('cpu');
  return train(parseTrainConfig(CRASH_RUN_CONFIG), {
    out,
    resume,
    pictures: false,
    log: () => {},
    progress: { start: () => {}, update: (p) => onStep(p.step), stop: () => {} },
  });
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  const out = process.argv[2];
  await runCrashTraining(out, process.argv.includes('--resume'), (step) =>
    process.stdout.write(`step ${step}\n`),
  );
  process.stdout.write('done\n');
}
