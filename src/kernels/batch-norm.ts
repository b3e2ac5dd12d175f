/**
 * Batch normalisation in training mode as two native kernels: {@link BATCH_NORM_TRAIN_KERNEL} (the batch
 * statistics and the normalised output in one call) and {@link BATCH_NORM_TRAIN_GRAD_KERNEL} (the whole
 * gradient, through the batch mean and variance, for x, gamma and beta). TF.js composes the same
 * computation from moments and batchNorm ops, whose gradient is a dozen passes over the activations
 * (most of a MobileFaceNet step). {@link batchNormTraining} is the op: native on the cpu backend while
 * the kernels are registered, TF.js's composition (as tf.layers computes it) anywhere else.
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

/** Kernel of the forward: inputs `x`, `gamma`, `beta`; attribute `epsilon`; outputs `[y, mean, variance]`. */
export const BATCH_NORM_TRAIN_KERNEL = 'FvlBatchNormTrain';
/** Kernel of the gradient: inputs `dy`, `x`, `gamma`, `mean`, `variance`; outputs `[dx, dgamma, dbeta]`. */
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

function forward(engine: NativeBinding, args: KernelArgs): TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { x, gamma, beta } = args.inputs;
  const { epsilon } = args.attrs as { epsilon: number };
  const at = layout(backend, x, [gamma, beta]);
  if (!at)
    throw new Error(`${BATCH_NORM_TRAIN_KERNEL} needs float32 channels-last x and per-channel gamma, beta`);
  const Y = outputFloats(at.X.length);
  const mean = new Float32Array(at.channels);
  const variance = new Float32Array(at.channels);
  const G = gamma ? floats(backend, gamma) : null;
  const B = beta ? floats(backend, beta) : null;
  engine.batchNormTrain(at.X, G, B, Y, mean, variance, at.rows, at.channels, epsilon);
  return [
    backend.makeTensorInfo([...x!.shape], 'float32', Y),
    backend.makeTensorInfo([at.channels], 'float32', mean),
    backend.makeTensorInfo([at.channels], 'float32', variance),
  ];
}

function backward(engine: NativeBinding, args: KernelArgs): TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { dy, x, gamma, mean, variance } = args.inputs;
  const { epsilon } = args.attrs as { epsilon: number };
  const at = layout(backend, x, [gamma, mean, variance]);
  const D = floats(backend, dy);
  if (!at || !D || D.length !== at.X.length || !mean || !variance) {
    throw new Error(
      `${BATCH_NORM_TRAIN_GRAD_KERNEL} needs float32 dy and x of one shape and per-channel statistics`,
    );
  }
  const dX = outputFloats(at.X.length);
  const dG = new Float32Array(at.channels);
  const dB = new Float32Array(at.channels);
  const G = gamma ? floats(backend, gamma) : null;
  engine.batchNormTrainGrad(
    D,
    at.X,
    G,
    floats(backend, mean)!,
    floats(backend, variance)!,
    dX,
    dG,
    dB,
    at.rows,
    at.channels,
    epsilon,
  );
  return [
    backend.makeTensorInfo([...x!.shape], 'float32', dX),
    backend.makeTensorInfo([at.channels], 'float32', dG),
    backend.makeTensorInfo([at.channels], 'float32', dB),
  ];
}

/** Registers both kernels on the cpu backend; false when the native engine is not available. Idempotent. */
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
  return true;
}

/** Removes the kernels {@link registerBatchNormKernels} registered. Idempotent. */
export function unregisterBatchNormKernels(tf: Tf): void {
  for (const name of [BATCH_NORM_TRAIN_KERNEL, BATCH_NORM_TRAIN_GRAD_KERNEL]) {
    const kernel = tf.getKernel(name, 'cpu');
    if (kernel && ours.has(kernel.kernelFunc)) tf.unregisterKernel(name, 'cpu');
  }
}

/** Whether {@link batchNormTraining} runs natively for this input now. */
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
  let stats: TF.Tensor[] = [];
  const op = tf.customGrad((xi, gi, bi, save) => {
    const outputs = tf
      .engine()
      .runKernel(
        BATCH_NORM_TRAIN_KERNEL,
        { x: xi as TF.Tensor, gamma: gi as TF.Tensor, beta: bi as TF.Tensor },
        { epsilon } as unknown as TF.NamedAttrMap,
      ) as TF.Tensor[];
    const [y, mean, variance] = outputs;
    (save as unknown as (t: TF.Tensor[]) => void)([xi as TF.Tensor, gi as TF.Tensor, mean, variance]);
    // The statistics leave the op beside its value, for the moving averages.
    stats = [tf.keep(mean.clone()), tf.keep(variance.clone())];
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [sx, sg, sm, sv] = saved as TF.Tensor[];
        return tf
          .engine()
          .runKernel(
            BATCH_NORM_TRAIN_GRAD_KERNEL,
            { dy: dy as TF.Tensor, x: sx, gamma: sg, mean: sm, variance: sv },
            { epsilon } as unknown as TF.NamedAttrMap,
          ) as TF.Tensor[];
      },
    };
  });
  const y = op(x, gamma, beta) as TF.Tensor;
  return { y, mean: stats[0] as TF.Tensor1D, variance: stats[1] as TF.Tensor1D };
}
