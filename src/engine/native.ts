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

/** Positional arguments of the addon's GEMM entry points, in the order the C++ side reads them. */
export type SgemmParams = [
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
];

/** The raw binding. Prefer the validated wrappers in `./gemm.ts`; these functions trust shapes less. */
export interface NativeBinding {
  /** Version of the calling convention the addon was built with; a mismatch means a stale build. */
  readonly abiVersion: number;
  /** The active dispatch level, what the CPU supports, the thread pool's size and the GEMM tile. */
  info(): NativeInfo;
  /** Resizes the thread pool (`0`: the default size); returns the new size. Checked wrapper: `threads.ts`. */
  setThreads(n: number): number;
  /** Selects the micro-kernel family and returns the active one. Checked wrapper: `threads.ts`. */
  setDispatch(level: DispatchLevel): DispatchLevel;
  /**
   * `C = alpha · op(A) · op(B) + beta · C` in place in `C`, on the calling thread; `op(X)` is `Xᵀ` when
   * its `trans` flag is set, `lda`/`ldb`/`ldc` are row strides. Checked wrapper: `sgemm` in `gemm.ts`.
   */
  sgemm(...args: SgemmParams): void;
  /** The same product on a worker thread; resolves to `C`. Checked wrapper: `sgemmAsync` in `gemm.ts`. */
  sgemmAsync(...args: SgemmParams): Promise<Float32Array>;
  /**
   * The active micro-kernel family's multiply-add peak, measured (about 20 ms) on every pool thread at
   * once, each on its own CPU clock: GFLOP/s per thread and their sum. What `bench` divides by.
   */
  fmaPeak(): { gflops: number; threadGflops: number[] };
  /**
   * The active micro-kernel alone, timed like `fmaPeak`: repeated calls on one packed micro-panel of each
   * operand at the driver's depth for this CPU (`depth`), which stay in L1. The most any product can
   * reach; what a product falls short of it goes to packing and to traffic between caches and memory.
   */
  kernelRate(): { gflops: number; threadGflops: number[]; depth: number };
  /** PReLU over `rows` rows of `channels` values: `y = x < 0 ? alpha[c]·x : x`. Caller: `src/kernels/nn.ts`. */
  preluForward(x: Float32Array, alpha: Float32Array, y: Float32Array, rows: number, channels: number): void;
  /**
   * The PReLU gradient in one pass: `dx = x > 0 ? dy : dy·alpha[c]`, `dalpha[c]` = the sum over rows
   * of `x > 0 ? 0 : dy·x` and, when `dxSum` is given, `dxSum[c]` = the sum over rows of `dx`.
   * Caller: `src/kernels/nn.ts`.
   */
  preluBackward(
    dy: Float32Array,
    x: Float32Array,
    alpha: Float32Array,
    dx: Float32Array,
    dalpha: Float32Array,
    rows: number,
    channels: number,
    dxSum?: Float32Array,
  ): void;
  /**
   * NHWC max pooling into `y`. `geometry`: batch, inH, inW, channels, outH, outW, filterH, filterW,
   * strideH, strideW, padTop, padLeft. Caller: `src/kernels/nn.ts`.
   */
  maxPool(x: Float32Array, y: Float32Array, geometry: number[]): void;
  /**
   * Writes into `dx` the gradient of `maxPool`: `dy` at the first maximum of each window of `x`, summed
   * where windows overlap, 0 elsewhere (geometry as for `maxPool`).
   */
  maxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, geometry: number[]): void;
  /**
   * Training-mode batch normalisation over `rows` rows of `channels` values: writes the per-channel
   * `mean` and biased `variance` and `y = (x − mean)·gamma/sqrt(variance + epsilon) + beta` (gamma,
   * beta null: 1, 0). Caller: `src/kernels/batch-norm.ts`.
   */
  batchNormTrain(
    x: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    rows: number,
    channels: number,
    epsilon: number,
  ): void;
  /** The gradient of `batchNormTrain` for x (through the batch statistics), gamma and beta. */
  batchNormTrainGrad(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array | null,
    mean: Float32Array,
    variance: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    rows: number,
    channels: number,
    epsilon: number,
  ): void;
  /**
   * NHWC convolution into `y` (an implicit GEMM: no patch matrix), filter `[fH, fW, inC, outC]`, then
   * `bias` (1 or outC values, or null) and an activation: 0 linear, 1 relu, 2 prelu (`alpha`: 1 or outC
   * values), 3 leakyrelu (`leakyAlpha`), 4 relu6. `geometry`: batch, inH, inW, inC, outH, outW, outC, fH,
   * fW, strideH, strideW, dilationH, dilationW, padTop, padLeft. Caller: `src/kernels/matmul-conv.ts`.
   */
  convForward(
    x: Float32Array,
    filter: Float32Array,
    y: Float32Array,
    geometry: number[],
    bias: Float32Array | null,
    activation: number,
    alpha: Float32Array | null,
    leakyAlpha: number,
  ): void;
  /** Gradient of `convForward`'s product for its input, written to `dx` (geometry as for `convForward`). */
  convGradInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: number[]): void;
  /** Gradient of `convForward`'s product for its filter, written to `dfilter` (same geometry). */
  convGradFilter(x: Float32Array, dy: Float32Array, dfilter: Float32Array, geometry: number[]): void;
  /**
   * NHWC depthwise convolution into `y`; filter `[fH, fW, C, multiplier]`. `geometry`: batch, inH, inW,
   * C, multiplier, outH, outW, fH, fW, strideH, strideW, dilationH, dilationW, padTop, padLeft.
   * Caller: `src/kernels/nn.ts`.
   */
  depthwiseConv(x: Float32Array, filter: Float32Array, y: Float32Array, geometry: number[]): void;
  /** Gradient of `depthwiseConv` for its input, written to `dx` (geometry as for `depthwiseConv`). */
  depthwiseConvGradInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: number[]): void;
  /** Gradient of `depthwiseConv` for its filter, written to `dfilter` (geometry as for `depthwiseConv`). */
  depthwiseConvGradFilter(x: Float32Array, dy: Float32Array, dfilter: Float32Array, geometry: number[]): void;
  /**
   * `y = a op b` over `n` elements laid out as rows of `channels`; each operand holds `period` values:
   * `n` (one per element), `channels` (one per column, repeated every row) or 1 (one for all).
   * Caller: `src/kernels/elementwise.ts`.
   */
  binaryOp(
    op: 'add' | 'sub' | 'mul' | 'div' | 'squaredDifference',
    a: Float32Array,
    aPeriod: number,
    b: Float32Array,
    bPeriod: number,
    y: Float32Array,
    n: number,
    channels: number,
  ): void;
  /**
   * One step of SGD with momentum as TF.js's MomentumOptimizer takes it, each operation rounded to
   * float32: `newAcc = m·acc + grad`, `newValue = c·newAcc + value` (c = −learning rate), over
   * `acc.length` values. Caller: `src/kernels/momentum.ts`.
   */
  momentumUpdate(
    acc: Float32Array,
    grad: Float32Array,
    value: Float32Array,
    newAcc: Float32Array,
    newValue: Float32Array,
    m: number,
    c: number,
  ): void;
  /**
   * Batch normalisation with given statistics over `n` elements in rows of `channels`, in double as
   * TF.js computes it: `y = offset + (x − mean) · scale / √(variance + epsilon)`; each parameter
   * holds 1 or `channels` values. Caller: `src/kernels/elementwise.ts`.
   */
  batchNorm(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array,
    offset: Float32Array,
    y: Float32Array,
    n: number,
    channels: number,
    epsilon: number,
  ): void;
  /**
   * `x` viewed as `[outer, reduce, inner]`: `y[o, k]` = the sum over `r` of `x[o, r, k]` (divided by
   * `reduce` when `mean` is set), accumulated in double in an order fixed by the shape.
   * Caller: `src/kernels/elementwise.ts`.
   */
  reduceSum(
    x: Float32Array,
    y: Float32Array,
    outer: number,
    reduce: number,
    inner: number,
    mean: boolean,
  ): void;
}

/** What the loaded engine reports about itself ({@link NativeBinding.info}). */
export interface NativeInfo {
  /** The micro-kernel family in use. */
  dispatch: DispatchLevel;
  /** The fastest family this CPU supports (the default for `dispatch`). */
  detected: DispatchLevel;
  /** Every family this CPU can run, slowest first. */
  levels: DispatchLevel[];
  /** Current size of the thread pool. */
  threads: number;
  /** Pool size that `setThreads(0)` restores: `FACEVERLOSS_THREADS` when set, else the usable cores. */
  defaultThreads: number;
  /**
   * Blocking of the active GEMM kernel: an `mr`×`nr` register tile, `kc`-deep panels, `mc`-row blocks of
   * `op(A)` and `nc`-column blocks of `op(B)`.
   */
  sgemmTile: { mr: number; nr: number; kc: number; mc: number; nc: number };
  /** CPU architecture the addon was compiled for: `x64`, `arm64` or `other`. */
  arch: string;
  /**
   * Whether the engine tuned glibc's allocator when it loaded, so freed tensor memory is reused instead
   * of mapped and faulted in afresh every step (`FACEVERLOSS_MALLOC_TUNING=0` turns it off).
   */
  allocatorTuned: boolean;
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
