/** A tiny, fast training configuration for tests (cpu backend, a few MNIST digits, a narrow LeNet++). */
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from '../../src/train/index.js';

export function tinyConfig(overrides: TrainConfigInput = {}): TrainConfig {
  return parseTrainConfig({
    head: 'cosface',
    params: { scale: 16, margin: 0.1 },
    data: 'mnist',
    perClass: 4,
    heldoutPerClass: 6,
    width: 0.125,
    batch: 8,
    epochs: 1,
    lr: 0.05,
    weightDecay: 0,
    schedule: 'constant',
    pairs: 60,
    logEvery: 1,
    ...overrides,
  });
}
