/**
 * SGD with momentum as one native kernel per variable. TF.js's `MomentumOptimizer` takes each variable's
 * step as four ops (two Mul, two Add) with their intermediate tensors; on a network of a few hundred
 * small variables (MobileFaceNet: 183) that bookkeeping costs far more than the arithmetic. While the
 * native kernels are registered, {@link registerMomentumKernel} installs {@link MOMENTUM_KERNEL} and an
 * `applyGradients` on `MomentumOptimizer.prototype` that runs it for float32 variables on the cpu backend:
 * the same slots, in the same order, and the same float32 values to the bit (each product rounded before
 * its sum, as the separate ops round them), so checkpoints and resumed runs do not change. Nesterov
 * momentum, other backends and other dtypes run TF.js's own method.
 */
import type * as TF from '@tensorflow/tfjs';
import { loadEngine, type NativeBinding } from '../engine/native.js';
import {
  type CpuBackend,
  floats,
  type KernelArgs,
  outputFloats,
  type TensorInfo,
  type Tf,
} from './backend-access.js';

/**
 * Inputs `accumulation`, `gradient`, `value` (one shape) and the scalars `m` (momentum) and `c` (−learning
 * rate); outputs `[m·accumulation + gradient, c·(that) + value]`.
 */
export const MOMENTUM_KERNEL = 'FvlMomentumUpdate';

/** The parts of TF.js's MomentumOptimizer (and its SGD base) that its step reads. */
interface MomentumInternals {
  accumulations: ({ originalName: string; variable: TF.Variable } | null | undefined)[];
  m: TF.Scalar;
  c: TF.Scalar;
  useNesterov: boolean;
  incrementIterations(): void;
}

type ApplyGradients = TF.MomentumOptimizer['applyGradients'];
type VariableGradients = Parameters<ApplyGradients>[0];

/** Functions installed here, to recognise them whatever tfjs namespace is passed. */
const ours = new WeakSet<object>();
/** TF.js's own `applyGradients`, while ours replaces it. */
let previousApply: ApplyGradients | undefined;

function kernel(engine: NativeBinding, args: KernelArgs): TensorInfo[] {
  const backend = args.backend as unknown as CpuBackend;
  const { accumulation, gradient, value, m, c } = args.inputs;
  const [A, G, V, M, C] = [accumulation, gradient, value, m, c].map((t) => floats(backend, t));
  if (
    !A ||
    !G ||
    !V ||
    !M ||
    !C ||
    G.length !== A.length ||
    V.length !== A.length ||
    M.length !== 1 ||
    C.length !== 1
  ) {
    throw new Error(
      `${MOMENTUM_KERNEL} needs float32 accumulation, gradient and value of one size and scalar m, c`,
    );
  }
  const newAccumulation = outputFloats(A.length);
  const newValue = outputFloats(A.length);
  engine.momentumUpdate(A, G, V, newAccumulation, newValue, M[0], C[0]);
  const shape = [...value!.shape];
  return [
    backend.makeTensorInfo(shape, 'float32', newAccumulation),
    backend.makeTensorInfo(shape, 'float32', newValue),
  ];
}

/** Whether the kernel takes this variable's step: float32 tensors of one shape. */
function fits(tf: Tf, value: TF.Tensor, accumulation: TF.Tensor, gradient: TF.Tensor): boolean {
  return (
    value.dtype === 'float32' &&
    accumulation.dtype === 'float32' &&
    gradient.dtype === 'float32' &&
    tf.util.arraysEqual(value.shape, gradient.shape) &&
    tf.util.arraysEqual(value.shape, accumulation.shape)
  );
}

/**
 * TF.js 4.22's `MomentumOptimizer.applyGradients`, with the step of each variable as one kernel: slots
 * are created, named and ordered as there, and variables without a gradient are skipped as there.
 */
function fusedApplyGradients(tf: Tf, original: ApplyGradients): ApplyGradients {
  const apply = function (this: TF.MomentumOptimizer, variableGradients: VariableGradients) {
    const self = this as unknown as MomentumInternals;
    const kernelIsOurs = ours.has(tf.getKernel(MOMENTUM_KERNEL, 'cpu')?.kernelFunc ?? {});
    if (self.useNesterov || tf.getBackend() !== 'cpu' || !kernelIsOurs) {
      return original.call(this, variableGradients);
    }
    const list = Array.isArray(variableGradients) ? variableGradients : null;
    const names = list ? list.map((item) => item.name) : Object.keys(variableGradients);
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      if (self.accumulations[i] == null) {
        self.accumulations[i] = {
          originalName: `${name}/momentum`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
      }
      const accumulation = self.accumulations[i]!.variable;
      const gradient = list ? list[i].tensor : (variableGradients as TF.NamedTensorMap)[name];
      if (gradient == null) return;
      tf.tidy(() => {
        let next: TF.Tensor;
        let updated: TF.Tensor;
        if (fits(tf, value, accumulation, gradient)) {
          [next, updated] = tf.engine().runKernel(MOMENTUM_KERNEL, {
            accumulation,
            gradient,
            value,
            m: self.m,
            c: self.c,
          }) as TF.Tensor[];
        } else {
          next = tf.add(tf.mul(self.m, accumulation), gradient);
          updated = tf.add(tf.mul(self.c, next), value);
        }
        accumulation.assign(next);
        value.assign(updated);
      });
    });
    self.incrementIterations();
  };
  ours.add(apply);
  return apply as ApplyGradients;
}

/**
 * Registers {@link MOMENTUM_KERNEL} on the cpu backend and the fused `applyGradients`; false (and nothing
 * changed) when the native engine is not available. Idempotent.
 */
export function registerMomentumKernel(tf: Tf): boolean {
  const engine = loadEngine();
  if (!engine) return false;
  if (!tf.getKernel(MOMENTUM_KERNEL, 'cpu')) {
    const kernelFunc = ((args: KernelArgs) => kernel(engine, args)) as unknown as TF.KernelFunc;
    ours.add(kernelFunc);
    tf.registerKernel({ kernelName: MOMENTUM_KERNEL, backendName: 'cpu', kernelFunc });
  }
  const proto = tf.MomentumOptimizer.prototype;
  if (!ours.has(proto.applyGradients)) {
    previousApply = proto.applyGradients;
    proto.applyGradients = fusedApplyGradients(tf, previousApply);
  }
  return true;
}

/** Removes what {@link registerMomentumKernel} installed. Idempotent. */
export function unregisterMomentumKernel(tf: Tf): void {
  const kernel = tf.getKernel(MOMENTUM_KERNEL, 'cpu');
  if (kernel && ours.has(kernel.kernelFunc)) tf.unregisterKernel(MOMENTUM_KERNEL, 'cpu');
  const proto = tf.MomentumOptimizer.prototype;
  if (ours.has(proto.applyGradients) && previousApply) {
    proto.applyGradients = previousApply;
    previousApply = undefined;
  }
}
