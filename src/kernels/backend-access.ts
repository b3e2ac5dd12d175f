/**
 * What the native TF.js `cpu` kernels (`tf-kernels.ts`, `nn.ts`, `elementwise.ts`)
 * share: the kernel types, the parts of the cpu backend they read and write, direct access to a
 * tensor's Float32Array, and the call into the kernel a native one replaced for the cases it does not
 * cover.
 */
import type * as TF from '@tensorflow/tfjs';

export type Tf = typeof TF;
export type TensorInfo = TF.TensorInfo;
export type KernelConfig = TF.KernelConfig;
export type KernelArgs = Parameters<TF.KernelFunc>[0];

/** The parts of the cpu backend these kernels use. */
export interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: TF.DataType, values?: Float32Array): TensorInfo;
}

/** Values of a float32 tensor on the cpu backend, or null when they are not a Float32Array. */
export function floats(backend: CpuBackend, info: TensorInfo | undefined): Float32Array | null {
  if (info?.dtype !== 'float32') return null;
  const values = backend.data.get(info.dataId)?.values;
  return values instanceof Float32Array ? values : null;
}

/** Number of elements of a tensor of `shape`. */
export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Run the kernel that was registered for `name` before a native one (kept in `previous`). */
export function fallBackOn<Name extends string>(
  previous: ReadonlyMap<Name, KernelConfig>,
  name: Name,
  args: KernelArgs,
): TensorInfo | TensorInfo[] {
  const original = previous.get(name);
  if (!original) throw new Error(`no ${name} kernel to fall back on for the cpu backend`);
  return original.kernelFunc(args);
}

/**
 * Register on the cpu backend, for each of `names` that TF.js registers, the kernel `make` builds,
 * keeping the one it replaces in `previous` and marking the new one in `ours`. A kernel already ours is
 * left as it is (registering is idempotent); a name with no kernel is left to TF.js, as there would be
 * nothing to fall back on.
 */
export function replaceKernels<Name extends string>(
  tf: Tf,
  names: readonly Name[],
  ours: WeakSet<object>,
  previous: Map<Name, KernelConfig>,
  make: (name: Name) => TF.KernelFunc,
): void {
  for (const name of names) {
    const current = tf.getKernel(name, 'cpu');
    if (current && ours.has(current.kernelFunc)) continue;
    if (!current) continue; // Nothing to fall back on: leave this kernel to TF.js.
    previous.set(name, current);
    const kernelFunc = make(name);
    ours.add(kernelFunc);
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ ...current, kernelName: name, backendName: 'cpu', kernelFunc });
  }
}

/** Put back the kernels {@link replaceKernels} replaced, where ours is still registered. Idempotent. */
export function restoreKernels<Name extends string>(
  tf: Tf,
  names: readonly Name[],
  ours: WeakSet<object>,
  previous: Map<Name, KernelConfig>,
): void {
  for (const name of names) {
    const current = tf.getKernel(name, 'cpu');
    const original = previous.get(name);
    if (!current || !original || !ours.has(current.kernelFunc)) continue;
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel(original);
    previous.delete(name);
  }
}

/** Whether the kernel the cpu backend runs now for `name` is one of `ours`. */
export function kernelIsOurs(tf: Tf, name: string, ours: WeakSet<object>): boolean {
  const current = tf.getKernel(name, 'cpu');
  return !!current && ours.has(current.kernelFunc);
}

export { outputFloats, zeroedFloats } from './buffer-pool.js';
