/**
 * One optimisation step: forward through backbone and head, the head's margin loss, gradients of every
 * trainable weight, clipping by global norm, L2 weight decay added to the kernels' gradients (as PyTorch's
 * SGD `weight_decay` does) and the optimiser update. Non-finite values stop the run with the
 * divergence error before anything is applied.
 */
import * as tf from '@tensorflow/tfjs';
import { NonFiniteError } from '../../errors.js';
import type { HeadLayer } from '../../tf/index.js';
import type { TrainConfig } from '../config.js';
import type { DivergenceGuard } from './divergence.js';

/** What one step reports. */
export interface StepOutcome {
  loss: number;
  /** Samples whose largest cosine is at their own class. */
  correct: number;
  /**
   * Images the step trained on, when more than the batch handed to it: a model-parallel step reports the
   * global batch of all ranks, of which `loss` is the mean and `correct` the count.
   */
  images?: number;
}

/** The pieces a step works on. */
export interface StepModel {
  model: tf.LayersModel;
  head: HeadLayer;
  optimizer: tf.Optimizer;
  /** Input shape of one image, height × width × channels. */
  imageShape: readonly [number, number, number];
}

/** Scale gradients so their global L2 norm is at most `maxNorm`; throws when the norm is not finite. */
export function clipByGlobalNorm(
  grads: tf.NamedTensorMap,
  names: readonly string[],
  maxNorm: number,
  onNonFinite: () => Error,
): void {
  const norm = tf.tidy(() => tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]))))).dataSync()[0]);
  if (!Number.isFinite(norm)) {
    tf.dispose(grads);
    throw onNonFinite();
  }
  if (norm <= maxNorm) return;
  for (const name of names) {
    const g = grads[name];
    grads[name] = tf.mul(g, maxNorm / norm);
    g.dispose();
  }
}

/** A function that trains one batch; `step` is the number of steps done before it (0-based). */
export function createStep(
  { model, head, optimizer, imageShape }: StepModel,
  config: Pick<TrainConfig, 'clipNorm' | 'weightDecay'>,
  guard: DivergenceGuard,
): (images: Float32Array, labels: Int32Array, step: number) => Promise<StepOutcome> {
  const trainable = model.trainableWeights;
  const vars = trainable.map((w) => w.read() as tf.Variable);
  const names = vars.map((v) => v.name);
  // Decay the convolution and dense kernels (not biases, PReLU slopes, norms or the class weights).
  const decay = trainable.map(
    (w) => config.weightDecay > 0 && w.shape.length >= 2 && !w.name.includes(head.name),
  );
  const [height, width, channels] = imageShape;

  return async (images, labels, step) => {
    const x = tf.tensor4d(images, [labels.length, height, width, channels]);
    let correct = 0;
    let result: { value: tf.Scalar; grads: tf.NamedTensorMap };
    try {
      result = tf.variableGrads(() => {
        const cos = model.apply(x, { training: true }) as tf.Tensor2D;
        const pred = tf.argMax(cos, 1);
        correct = tf.sum(tf.cast(tf.equal(pred, tf.tensor1d(labels, 'int32')), 'int32')).dataSync()[0];
        return head.lossFor(cos, labels);
      }, vars);
    } catch (err) {
      // The head refuses non-finite embeddings or weights: the previous update diverged.
      if (err instanceof NonFiniteError) throw guard.error(step + 1, `'${err.argument}' of the head`);
      throw err;
    } finally {
      x.dispose();
    }
    const { value, grads } = result;
    const loss = (await value.data())[0];
    value.dispose();
    if (!Number.isFinite(loss)) {
      tf.dispose(grads);
      throw guard.error(step + 1, 'loss');
    }
    applyUpdate({ vars, names, decay, optimizer }, grads, config, () =>
      guard.error(step + 1, 'the gradient'),
    );
    return { loss, correct };
  };
}

/** The variables an update steps, their names, and which of them are weight-decayed. */
export interface UpdateTarget {
  vars: tf.Variable[];
  names: string[];
  decay: boolean[];
  optimizer: tf.Optimizer;
}

/**
 * Clipping by global norm, L2 weight decay on the `decay` variables and the optimiser update, in the
 * variables' order (the optimiser's slots are positional). Disposes `grads`.
 */
export function applyUpdate(
  { vars, names, decay, optimizer }: UpdateTarget,
  grads: tf.NamedTensorMap,
  config: Pick<TrainConfig, 'clipNorm' | 'weightDecay'>,
  onNonFinite: () => Error,
): void {
  if (config.clipNorm > 0) clipByGlobalNorm(grads, names, config.clipNorm, onNonFinite);
  const ordered = vars.map((v, i) => {
    const g = grads[v.name];
    return { name: v.name, tensor: decay[i] ? tf.tidy(() => tf.add(g, tf.mul(config.weightDecay, v))) : g };
  });
  optimizer.applyGradients(ordered);
  tf.dispose(grads);
  tf.dispose(ordered.filter((_, i) => decay[i]).map((o) => o.tensor));
}
