/**
 * Small TF.js building blocks with well-defined gradients everywhere: row norms and normalisation that
 * stay finite at a zero row, a value with an identity gradient (in-place parameter replacement), and
 * one-hot selection by matrix product (no gather, whose gradient is missing or slow on some backends).
 */
import * as tf from '@tensorflow/tfjs';
import { NORMALIZE_EPS } from '../margin/geometry.js';

/** Backward of a custom op: dL/doutput and the saved tensors → dL/dinput per input. */
export type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/**
 * `tf.customGrad` with plain tensor-array typing: `forward(inputs, save)` returns the value and its
 * backward. Inside `forward` nothing is recorded for autograd, so any op may be used there.
 */
export function customOp(
  forward: (inputs: tf.Tensor[], save: (t: tf.Tensor[]) => void) => { value: tf.Tensor; gradFunc: GradFunc },
): (...inputs: tf.Tensor[]) => tf.Tensor {
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as (t: tf.Tensor[]) => void;
    return forward(args as tf.Tensor[], save);
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (...inputs: tf.Tensor[]) => op(...inputs) as tf.Tensor;
}

/**
 * ‖x_i‖ of each row of a B×D matrix, shape [B]. The gradient is x_i/‖x_i‖ and 0 for a zero row
 * (autograd of sqrt would give NaN there).
 */
const rowNormOp = customOp(([x], save) => {
  const n = tf.sqrt(tf.sum(tf.square(x), 1));
  save([x, n]);
  return {
    value: n,
    gradFunc: (dy, [sx, sn]) => {
      const positive = tf.step(sn);
      const inv = tf.div(positive, tf.add(sn, tf.sub(1, positive)));
      return tf.mul(sx, tf.expandDims(tf.mul(dy, inv), 1));
    },
  };
});

export function rowNorm(x: tf.Tensor2D): tf.Tensor1D {
  return rowNormOp(x) as tf.Tensor1D;
}

/**
 * x_i / max(‖x_i‖, eps) row-wise, as torch.nn.functional.normalize. The gradient follows by autograd:
 * (g − x̂·(x̂·g))/‖x‖ above eps and g/eps below (the same as the fp64 reference).
 */
export function normalizeRows(x: tf.Tensor2D, norms: tf.Tensor1D = rowNorm(x)): tf.Tensor2D {
  return tf.div(x, tf.expandDims(tf.maximum(norms, NORMALIZE_EPS), 1));
}

/**
 * `replacement` as the forward value, with the gradient passed to `source` unchanged: how a parameter
 * that the reference code overwrites in forward (normalised W, clamped AdaM margins) is differentiated.
 */
export function withIdentityGradient<T extends tf.Tensor>(source: T, replacement: T): T {
  const op = customOp(([, r]) => ({
    value: tf.clone(r),
    gradFunc: (dy) => [dy, tf.zerosLike(dy)],
  }));
  return op(source, replacement) as T;
}

/** One-hot rows as float32, B×C. */
export function oneHotFloat(labels: Int32Array, C: number): tf.Tensor2D {
  const data = new Float32Array(labels.length * C);
  for (let i = 0; i < labels.length; i++) data[i * C + labels[i]] = 1;
  return tf.tensor2d(data, [labels.length, C]);
}

/** Rows of `table` (C×D) selected by one-hot rows (B×C): a gather written as a product. */
export function selectRows(oneHot: tf.Tensor2D, table: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(oneHot, table);
}

/** a · bᵀ with an explicit transpose (the transposed matMul is several times slower on wasm). */
export function matMulTransposed(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(a, tf.transpose(b));
}

/** A value that ignores its gradient: `x` in the forward pass, a constant for the backward pass. */
export function detach<T extends tf.Tensor>(x: T): T {
  return constantOf(([v]) => tf.clone(v), x) as T;
}

/**
 * A value computed from tensors but treated as a constant: nothing inside `f` is recorded for autograd,
 * and every input receives a zero gradient.
 */
export function constantOf(f: (inputs: tf.Tensor[]) => tf.Tensor, ...inputs: tf.Tensor[]): tf.Tensor {
  const op = customOp((ins) => ({
    value: f(ins),
    gradFunc: () => ins.map((t) => tf.zerosLike(t)),
  }));
  return op(...inputs);
}
