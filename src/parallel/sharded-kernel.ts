/**
 * The two native passes of the sharded margin softmax (native/src/sharded_margin.h) with their
 * arguments checked, and the subset of margins they run: those that change only the target logit —
 * plain negatives on the cosine map, one row of W per class, a shared scale and shared margins, the
 * cross-entropy family of losses. That covers Softmax, NormFace, CosFace, ArcFace, Combined and
 * SphereFace's ψ at a fixed λ; {@link checkShardable} names what else a spec asks for.
 */

import type { NativeSgd } from '../engine/margin.js';
import { requireEngine } from '../engine/native.js';
import { InvalidArgumentError, ShapeMismatchError, UnsupportedConfigError } from '../errors.js';
import type { GeometrySpec, MarginSpec } from '../margin/spec.js';

const FALLBACK = { none: 0, easy: 1, thmm: 2, am: 3, 'above-margin': 4, clip: 5 } as const;
const WEIGHT_NORM = { none: 0, functional: 1, overwrite: 2 } as const;

/**
 * Throws {@link UnsupportedConfigError} unless the sharded kernel runs this geometry and margin
 * (see the module comment); the message says which part is not supported.
 */
export function checkShardable(geometry: GeometrySpec, margin: MarginSpec): void {
  const refuse = (what: string) => {
    throw new UnsupportedConfigError(
      `the model-parallel head supports margins that change only the target logit; this one has ${what}`,
    );
  };
  if (geometry.subCenters !== 1) refuse(`${geometry.subCenters} sub-centres per class`);
  if (margin.angleMap !== 'cos') refuse(`the '${margin.angleMap}' angle map`);
  if (margin.negatives.kind !== 'plain') refuse(`'${margin.negatives.kind}' negatives`);
  if (typeof margin.scale !== 'number') refuse('a per-row scale');
  const t = margin.target;
  if (t.kind === 'circle') refuse('a circle-loss target');
  if (t.kind === 'angular' && (typeof t.m2 !== 'number' || typeof t.m3 !== 'number'))
    refuse('per-row margins');
  const loss = margin.loss.kind;
  if (loss !== 'ce' && loss !== 'distce' && loss !== 'focal') refuse(`the '${loss}' loss`);
}

/** The flattened geometry and margin the binding reads (after {@link checkShardable}). */
export function encodeShardedSpec(geometry: GeometrySpec, margin: MarginSpec): Record<string, unknown> {
  const o: Record<string, unknown> = {
    normalizeX: geometry.normalizeX,
    normalizeW: WEIGHT_NORM[geometry.normalizeW],
    clamp: geometry.clamp === null ? undefined : geometry.clamp,
    scale: margin.scale as number,
    straightThrough: margin.gradient === 'straight-through',
  };
  const t = margin.target;
  if (t.kind === 'angular') {
    Object.assign(o, {
      target: 0,
      m1: t.m1,
      m2: t.m2 as number,
      m3: t.m3 as number,
      fallback: FALLBACK[t.fallback],
      fallbackMargin: t.fallbackMargin ?? 0,
      clipEps: t.clipEps ?? 1e-3,
    });
  } else if (t.kind === 'sphere') {
    Object.assign(o, { target: 1, sphereM: t.m, sphereLambda: t.lambda, spherePi: t.pi });
  }
  return o;
}

interface ShardedBinding {
  shardedMarginStats(args: Record<string, unknown>): void;
  shardedMarginBackward(args: Record<string, unknown>): void;
}

function binding(): ShardedBinding {
  const engine = requireEngine() as unknown as Partial<ShardedBinding>;
  if (typeof engine.shardedMarginStats !== 'function')
    throw new InvalidArgumentError(
      'engine',
      'a native engine built with the sharded margin softmax (run `npm run build:native`)',
    );
  return engine as ShardedBinding;
}

/** The shard's inputs common to both passes. */
export interface ShardPassArgs {
  /** The whole batch's embeddings, B×D. */
  X: Float32Array;
  /** This shard's class rows (as sampled), C×D; C may be 0. */
  W: Float32Array;
  /** Each row's class as an index into W's rows, −1 where another shard holds it. */
  labels: Int32Array;
  B: number;
  D: number;
  /** The encoded spec from {@link encodeShardedSpec}. */
  spec: Record<string, unknown>;
}

function shapes(a: ShardPassArgs): Record<string, unknown> {
  const { B, D } = a;
  if (!(a.X instanceof Float32Array) || a.X.length !== B * D)
    throw new ShapeMismatchError('X', `a Float32Array of B·D = ${B * D} values`, String(a.X?.length));
  if (!(a.W instanceof Float32Array) || a.W.length % D !== 0)
    throw new ShapeMismatchError('W', `a Float32Array of C×${D} values`, String(a.W?.length));
  const C = a.W.length / D;
  if (!(a.labels instanceof Int32Array) || a.labels.length !== B)
    throw new ShapeMismatchError('labels', `an Int32Array of B = ${B} labels`, String(a.labels?.length));
  for (let i = 0; i < B; i++) {
    const y = a.labels[i];
    if (!(y >= -1 && y < C))
      throw new InvalidArgumentError(`labels[${i}]`, `−1 or a row index in [0, ${C})`, y);
  }
  return { ...a.spec, B, D, C, X: a.X, W: a.W, labels: a.labels };
}

/** Pass 1's per-row results: the shard's max, sum of exp(logit − max), and owned target logits. */
export interface ShardStats {
  rowMax: Float64Array;
  rowSum: Float64Array;
  targetLogit: Float64Array;
}

/** Pass 1: this shard's running softmax statistics of every row (see native/src/sharded_margin.h). */
export function shardStats(a: ShardPassArgs, out: ShardStats): void {
  const args = shapes(a);
  for (const k of ['rowMax', 'rowSum', 'targetLogit'] as const)
    if (!(out[k] instanceof Float64Array) || out[k].length !== a.B)
      throw new ShapeMismatchError(k, `a Float64Array of B = ${a.B} values`, String(out[k]?.length));
  binding().shardedMarginStats({ ...args, ...out });
}

/** Pass 2: gradients from the global log-sum-exp; steps W's rows with `sgd` or writes `dW`. */
export function shardBackward(
  a: ShardPassArgs & {
    /** The global log-sum-exp of every row (B values). */
    lse: Float64Array;
    /** dL/dce_i, the same for every row. */
    gradWeight: number;
    sgd?: NativeSgd;
    /** This shard's part of dL/dX (B×D), written. */
    dX: Float32Array;
    /** dL/dW of the shard's rows, written when given (not with `sgd`). */
    dW?: Float32Array;
  },
): void {
  const args = shapes(a);
  if (!(a.lse instanceof Float64Array) || a.lse.length !== a.B)
    throw new ShapeMismatchError('lse', `a Float64Array of B = ${a.B} values`, String(a.lse?.length));
  if (!(a.dX instanceof Float32Array) || a.dX.length !== a.B * a.D)
    throw new ShapeMismatchError('dX', `a Float32Array of B·D = ${a.B * a.D} values`, String(a.dX?.length));
  if (a.dW !== undefined && (!(a.dW instanceof Float32Array) || a.dW.length !== a.W.length))
    throw new ShapeMismatchError('dW', `a Float32Array of ${a.W.length} values`, String(a.dW?.length));
  if (a.sgd && a.dW) throw new InvalidArgumentError('dW', 'omitted when sgd is given (dW is not stored)');
  let sgd: Record<string, unknown> | undefined;
  if (a.sgd) {
    const { lr, momentum = 0, weightDecay = 0, velocity } = a.sgd;
    for (const [k, v] of [
      ['sgd.lr', lr],
      ['sgd.momentum', momentum],
      ['sgd.weightDecay', weightDecay],
    ] as const)
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new InvalidArgumentError(k, 'a finite number', v);
    if (momentum !== 0 && (!(velocity instanceof Float32Array) || velocity.length !== a.W.length))
      throw new ShapeMismatchError(
        'sgd.velocity',
        `a Float32Array of ${a.W.length} values`,
        String(velocity?.length),
      );
    sgd = { lr, momentum, weightDecay, velocity: momentum !== 0 ? velocity : undefined };
  }
  binding().shardedMarginBackward({ ...args, lse: a.lse, gradWeight: a.gradWeight, sgd, dX: a.dX, dW: a.dW });
}
