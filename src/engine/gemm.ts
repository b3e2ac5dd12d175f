/**
 * Single-precision matrix products, row-major: `C = alpha · op(A) · op(B) + beta · C`, where `op(X)` is
 * `X` or `Xᵀ`. `op(A)` is M×K, `op(B)` is K×N, `C` is M×N. Stored shapes: `A` is M×K (K×M when
 * `transA`), `B` is K×N (N×K when `transB`); `lda`/`ldb`/`ldc` are row strides and default to the row
 * length. The three products of a face-head step are `cos = X·Wᵀ` (NT), `dX = G·W` (NN) and
 * `dW = Gᵀ·X` (TN).
 *
 * {@link sgemm} and {@link sgemmAsync} run on the native engine and work on the arrays in place.
 * {@link sgemmJs} is the same contract in plain JavaScript, for machines without the engine.
 */
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { requireEngine } from './native.js';

export interface SgemmArgs {
  transA?: boolean;
  transB?: boolean;
  M: number;
  N: number;
  K: number;
  /** Default 1. */
  alpha?: number;
  A: Float32Array;
  lda?: number;
  B: Float32Array;
  ldb?: number;
  /** Default 0: C is then write-only (NaN in C does not propagate). */
  beta?: number;
  /** Output; must not share memory with A or B. */
  C: Float32Array;
  ldc?: number;
}

interface Checked {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  A: Float32Array;
  lda: number;
  B: Float32Array;
  ldb: number;
  beta: number;
  C: Float32Array;
  ldc: number;
}

function dim(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(name, 'a non-negative integer', value);
  }
  return value;
}

function scalar(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError(name, 'a finite number', value);
  }
  return value;
}

function matrix(
  name: string,
  value: unknown,
  rows: number,
  cols: number,
  ld: unknown,
  shape: string,
): [Float32Array, number] {
  if (!(value instanceof Float32Array)) throw new InvalidArgumentError(name, 'a Float32Array', value);
  const stride = ld === undefined ? cols : dim(`ld${name.toLowerCase()}`, ld);
  if (stride < cols) {
    throw new InvalidArgumentError(
      `ld${name.toLowerCase()}`,
      `at least ${cols} (the row length of ${name})`,
      stride,
    );
  }
  const need = rows === 0 || cols === 0 ? 0 : (rows - 1) * stride + cols;
  if (value.length < need) {
    throw new ShapeMismatchError(
      name,
      `${shape} = ${rows}×${cols}${stride === cols ? '' : ` with row stride ${stride}`} (≥ ${need} elements)`,
      `a Float32Array of length ${value.length}`,
    );
  }
  // An empty matrix may come with a zero stride; the binding wants a positive one.
  return [value, Math.max(stride, 1)];
}

function overlaps(x: Float32Array, y: Float32Array): boolean {
  if (x.buffer !== y.buffer || x.length === 0 || y.length === 0) return false;
  return x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
}

function check(args: SgemmArgs): Checked {
  if (typeof args !== 'object' || args === null) throw new InvalidArgumentError('args', 'an object', args);
  const transA = args.transA ?? false;
  const transB = args.transB ?? false;
  if (typeof transA !== 'boolean') throw new InvalidArgumentError('transA', 'a boolean', transA);
  if (typeof transB !== 'boolean') throw new InvalidArgumentError('transB', 'a boolean', transB);
  const M = dim('M', args.M);
  const N = dim('N', args.N);
  const K = dim('K', args.K);
  const alpha = scalar('alpha', args.alpha, 1);
  const beta = scalar('beta', args.beta, 0);
  const [A, lda] = transA
    ? matrix('A', args.A, K, M, args.lda, 'K×M (transA)')
    : matrix('A', args.A, M, K, args.lda, 'M×K');
  const [B, ldb] = transB
    ? matrix('B', args.B, N, K, args.ldb, 'N×K (transB)')
    : matrix('B', args.B, K, N, args.ldb, 'K×N');
  const [C, ldc] = matrix('C', args.C, M, N, args.ldc, 'M×N');
  if (overlaps(C, A) || overlaps(C, B)) {
    throw new InvalidArgumentError('C', 'an array that does not share memory with A or B');
  }
  return { transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc };
}

function positional(g: Checked) {
  return [g.transA, g.transB, g.M, g.N, g.K, g.alpha, g.A, g.lda, g.B, g.ldb, g.beta, g.C, g.ldc] as const;
}

/** Native product, in place in `C`; returns `C`. Throws NativeUnavailableError without the engine. */
export function sgemm(args: SgemmArgs): Float32Array {
  const g = check(args);
  requireEngine().sgemm(...positional(g));
  return g.C;
}

/**
 * Native product on a worker thread, so the event loop keeps running; resolves to `C`. Leave `C` (and
 * the buffers of `A` and `B`) alone until it settles. Products run one at a time on the engine's pool.
 */
export async function sgemmAsync(args: SgemmArgs): Promise<Float32Array> {
  const g = check(args);
  return requireEngine().sgemmAsync(...positional(g));
}

/**
 * The same product in plain JavaScript (row-by-row `i-k-j` loops over fp32 arrays with fp64 scalars):
 * correct everywhere, roughly two orders of magnitude slower than the native engine on large shapes.
 */
export function sgemmJs(args: SgemmArgs): Float32Array {
  const { transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc } = check(args);
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    row.fill(0);
    if (alpha !== 0) {
      for (let p = 0; p < K; p++) {
        const a = transA ? A[p * lda + i] : A[i * lda + p];
        if (a === 0) continue;
        if (transB) {
          for (let j = 0; j < N; j++) row[j] += a * B[j * ldb + p];
        } else {
          const off = p * ldb;
          for (let j = 0; j < N; j++) row[j] += a * B[off + j];
        }
      }
    }
    const off = i * ldc;
    for (let j = 0; j < N; j++) C[off + j] = alpha * row[j] + (beta === 0 ? 0 : beta * C[off + j]);
  }
  return C;
}
