/**
 * Backend selection: the package's native kernels on the cpu backend when the native engine offers
 * them, else the wasm backend (its `.wasm` files located in the installed package when running in
 * Node, its missing training kernels borrowed from cpu), else the pure-JS cpu backend.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from '../tf/wasm-kernels.js';

/** Which backend {@link useBestBackend} chose, and why. */
export interface BackendChoice {
  /** The active TF.js backend name (`cpu` or `wasm`). */
  backend: string;
  /** Whether the native engine's kernels were registered for that backend. */
  native: boolean;
  /** One line for logs: what was tried and what failed. */
  detail: string;
}

/** Optional hook of `src/kernels`: registers native TF.js kernels and reports whether it did. */
type RegisterNativeKernels = (tfjs: typeof tf) => boolean | Promise<boolean>;

async function nativeKernels(): Promise<RegisterNativeKernels | undefined> {
  try {
    const kernels = (await import('../kernels/index.js')) as {
      registerNativeKernels?: RegisterNativeKernels;
    };
    return typeof kernels.registerNativeKernels === 'function' ? kernels.registerNativeKernels : undefined;
  } catch {
    return undefined;
  }
}

/** Directory of the installed tfjs-backend-wasm `dist` files (with a trailing slash), in Node. */
export function wasmDistPath(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`;
  } catch {
    return undefined;
  }
}

/**
 * Make the wasm backend active, with the training kernels it lacks borrowed from the cpu backend
 * (see wasm-kernels.ts); true when it initialised.
 */
export async function useWasmBackend(): Promise<boolean> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (isNode) {
    const path = wasmDistPath();
    // Emscripten reads the files from disk in Node (the platform fetch cannot open paths); threads
    // would need a worker setup Node lacks here.
    if (path) wasm.setWasmPaths(path);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } catch {
    return false;
  }
  if (ok) registerWasmTrainingKernels();
  return ok;
}

/**
 * The cpu backend prints advice to install tfjs-node on its first tensor in Node. With the native kernels
 * registered that advice is wrong (they are the fast path here), so the one-time notice is marked as
 * already shown. Only the notice is affected: no tfjs flag changes.
 */
function silenceNodeBackendAdvice(): void {
  const backend = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (backend && backend.firstUse === true) backend.firstUse = false;
}

/**
 * Pick the fastest available backend: native kernels (cpu backend plus `registerNativeKernels` from
 * the native engine, when it exports one and reports success), else wasm, else cpu.
 */
export async function useBestBackend(options: { allowWasm?: boolean } = {}): Promise<BackendChoice> {
  const notes: string[] = [];
  const register = await nativeKernels();
  if (register) {
    try {
      await tf.setBackend('cpu');
      if (await register(tf)) {
        silenceNodeBackendAdvice();
        return { backend: 'cpu', native: true, detail: 'cpu backend with native kernels' };
      }
      notes.push('native kernels unavailable');
    } catch (err) {
      notes.push(`native kernels failed (${(err as Error).message})`);
    }
  } else notes.push('no native kernel hook');
  if (options.allowWasm ?? true) {
    try {
      if (await useWasmBackend())
        return { backend: 'wasm', native: false, detail: [...notes, 'wasm'].join('; ') };
      notes.push('wasm did not initialise');
    } catch (err) {
      notes.push(`wasm failed (${(err as Error).message})`);
    }
  }
  await tf.setBackend('cpu');
  return { backend: 'cpu', native: false, detail: [...notes, 'cpu'].join('; ') };
}
