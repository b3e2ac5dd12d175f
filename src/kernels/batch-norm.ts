/**
 * Batch normalisation in training mode as two native kernels: {@link BATCH_NORM_TRAIN_KERNEL} (the batch
 * statistics, the normalised output and, for a layer, its updated moving statistics in one call) and
 * {@link BATCH_NORM_TRAIN_GRAD_KERNEL} (the whole gradient, through the batch mean and variance, for x,
 * gamma and beta), registered as the first one's gradient. TF.js composes the same computation from
 * moments and batchNorm ops, whose gradient is a dozen passes over the activations (most of a
 * MobileFaceNet step), and a layer's moving averages from six more small ops. {@link batchNormTraining}
 * and {@link batchNormTrainingStep} are the ops: native on the cpu backend while the kernels are
 * registered, TF.js's composition (as tf.layers computes it) anywhere else.
 */
import type * as TF from '@tensorflow/tfjs';
import { loadEngine, type NativeBinding } from '../engine/native.js';
import {
  type CpuBackend,
  floats,
  type KernelArgs,
  outputFloats,
  size,
  type TensorInfo,
  type Tf,
} from './backend-access.js';

/**
 * Kernel of the forward: inputs `x`, `gamma`, `beta` and, optionally, `movingMean`, `movingVariance`;
 * attributes `epsilon`, `momentum`; outputs `[y, stats]` — stats `[2, C]`: the batch mean, then the
 * biased batch variance — and, with the moving inputs, their updated values `[movingMean',
 * movingVariance']` (`old − (old − batch)·(1 − momentum)` in float32, as tf.layers computes them).
 */
export const BATCH_NORM_TRAIN_KERNEL = 'FvlBatchNormTrain';
/** Kernel of the gradient: inputs `dy`, `x`, `gamma`, `stats`; attribute `epsilon`; outputs `[dx, dgamma, dbeta]`. */
export const BATCH_NORM_TRAIN_GRAD_KERNEL = 'FvlBatchNormTrainGrad';

const ours = new WeakSet<object>();

/** Rows and channels of a channels-last float32 tensor with per-channel gamma/beta, or null. */
function layout(backend: CpuBackend, x: TensorInfo | undefined, perChannel: (TensorInfo | undefined)[]) {
  const X = floats(backend, x);
  if (!X || !x || x.shape.length < 2 || X.length === 0) return null;
  const channels = x.shape[x.shape.length - 1];
  if (perChannel.some((t) => t && (size(t.shape) !== channels || !floats(backend, t)))) return null;
  return { X, rows: X.length / channels, channels };
}

/** `old − (old − batch)·f` per element, each operation rounded to float32 as TF.js's cpu kernels round it. */
function movingAverage(old: Float32Array, batch: Float32Array, momentum: number): Float32Array {
  const f = Math.fround(1 - momentum);
  const out = new Float32Array(old.length);
  for (let c = 0; c < old.length; c++) {
    out[c] = old[c] - Math.fround(Math.fround(old[c] - batch[c]) * f);
  }
  return out;
}

function forward(engine: NativeBinding, args: KernelArgs): TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { x, gamma, beta, movingMean, movingVariance } = args.inputs;
  const { epsilon, momentum } = args.attrs as { epsilon: number; momentum?: number };
  const at = layout(backend, x, [gamma, beta, movingMean, movingVariance]);
  if (!at)
    throw new Error(`${BATCH_NORM_TRAIN_KERNEL} needs float32 channels-last x and per-channel gamma, beta`);
  const C = at.channels;
  const Y = outputFloats(at.X.length);
  const stats = new Float32Array(2 * C);
  const mean = stats.subarray(0, C);
  const variance = stats.subarray(C);
  const G = gamma ? floats(backend, gamma) : null;
  const B = beta ? floats(backend, beta) : null;
  engine.batchNormTrain(at.X, G, B, Y, mean, variance, at.rows, C, epsilon);
  const out = [
    backend.makeTensorInfo([...x!.shape], 'float32', Y),
    backend.makeTensorInfo([2, C], 'float32', stats),
  ];
  if (movingMean && movingVariance) {
    const m = momentum ?? 0.99;
    out.push(backend.makeTensorInfo([C], 'float32', movingAverage(floats(backend, movingMean)!, mean, m)));
    out.push(
      backend.makeTensorInfo([C], 'float32', movingAverage(floats(backend, movingVariance)!, variance, m)),
    );
  }
  return out;
}

function backward(engine: NativeBinding, args: KernelArgs): TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { dy, x, gamma, stats } = args.inputs;
  const { epsilon } = args.attrs as { epsilon: number };
  const at = layout(backend, x, [gamma]);
  const D = floats(backend, dy);
  const S = floats(backend, stats);
  if (!at || !D || D.length !== at.X.length || !S || S.length !== 2 * at.channels) {
    throw new Error(
      `${BATCH_NORM_TRAIN_GRAD_KERNEL} needs float32 dy and x of one shape and [2, C] batch statistics`,
    );
  }
  const C = at.channels;
  const dX = outputFloats(at.X.length);
  const dG = new Float32Array(C);
  const dB = new Float32Array(C);
  const G = gamma ? floats(backend, gamma) : null;
  engine.batchNormTrainGrad(D, at.X, G, S.subarray(0, C), S.subarray(C), dX, dG, dB, at.rows, C, epsilon);
  return [
    backend.makeTensorInfo([...x!.shape], 'float32', dX),
    backend.makeTensorInfo([C], 'float32', dG),
    backend.makeTensorInfo([C], 'float32', dB),
  ];
}

/**
 * The gradient of the forward kernel: one run of the gradient kernel from x, gamma and the batch
 * statistics (the only tensors kept for it). The moving statistics are no function of anything
 * trainable: their inputs get zeros.
 */
function gradientConfig(tf: Tf): TF.GradConfig {
  const gradFunc: TF.GradConfig['gradFunc'] = (dys, saved, attrs) => {
    const dy = Array.isArray(dys) ? dys[0] : dys;
    const [x, gamma, stats] = saved;
    const [dx, dgamma, dbeta] = tf
      .engine()
      .runKernel(BATCH_NORM_TRAIN_GRAD_KERNEL, { dy, x, gamma, stats }, attrs) as TF.Tensor[];
    return {
      x: () => dx,
      gamma: () => dgamma,
      beta: () => dbeta,
      movingMean: () => tf.zerosLike(dgamma),
      movingVariance: () => tf.zerosLike(dgamma),
    };
  };
  ours.add(gradFunc);
  return {
    kernelName: BATCH_NORM_TRAIN_KERNEL,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true],
    gradFunc,
  };
}

/** Registers both kernels on the cpu backend, and the gradient of the first; false when the native engine is not available. Idempotent. */
export function registerBatchNormKernels(tf: Tf): boolean {
  const engine = loadEngine();
  if (!engine) return false;
  const kernels: [string, (args: KernelArgs) => TensorInfo[]][] = [
    [BATCH_NORM_TRAIN_KERNEL, (args) => forward(engine, args)],
    [BATCH_NORM_TRAIN_GRAD_KERNEL, (args) => backward(engine, args)],
  ];
  for (const [kernelName, run] of kernels) {
    if (tf.getKernel(kernelName, 'cpu')) continue;
    const kernelFunc = run as unknown as TF.KernelFunc;
    ours.add(kernelFunc);
    tf.registerKernel({ kernelName, backendName: 'cpu', kernelFunc });
  }
  const grad = tf.getGradient(BATCH_NORM_TRAIN_KERNEL);
  if (!grad || !ours.has(grad.gradFunc)) tf.registerGradient(gradientConfig(tf));
  return true;
}

/** Removes the kernels and the gradient {@link registerBatchNormKernels} registered. Idempotent. */
export function unregisterBatchNormKernels(tf: Tf): void {
  for (const name of [BATCH_NORM_TRAIN_KERNEL, BATCH_NORM_TRAIN_GRAD_KERNEL]) {
    const kernel = tf.getKernel(name, 'cpu');
    if (kernel && ours.has(kernel.kernelFunc)) tf.unregisterKernel(name, 'cpu');
  }
  const grad = tf.getGradient(BATCH_NORM_TRAIN_KERNEL);
  if (grad && ours.has(grad.gradFunc)) tf.unregisterGradient(BATCH_NORM_TRAIN_KERNEL);
}

/** Whether the batch normalisation functions below run natively for this input now. */
function nativeApplies(tf: Tf, x: TF.Tensor): boolean {
  if (tf.getBackend() !== 'cpu' || x.dtype !== 'float32' || x.rank < 2 || x.size === 0) return false;
  const kernel = tf.getKernel(BATCH_NORM_TRAIN_KERNEL, 'cpu');
  return kernel !== undefined && ours.has(kernel.kernelFunc);
}

/** The normalised batch and the statistics it was normalised with (the caller disposes all three). */
export interface BatchNormTrainingResult {
  y: TF.Tensor;
  mean: TF.Tensor1D;
  variance: TF.Tensor1D;
}

/**
 * Training-mode batch normalisation over every axis but the last: `y = (x − mean)·gamma/sqrt(variance
 * + epsilon) + beta` with the batch's mean and biased variance, differentiable for x, gamma and beta.
 */
export function batchNormTraining(
  tf: Tf,
  x: TF.Tensor,
  gamma: TF.Tensor1D,
  beta: TF.Tensor1D,
  epsilon: number,
): BatchNormTrainingResult {
  if (!nativeApplies(tf, x)) {
    // TF.js's own composition, exactly as tf.layers' batchNormalization trains.
    return tf.tidy(() => {
      const axes = [...Array(x.rank - 1).keys()];
      const { mean, variance } = tf.moments(x, axes);
      const y = tf.batchNorm(x, mean, variance, beta, gamma, epsilon);
      return { y, mean: mean as TF.Tensor1D, variance: variance as TF.Tensor1D };
    });
  }
  const [y, stats] = tf.engine().runKernel(BATCH_NORM_TRAIN_KERNEL, { x, gamma, beta }, {
    epsilon,
  } as unknown as TF.NamedAttrMap) as TF.Tensor[];
  const [mean, variance] = tf.unstack(stats) as TF.Tensor1D[];
  stats.dispose();
  return { y, mean, variance };
}

/** The moving statistics of a batch normalisation layer and the weight of their old values. */
export interface MovingStatistics {
  mean: TF.Tensor1D;
  variance: TF.Tensor1D;
  /** Weight of the old value in each update (tf.layers' `momentum`). */
  momentum: number;
}

/** The normalised batch and the updated moving statistics (the caller disposes all three). */
export interface BatchNormTrainingStep {
  y: TF.Tensor;
  movingMean: TF.Tensor1D;
  movingVariance: TF.Tensor1D;
}

/**
 * {@link batchNormTraining} and the update of the moving statistics, `old − (old − batch)·(1 − momentum)`
 * as tf.layers writes it: one native kernel on the cpu backend (the step of a normalisation layer is then
 * one operation, not a dozen), TF.js ops elsewhere, with the same float32 results.
 */
export function batchNormTrainingStep(
  tf: Tf,
  x: TF.Tensor,
  gamma: TF.Tensor1D,
  beta: TF.Tensor1D,
  epsilon: number,
  moving: MovingStatistics,
): BatchNormTrainingStep {
  if (!nativeApplies(tf, x)) {
    const { y, mean, variance } = batchNormTraining(tf, x, gamma, beta, epsilon);
    const update = (old: TF.Tensor1D, batch: TF.Tensor1D) =>
      tf.tidy(() => tf.sub(old, tf.mul(tf.sub(old, batch), 1 - moving.momentum)) as TF.Tensor1D);
    const result = {
      y,
      movingMean: update(moving.mean, mean),
      movingVariance: update(moving.variance, variance),
    };
    tf.dispose([mean, variance]);
    return result;
  }
  const [y, stats, movingMean, movingVariance] = tf
    .engine()
    .runKernel(
      BATCH_NORM_TRAIN_KERNEL,
      { x, gamma, beta, movingMean: moving.mean, movingVariance: moving.variance },
      { epsilon, momentum: moving.momentum } as unknown as TF.NamedAttrMap,
    ) as TF.Tensor[];
  stats.dispose();
  return { y, movingMean: movingMean as TF.Tensor1D, movingVariance: movingVariance as TF.Tensor1D };
}
