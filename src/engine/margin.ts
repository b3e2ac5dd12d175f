/**
 * The fused margin-softmax operator on the native engine (fp32): the same computation as the fp64
 * oracle `marginSoftmax` in src/margin/reference.ts, without materialising more than one B×C buffer.
 * {@link marginSoftmaxNative} / {@link marginSoftmaxNativeAsync} take Float32Arrays, with optional
 * outputs (logits, cosines, dW) and an optional SGD step applied to W inside the backward, so the
 * gradient of a huge class matrix is never stored. The whole gradient, including the ‖x‖ chain of
 * per-row margins and scales, comes from C++. A whole head step on the engine is in head-step.ts.
 */
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { GeometrySpec, MarginSpec } from '../margin/spec.js';
import { encodeSpec, type MarginArguments, ROW_OUTPUTS } from './margin-args.js';
import { requireEngine } from './native.js';

/** SGD applied to W inside the backward (PyTorch's rule: g = dW + wd·W; v = μ·v + g; W −= lr·v). */
export interface NativeSgd {
  lr: number;
  /** Default 0. With momentum, `velocity` (C·K×D, zero before the first step) is required. */
  momentum?: number;
  /** L2 weight decay added to the gradient (default 0). */
  weightDecay?: number;
  /** Momentum buffer, owned by the caller and updated in place. */
  velocity?: Float32Array;
}

/** Arguments of {@link marginSoftmaxNative}. */
export interface NativeMarginArgs {
  /** Embeddings, B×D. */
  X: Float32Array;
  /**
   * Class weights, C·K×D (K = geometry.subCenters). Updated in place by `sgd` or overwrite geometry. On
   * Linux, the first call with a large W (from about 10 MiB) moves it, and `sgd.velocity`, onto 2 MiB pages:
   * the values stay, every later sweep over them misses the TLB far less, and that one call takes longer
   * (about 1 s for 256 MiB).
   */
  W: Float32Array;
  labels: Int32Array;
  B: number;
  D: number;
  geometry: GeometrySpec;
  margin: MarginSpec;
  /** Per-class bias added to the logits (plain linear classifier), length C. */
  bias?: Float32Array;
  /**
   * Target cosines before the clamp (B values), when the caller holds the data in fp64: the margin's θ
   * and 1/sin θ are ill-conditioned where the target lies near |cos| = 1, and fp32 rounding of X and W
   * alone moves such a cosine by ~1e-7. Computed in double from the fp32 inputs when omitted.
   */
  targetCos?: Float64Array;
  /** Apply SGD to W inside the backward instead of returning dW. */
  sgd?: NativeSgd;
  /** Return dW (C·K×D). Default true without `sgd`; not allowed with it. */
  wantDW?: boolean;
  /** Return the logits (B×C). */
  wantLogits?: boolean;
  /** Return the clamped cosines (B×C). */
  wantCos?: boolean;
  /**
   * With `normalizeW: 'overwrite'`, replace W's rows by their normalised copies (as the reference code
   * does in forward). Implied by `sgd`, which steps from the normalised rows.
   */
  overwriteW?: boolean;
  /** Reuse these output arrays instead of allocating (each must have the right length). */
  out?: { dX?: Float32Array; dW?: Float32Array; logits?: Float32Array; cos?: Float32Array };
}

/** Result of {@link marginSoftmaxNative}. Per-row arrays are fp64 (B values). */
export interface NativeMarginResult {
  loss: number;
  /** `ce` (and `focal`) for the cross-entropy family, `pair` (z_i per row) for softplus-pair. */
  parts: Record<string, number | Float64Array>;
  /** dL/dX including the chain through ‖x‖ of per-row margins and scales that carry `dNorm`. */
  dX: Float32Array;
  dW?: Float32Array;
  dBias?: Float32Array;
  logits?: Float32Array;
  cos?: Float32Array;
  dM2: Float64Array;
  dM3: Float64Array;
  dScale: Float64Array;
  dNorm: Float64Array;
  /** m2 actually used per row (NPCFace's adaptive margin). */
  rowMargin: Float64Array;
  /** ‖x_i‖. */
  xNorm: Float64Array;
}

interface MarginBinding {
  marginSoftmax(args: MarginArguments): { loss: number; ce: number; focal: number };
  marginSoftmaxAsync(args: MarginArguments): Promise<{ loss: number; ce: number; focal: number }>;
  marginCosines(args: MarginArguments & { targetCos: Float64Array }): void;
}

/**
 * The binding's own argument errors (TypeError, RangeError: an argument object the C++ side does not
 * read as this file writes it, such as an unknown key) as the library's typed error.
 */
function asLibraryError(err: unknown): unknown {
  if (err instanceof TypeError || err instanceof RangeError)
    return new InvalidArgumentError('native margin arguments', `an object the engine reads (${err.message})`);
  return err;
}

/** Run a binding call, synchronous or not, with {@link asLibraryError} applied to what it throws. */
function typedErrors<T>(call: () => T): T {
  let out: T;
  try {
    out = call();
  } catch (err) {
    throw asLibraryError(err);
  }
  if (out instanceof Promise) return out.catch((err) => Promise.reject(asLibraryError(err))) as T;
  return out;
}

function binding(): MarginBinding {
  const engine = requireEngine() as unknown as Partial<MarginBinding>;
  if (typeof engine.marginSoftmax !== 'function') {
    throw new InvalidArgumentError(
      'engine',
      'a native engine built with the margin-softmax operator (run `npm run build:native`)',
    );
  }
  return engine as MarginBinding;
}

interface Prepared {
  args: MarginArguments;
  dX: Float32Array;
  dW?: Float32Array;
  dBias?: Float32Array;
  logits?: Float32Array;
  cos?: Float32Array;
  rows: Float64Array;
  B: number;
  D: number;
}

function intArg(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new InvalidArgumentError(name, 'a positive integer', v);
  return v;
}

function outArray(name: string, given: Float32Array | undefined, length: number): Float32Array {
  if (given === undefined) return new Float32Array(length);
  if (!(given instanceof Float32Array) || given.length !== length)
    throw new ShapeMismatchError(`out.${name}`, `a Float32Array of ${length} values`, String(given?.length));
  return given;
}

function prepare(a: NativeMarginArgs): Prepared {
  const B = intArg('B', a.B);
  const D = intArg('D', a.D);
  const K = intArg('geometry.subCenters', a.geometry.subCenters);
  if (!(a.X instanceof Float32Array) || a.X.length !== B * D)
    throw new ShapeMismatchError('X', `a Float32Array of B·D = ${B * D} values`, String(a.X?.length));
  if (!(a.W instanceof Float32Array) || a.W.length === 0 || a.W.length % (K * D) !== 0)
    throw new ShapeMismatchError('W', `a Float32Array of C·${K}×${D} values`, String(a.W?.length));
  const C = a.W.length / (K * D);
  if (!(a.labels instanceof Int32Array) || a.labels.length !== B)
    throw new ShapeMismatchError('labels', `an Int32Array of B = ${B} labels`, String(a.labels?.length));
  for (let i = 0; i < B; i++) {
    const y = a.labels[i];
    if (y < 0 || y >= C) throw new InvalidArgumentError(`labels[${i}]`, `a class index in [0, ${C})`, y);
  }
  if (a.bias !== undefined && (!(a.bias instanceof Float32Array) || a.bias.length !== C))
    throw new ShapeMismatchError('bias', `a Float32Array of C = ${C} values`, String(a.bias?.length));
  if (a.targetCos !== undefined && (!(a.targetCos instanceof Float64Array) || a.targetCos.length !== B))
    throw new ShapeMismatchError(
      'targetCos',
      `a Float64Array of B = ${B} values`,
      String(a.targetCos?.length),
    );
  if (a.sgd && a.wantDW)
    throw new InvalidArgumentError('wantDW', 'false when sgd is given (dW is not stored)');
  const args = encodeSpec(a.geometry, a.margin, B);
  const dX = outArray('dX', a.out?.dX, B * D);
  const wantDW = a.wantDW ?? a.sgd === undefined;
  const dW = wantDW ? outArray('dW', a.out?.dW, C * K * D) : undefined;
  const logits = a.wantLogits ? outArray('logits', a.out?.logits, B * C) : undefined;
  const cos = a.wantCos ? outArray('cos', a.out?.cos, B * C) : undefined;
  const dBias = a.bias ? new Float32Array(C) : undefined;
  const rows = new Float64Array(ROW_OUTPUTS.length * B);
  if (a.sgd) {
    const { lr, momentum = 0, weightDecay = 0, velocity } = a.sgd;
    for (const [k, v] of [
      ['sgd.lr', lr],
      ['sgd.momentum', momentum],
      ['sgd.weightDecay', weightDecay],
    ] as const) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new InvalidArgumentError(k, 'a finite number', v);
    }
    if (momentum !== 0 && (!(velocity instanceof Float32Array) || velocity.length !== a.W.length))
      throw new ShapeMismatchError(
        'sgd.velocity',
        `a Float32Array of ${a.W.length} values (the size of W)`,
        String(velocity?.length),
      );
    args.sgd = { lr, momentum, weightDecay, velocity: momentum !== 0 ? velocity : undefined };
  }
  Object.assign(args, {
    B,
    D,
    C,
    X: a.X,
    W: a.W,
    labels: a.labels,
    bias: a.bias,
    targetRaw: a.targetCos,
    writeNormalizedW: a.overwriteW === true && a.geometry.normalizeW === 'overwrite',
    dX,
    dW,
    dBias,
    logits,
    cos,
    rows,
  });
  return { args, dX, dW, dBias, logits, cos, rows, B, D };
}

function finish(
  p: Prepared,
  a: NativeMarginArgs,
  r: { loss: number; ce: number; focal: number },
): NativeMarginResult {
  const { B, rows } = p;
  const row = (name: (typeof ROW_OUTPUTS)[number]) => {
    const k = ROW_OUTPUTS.indexOf(name);
    return rows.slice(k * B, (k + 1) * B);
  };
  const parts: Record<string, number | Float64Array> =
    a.margin.loss.kind === 'softplus-pair' ? { pair: row('pair') } : { ce: r.ce };
  if (a.margin.loss.kind === 'focal') parts.focal = r.focal;
  return {
    loss: r.loss,
    parts,
    dX: p.dX,
    dW: p.dW,
    dBias: p.dBias,
    logits: p.logits,
    cos: p.cos,
    dM2: row('dM2'),
    dM3: row('dM3'),
    dScale: row('dScale'),
    dNorm: row('dNorm'),
    rowMargin: row('rowMargin'),
    xNorm: row('xNorm'),
  };
}

/**
 * The margin-softmax operator, forward and backward, on the native engine (fp32, multi-threaded).
 * Throws NativeUnavailableError without the engine and the library's typed errors for bad arguments.
 */
export function marginSoftmaxNative(a: NativeMarginArgs): NativeMarginResult {
  const p = prepare(a);
  return finish(
    p,
    a,
    typedErrors(() => binding().marginSoftmax(p.args)),
  );
}

/**
 * As {@link marginSoftmaxNative}, on a worker thread so the event loop keeps running. Leave every array
 * passed in (and W, which `sgd` updates) alone until the promise settles.
 */
export async function marginSoftmaxNativeAsync(a: NativeMarginArgs): Promise<NativeMarginResult> {
  const p = prepare(a);
  return finish(p, a, await typedErrors(() => binding().marginSoftmaxAsync(p.args)));
}

/**
 * Clamped cosines (B×C, fp32) and the target cosines (B, computed in double precision from the fp32
 * inputs): the statistics pass of heads that update state from the cosines before the margin.
 */
export function cosinesNative(a: {
  X: Float32Array;
  W: Float32Array;
  labels: Int32Array;
  B: number;
  D: number;
  geometry: GeometrySpec;
  /** Compute only the B target cosines (cheap: O(B·K·D)). */
  targetOnly?: boolean;
}): { cos?: Float32Array; target: Float64Array } {
  const p = prepare({
    ...a,
    margin: {
      angleMap: 'cos',
      target: { kind: 'angular', m1: 1, m2: 0, m3: 0, fallback: 'none' },
      negatives: { kind: 'plain' },
      scale: 1,
      loss: { kind: 'ce' },
      gradient: 'full',
    },
    wantDW: false,
    wantCos: !a.targetOnly,
  });
  const target = new Float64Array(a.B);
  typedErrors(() => binding().marginCosines({ ...p.args, targetCos: target }));
  return { cos: p.cos, target };
}
