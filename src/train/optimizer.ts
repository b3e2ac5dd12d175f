/**
 * Optimisers for the custom loop: TF.js SGD (with momentum) or Adam, a settable learning rate, and
 * their state as plain arrays for checkpoints. TF.js optimisers keep one slot per variable in the order
 * the gradients are applied, so the loop always applies them in the model's weight order and the state
 * is stored positionally (variable names depend on how many layers a process has created).
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from './config.js';

/** An optimiser with a learning rate the loop can change every step. */
export interface TrainOptimizer {
  /** The TF.js optimiser that applies the gradients. */
  readonly optimizer: tf.Optimizer;
  /** Sets the learning rate used from the next step on (the schedule calls it every step). */
  setLearningRate(lr: number): void;
}

/** Create the optimiser named by the configuration. */
export function createOptimizer(config: Pick<TrainConfig, 'optimizer' | 'lr' | 'momentum'>): TrainOptimizer {
  if (config.optimizer === 'adam') {
    const optimizer = tf.train.adam(config.lr);
    return {
      optimizer,
      // Adam reads its learning rate on every step; it has no setter.
      setLearningRate: (lr) => {
        (optimizer as unknown as { learningRate: number }).learningRate = lr;
      },
    };
  }
  const optimizer =
    config.momentum > 0 ? tf.train.momentum(config.lr, config.momentum) : tf.train.sgd(config.lr);
  return { optimizer, setLearningRate: (lr) => optimizer.setLearningRate(lr) };
}

/** Optimiser state as shapes and one float32 buffer (slot order). */
export interface OptimizerState {
  /** Shape of each slot, in slot order. */
  shapes: number[][];
  /** All slots' values concatenated in slot order, each flattened row-major. */
  values: Float32Array;
}

/** Read the optimiser's slots (iteration count first, then per-variable accumulators). */
export async function optimizerState(optimizer: tf.Optimizer): Promise<OptimizerState> {
  const weights = await optimizer.getWeights();
  const shapes = weights.map((w) => w.tensor.shape.slice());
  const total = weights.reduce((n, w) => n + w.tensor.size, 0);
  const values = new Float32Array(total);
  let offset = 0;
  for (const w of weights) {
    const data = await w.tensor.data();
    values.set(data as Float32Array, offset);
    offset += w.tensor.size;
  }
  return { shapes, values };
}

/** Restore slots read by {@link optimizerState} into a fresh optimiser of the same kind. */
export async function setOptimizerState(optimizer: tf.Optimizer, state: OptimizerState): Promise<void> {
  let offset = 0;
  const named: { name: string; tensor: tf.Tensor }[] = state.shapes.map((shape, i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const tensor = tf.tensor(state.values.subarray(offset, offset + size), shape);
    offset += size;
    return { name: `slot${i}`, tensor };
  });
  await optimizer.setWeights(named);
  for (const n of named) n.tensor.dispose();
}
