/**
 * Loading the native engine (build/Release/faceverloss.node, built from native/ by `npm install`).
 *
 * The engine is optional. {@link loadEngine} returns `null` when it is not built, cannot be loaded on this
 * machine or is disabled with `FACEVERLOSS_NATIVE=0`, and remembers why ({@link engineInfo}); callers
 * then use their JavaScript path. Code that was explicitly asked to run natively passes `{ warn: true }`
 * (one warning per process) or calls {@link requireEngine}, which throws {@link NativeUnavailableError}.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeUnavailableError } from '../errors.js';

/** Micro-kernel families, slowest to fastest. `scalar` is portable C++ vectorised by the compiler. */
export type DispatchLevel = 'scalar' | 'avx2' | 'avx512';

/** The raw binding. Prefer the validated wrappers in `./gemm.ts`; these functions trust shapes less. */
export interface NativeBinding {
  readonly abiVersion: number;
  info(): NativeInfo;
  setThreads(n: number): number;
  setDispatch(level: DispatchLevel): DispatchLevel;
  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    beta: number,
    C: Float32Array,
    ldc: number,
  ): void;
  sgemmAsync(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    beta: number,
    C: Float32Array,
    ldc: number,
  ): Promise<Float32Array>;
}

interface NativeInfo {
  dispatch: DispatchLevel;
  detected: DispatchLevel;
  levels: DispatchLevel[];
  threads: number;
  defaultThreads: number;
  sgemmTile: { mr: number; nr: number; kc: number; mc: number; nc: number };
  arch: string;
}

/** What {@link engineInfo} reports. */
export type EngineInfo =
  | ({ available: true; path: string } & NativeInfo)
  | { available: false; reason: string; path: string };

/** Version of the binding's calling convention; bumped together with native/src/addon.cc. */
const ABI_VERSION = 1;

// This file sits two levels below the package root both as src/engine/native.ts and as
// dist/engine/native.js, so the build directory is found the same way from either.
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const defaultPath = join(packageRoot, 'build', 'Release', 'faceverloss.node');

type LoadResult = { binding: NativeBinding; path: string } | { binding: null; reason: string; path: string };

let loaded: LoadResult | undefined;
let warned = false;

/**
 * Loads an addon from `path` without caching (exported for tests and tools). The result says why a
 * load failed in words a user can act on.
 */
export function loadEngineFrom(path: string): LoadResult {
  if (!existsSync(path)) {
    return {
      binding: null,
      path,
      reason: `${path} is not built (run \`npm run build:native\`; a C++17 compiler is needed)`,
    };
  }
  try {
    const require = createRequire(import.meta.url);
    const binding = require(path) as NativeBinding;
    if (binding.abiVersion !== ABI_VERSION) {
      return {
        binding: null,
        path,
        reason: `${path} is stale (binding version ${binding.abiVersion}, expected ${ABI_VERSION}; run \`npm run build:native\`)`,
      };
    }
    return { binding, path };
  } catch (err) {
    return { binding: null, path, reason: `${path} failed to load: ${(err as Error).message}` };
  }
}

function load(): LoadResult {
  if (loaded === undefined) {
    loaded =
      process.env.FACEVERLOSS_NATIVE === '0'
        ? { binding: null, path: defaultPath, reason: 'disabled by FACEVERLOSS_NATIVE=0' }
        : loadEngineFrom(defaultPath);
  }
  return loaded;
}

/**
 * The native binding, or `null` when it is unavailable (the reason is in {@link engineInfo}). With
 * `warn: true` — for callers that were asked to run natively — an unavailable engine is reported once
 * per process on stderr.
 */
export function loadEngine(options: { warn?: boolean } = {}): NativeBinding | null {
  const result = load();
  if (result.binding === null && options.warn && !warned) {
    warned = true;
    process.emitWarning(`native engine unavailable, using the JavaScript implementation: ${result.reason}`, {
      code: 'FACEVERLOSS_NATIVE_UNAVAILABLE',
    });
  }
  return result.binding;
}

/** The native binding; throws {@link NativeUnavailableError} (with the reason) when it is unavailable. */
export function requireEngine(): NativeBinding {
  const result = load();
  if (result.binding === null) throw new NativeUnavailableError(result.reason);
  return result.binding;
}

/** Whether the engine loaded, and if so its dispatch level, thread count and GEMM tile; else why not. */
export function engineInfo(): EngineInfo {
  const result = load();
  if (result.binding === null) return { available: false, reason: result.reason, path: result.path };
  return { available: true, path: result.path, ...result.binding.info() };
}
