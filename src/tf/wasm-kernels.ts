/**
 * Training kernels the wasm backend of TF.js 4.22 lacks (convolution filter gradients, depthwise
 * gradients, and UnsortedSegmentSum, which the gather gradient uses), supplied by running the cpu
 * backend's kernel on a copy of the inputs. Slower than a native wasm kernel, but it lets models with
 * convolutions or embeddings train on wasm instead of failing with "kernel not registered".
 */
import * as tf from '@tensorflow/tfjs';

/** Kernels borrowed from the cpu backend when wasm has none. */
export const BORROWED_KERNELS = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
] as const;

interface DataBackend {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  makeOutput?(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues,
  ): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/**
 * Register the borrowed kernels for `wasm` (idempotent). Returns the names it registered now; kernels
 * wasm already has, or the cpu backend lacks, are left alone.
 */
export function registerWasmTrainingKernels(): string[] {
  const registered: string[] = [];
  for (const name of BORROWED_KERNELS) {
    const cpuKernel = tf.getKernel(name, 'cpu');
    if (!cpuKernel || tf.getKernel(name, 'wasm')) continue;
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs, backend }) => {
        const wasm = backend as unknown as DataBackend;
        const cpu = tf.findBackend('cpu') as unknown as DataBackend;
        const copies: Record<string, tf.TensorInfo> = {};
        for (const [key, info] of Object.entries(inputs)) {
          if (!info) continue;
          copies[key] = cpu.makeTensorInfo!(info.shape, info.dtype, wasm.readSync(info.dataId));
        }
        try {
          const out = cpuKernel.kernelFunc({
            inputs: copies,
            attrs,
            backend: cpu as unknown as tf.KernelBackend,
          });
          const outs = Array.isArray(out) ? out : [out];
          const results = outs.map((o) => {
            const values = cpu.readSync(o.dataId);
            cpu.disposeData(o.dataId, true);
            return wasm.makeOutput!(o.shape, o.dtype, undefined, values);
          });
          return Array.isArray(out) ? results : results[0];
        } finally {
          for (const info of Object.values(copies)) cpu.disposeData(info.dataId, true);
        }
      },
    });
    registered.push(name);
  }
  return registered;
}
