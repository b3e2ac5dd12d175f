/**
 * The fused margin-softmax operator on the native engine (fp32): the same computation as the fp64
 * oracle `marginSoftmax` in src/margin/reference.ts, without materialising more than one B×C buffer.
 *
 * Two levels:
 * - {@link marginSoftmaxNative} / {@link marginSoftmaxNativeAsync}: the operator on Float32Arrays, with
 *   optional outputs (logits, cosines, dW) and an optional SGD step applied to W inside the backward,
 *   so the gradient of a huge class matrix is never stored.
 * - {@link nativeHeadForward} / {@link nativeHeadForwardAsync}: a whole {@link Head} step, sequenced like
 *   `Head.forward` (geometry → state update → margin → extra terms), returning a {@link HeadOutput}.
 *   Heads whose update needs the cosines (AdaCos, CurricularFace, ElasticFace+) get them from a native
 *   cosine pass; extra terms (MagFace's g(a), AdaM's regulariser, DiscFace's discrepancy) and heads
 *   without a margin (Center Loss) run on the fp64 side — they cost O(B·D).
 */
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { Head, HeadContext, HeadInputs, HeadMargin, HeadOutput, HeadState } from '../heads/define.js';
import { type Geometry, NORMALIZE_EPS } from '../margin/geometry.js';
import type { MarginSoftmaxResult } from '../margin/reference.js';
import type { GeometrySpec, MarginSpec, RowParam } from '../margin/spec.js';
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
  /** Class weights, C·K×D (K = geometry.subCenters). Updated in place by `sgd` or overwrite geometry. */
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
  marginSoftmax(args: Record<string, unknown>): { loss: number; ce: number; focal: number };
  marginSoftmaxAsync(args: Record<string, unknown>): Promise<{ loss: number; ce: number; focal: number }>;
  marginCosines(args: Record<string, unknown>): void;
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

const FALLBACK = { none: 0, easy: 1, thmm: 2, am: 3, 'above-margin': 4, clip: 5 } as const;
const ANGLE_MAP = { cos: 0, linear: 1, quadratic: 2 } as const;
const WEIGHT_NORM = { none: 0, functional: 1, overwrite: 2 } as const;
const LOSS = { ce: 0, distce: 1, focal: 2, 'softplus-pair': 3 } as const;

function rowParam(name: string, p: RowParam, B: number): { shared: number; row?: Float64Array } {
  if (typeof p === 'number') {
    if (!Number.isFinite(p)) throw new InvalidArgumentError(name, 'a finite number', p);
    return { shared: p };
  }
  if (!(p.value instanceof Float64Array) || p.value.length !== B)
    throw new ShapeMismatchError(
      `${name}.value`,
      `a Float64Array of B = ${B} values`,
      String(p.value?.length),
    );
  return { shared: 0, row: p.value };
}

/** The margin spec and geometry as the flat argument object the binding reads. */
function encodeSpec(geometry: GeometrySpec, margin: MarginSpec, B: number): Record<string, unknown> {
  const o: Record<string, unknown> = {
    K: geometry.subCenters,
    normalizeX: geometry.normalizeX,
    normalizeW: WEIGHT_NORM[geometry.normalizeW],
    clamp: geometry.clamp === null ? undefined : geometry.clamp,
    angleMap: ANGLE_MAP[margin.angleMap],
    loss: LOSS[margin.loss.kind],
    straightThrough: margin.gradient === 'straight-through',
  };
  if (margin.loss.kind === 'focal') o.focalGamma = margin.loss.gamma;
  if (margin.loss.kind === 'softplus-pair') o.softplusThreshold = margin.loss.threshold;
  const scale = rowParam('margin.scale', margin.scale, B);
  o.scale = scale.shared;
  o.scaleRow = scale.row;
  const t = margin.target;
  if (t.kind === 'angular') {
    const m2 = rowParam('margin.target.m2', t.m2, B);
    const m3 = rowParam('margin.target.m3', t.m3, B);
    Object.assign(o, {
      target: 0,
      m1: t.m1,
      m2: m2.shared,
      m2Row: m2.row,
      m3: m3.shared,
      m3Row: m3.row,
      fallback: FALLBACK[t.fallback],
      fallbackMargin: t.fallbackMargin ?? 0,
      clipEps: t.clipEps ?? 1e-3,
    });
  } else if (t.kind === 'sphere') {
    Object.assign(o, { target: 1, sphereM: t.m, sphereLambda: t.lambda, spherePi: t.pi });
  } else {
    Object.assign(o, { target: 2, circleM: t.m });
  }
  const n = margin.negatives;
  switch (n.kind) {
    case 'plain':
      o.negatives = 0;
      break;
    case 'hard-linear':
      Object.assign(o, {
        negatives: 1,
        hardA: n.a,
        hardB: n.b,
        thM1: n.threshold.m1,
        thM2: n.threshold.m2,
        thM3: n.threshold.m3,
      });
      if (n.adaptive) {
        Object.assign(o, {
          adaptive: true,
          adM0: n.adaptive.m0,
          adM1: n.adaptive.m1,
          adSourceRaw: n.adaptive.source === 'raw',
          adGradient: n.adaptive.gradient,
        });
      }
      break;
    case 'curricular':
      Object.assign(o, {
        negatives: 2,
        curricularT: n.t,
        thM1: n.threshold.m1,
        thM2: n.threshold.m2,
        thM3: n.threshold.m3,
      });
      break;
    case 'arcneg':
      Object.assign(o, { negatives: 3, arcnegAlpha: n.alpha, arcnegSigma: n.sigma });
      break;
    case 'circle':
      Object.assign(o, { negatives: 4, circleNegM: n.m });
      break;
    case 'filter':
      Object.assign(o, { negatives: 5, filterAbove: n.above });
      break;
  }
  return o;
}

interface Prepared {
  args: Record<string, unknown>;
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
  const rows = new Float64Array(6 * B);
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
  const { B, D, rows } = p;
  const dM2 = rows.slice(0, B);
  const dM3 = rows.slice(B, 2 * B);
  const dScale = rows.slice(2 * B, 3 * B);
  const rowMargin = rows.slice(3 * B, 4 * B);
  const pair = rows.slice(4 * B, 5 * B);
  const xNorm = rows.slice(5 * B, 6 * B);
  // Margins and scales that depend on ‖x‖ pass their gradient on to the norm, then to X.
  const dNorm = new Float64Array(B);
  const chain = (param: RowParam, grad: Float64Array) => {
    if (typeof param === 'number' || !param.dNorm) return;
    for (let i = 0; i < B; i++) dNorm[i] += grad[i] * param.dNorm[i];
  };
  const t = a.margin.target;
  if (t.kind === 'angular') {
    chain(t.m2, dM2);
    chain(t.m3, dM3);
  }
  chain(a.margin.scale, dScale);
  for (let i = 0; i < B; i++) {
    if (dNorm[i] === 0 || xNorm[i] === 0) continue;
    const k = dNorm[i] / xNorm[i];
    for (let d = 0; d < D; d++) p.dX[i * D + d] += k * a.X[i * D + d];
  }
  const parts: Record<string, number | Float64Array> =
    a.margin.loss.kind === 'softplus-pair' ? { pair } : { ce: r.ce };
  if (a.margin.loss.kind === 'focal') parts.focal = r.focal;
  return {
    loss: r.loss,
    parts,
    dX: p.dX,
    dW: p.dW,
    dBias: p.dBias,
    logits: p.logits,
    cos: p.cos,
    dM2,
    dM3,
    dScale,
    dNorm,
    rowMargin,
    xNorm,
  };
}

/**
 * The margin-softmax operator, forward and backward, on the native engine (fp32, multi-threaded).
 * Throws NativeUnavailableError without the engine and the library's typed errors for bad arguments.
 */
export function marginSoftmaxNative(a: NativeMarginArgs): NativeMarginResult {
  const p = prepare(a);
  return finish(p, a, binding().marginSoftmax(p.args));
}

/**
 * As {@link marginSoftmaxNative}, on a worker thread so the event loop keeps running. Leave every array
 * passed in (and W, which `sgd` updates) alone until the promise settles.
 */
export async function marginSoftmaxNativeAsync(a: NativeMarginArgs): Promise<NativeMarginResult> {
  const p = prepare(a);
  return finish(p, a, await binding().marginSoftmaxAsync(p.args));
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
  binding().marginCosines({ ...p.args, targetCos: target });
  return { cos: p.cos, target };
}

// --- Head steps -----------------------------------------------------------------------------------

function rowNorms(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < cols; k++) s += a[r * cols + k] ** 2;
    out[r] = Math.sqrt(s);
  }
  return out;
}

function divideRows(a: Float64Array, norms: Float64Array, cols: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let r = 0; r < norms.length; r++) {
    const inv = 1 / Math.max(norms[r], NORMALIZE_EPS);
    for (let k = 0; k < cols; k++) out[r * cols + k] = a[r * cols + k] * inv;
  }
  return out;
}

/** Target cosines x̂_i·ŵ_{y_i} before the clamp in fp64 (max over sub-centres): O(B·K·D). */
function targetCosines(
  spec: GeometrySpec,
  X: Float64Array,
  W: Float64Array,
  labels: Int32Array,
  D: number,
): Float64Array {
  const B = labels.length;
  const K = spec.subCenters;
  const out = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    let xx = 0;
    for (let d = 0; d < D; d++) xx += X[i * D + d] ** 2;
    const kx = spec.normalizeX ? 1 / Math.max(Math.sqrt(xx), NORMALIZE_EPS) : 1;
    let best = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) {
      const o = (labels[i] * K + k) * D;
      let dot = 0;
      let ww = 0;
      for (let d = 0; d < D; d++) {
        dot += X[i * D + d] * W[o + d];
        ww += W[o + d] ** 2;
      }
      const kw = spec.normalizeW === 'none' ? 1 : 1 / Math.max(Math.sqrt(ww), NORMALIZE_EPS);
      best = Math.max(best, dot * kx * kw);
    }
    out[i] = best;
  }
  return out;
}

/**
 * A Geometry whose B×C parts come from the native cosine pass, computed only when a head's update or
 * margin reads them; the O(B·D) and O(C·D) parts are computed in fp64.
 */
function lazyGeometry(
  spec: GeometrySpec,
  X64: Float64Array,
  W64: Float64Array,
  native: { X: Float32Array; W: Float32Array; labels: Int32Array; targetCos: Float64Array },
  B: number,
  D: number,
  C: number,
): Geometry {
  const cache = new Map<string, Float64Array | Int32Array>();
  const once = <T extends Float64Array | Int32Array>(key: string, f: () => T): T => {
    let v = cache.get(key) as T | undefined;
    if (v === undefined) {
      v = f();
      cache.set(key, v);
    }
    return v;
  };
  const cosines = () =>
    once('cos', () => {
      const r = cosinesNative({ X: native.X, W: native.W, labels: native.labels, B, D, geometry: spec });
      const cos = Float64Array.from(r.cos as Float32Array);
      const c = spec.clamp;
      for (let i = 0; i < B; i++) {
        const t = native.targetCos[i];
        cos[i * C + native.labels[i]] = c === null ? t : Math.min(c, Math.max(-c, t));
      }
      return cos;
    });
  return {
    spec,
    B,
    D,
    C,
    get xNorm() {
      return once('xNorm', () => rowNorms(X64, B, D));
    },
    get xHat() {
      return once('xHat', () => (spec.normalizeX ? divideRows(X64, this.xNorm, D) : X64.slice()));
    },
    get wNorm() {
      return once('wNorm', () => rowNorms(W64, W64.length / D, D));
    },
    get wHat() {
      return once('wHat', () => (spec.normalizeW === 'none' ? W64.slice() : divideRows(W64, this.wNorm, D)));
    },
    // Clamped and raw cosines agree except outside the clamp, which no update reads.
    get cosRaw() {
      return cosines();
    },
    get cos() {
      return cosines();
    },
    get argSub() {
      return once('argSub', () => new Int32Array(B * C));
    },
  };
}

/** Options of {@link nativeHeadForward}. */
export interface NativeHeadOptions {
  /** Training mode applies margins and updates state (default true). */
  training?: boolean;
}

interface StepPlan {
  finish: (r: NativeMarginResult) => HeadOutput;
  args: NativeMarginArgs;
}

function addInto(target: Float64Array, source: Float64Array): void {
  for (let i = 0; i < target.length; i++) target[i] += source[i];
}

/** Everything up to the native call (validation, state update, margin), and what to do with its result. */
function planStep(head: Head, inputs: HeadInputs, training: boolean): StepPlan | HeadOutput {
  if (typeof training !== 'boolean')
    throw new InvalidArgumentError('options.training', 'a boolean', training);
  const def = head.definition;
  // Heads without a margin (Center Loss) are O(B·D) and run on the fp64 side.
  if (def.compute) return head.forward(inputs, { training });
  const checked = head.checkInputs(inputs);
  const { B, D, C, X, W, labels } = checked;
  if (Object.keys(head.state).length === 0 && def.initialState) head.initState(C);
  const prepared = def.prepareExtras?.(head.params, checked.extras) ?? {};
  const extras = { ...checked.extras, ...prepared };
  const spec = def.geometry(head.params);
  const X32 = Float32Array.from(X);
  const W32 = Float32Array.from(W);
  const targetCos = targetCosines(spec, X, W, labels, D);
  const geo = lazyGeometry(spec, X, W, { X: X32, W: W32, labels, targetCos }, B, D, C);
  let ctx: HeadContext<unknown, HeadState> = {
    p: head.params,
    state: head.state,
    training,
    B,
    D,
    C,
    X,
    W,
    labels,
    extras,
    geo,
    rng: head.random,
  } as HeadContext<unknown, HeadState>;
  if (training && def.update) {
    head.setState(def.update(ctx as never));
    ctx = { ...ctx, state: head.state };
  }
  const defined: HeadMargin = def.margin(ctx as never);
  const margin: HeadMargin = training
    ? defined
    : {
        ...defined,
        target: { kind: 'angular', m1: 1, m2: 0, m3: 0, fallback: 'none' },
        negatives: { kind: 'plain' },
      };
  const args: NativeMarginArgs = {
    X: X32,
    W: W32,
    labels,
    B,
    D,
    geometry: spec,
    margin,
    bias: margin.bias ? Float32Array.from(margin.bias) : undefined,
    targetCos,
    wantLogits: true,
    wantCos: true,
  };
  const finish = (r: NativeMarginResult): HeadOutput => {
    const dX = Float64Array.from(r.dX);
    const dW = Float64Array.from(r.dW as Float32Array);
    const grads: Record<string, Float64Array> = { X: dX, W: dW };
    if (r.dBias) grads.bias = Float64Array.from(r.dBias);
    const logits = Float64Array.from(r.logits as Float32Array);
    const cos = Float64Array.from(r.cos as Float32Array);
    let loss = r.loss;
    const parts = { ...r.parts };
    if (def.extraTerms) {
      const out: MarginSoftmaxResult = {
        logits,
        loss: r.loss,
        parts: r.parts,
        dLogits: new Float64Array(0),
        dCos: new Float64Array(0),
        dM2: r.dM2,
        dM3: r.dM3,
        dScale: r.dScale,
        dNorm: r.dNorm,
        dBias: grads.bias,
        rowMargin: r.rowMargin,
        geometry: geo,
        dX,
        dW,
      };
      const extra = def.extraTerms(ctx as never, out);
      loss += extra.loss;
      Object.assign(parts, extra.parts);
      if (extra.dX) addInto(grads.X, extra.dX);
      if (extra.dW) addInto(grads.W, extra.dW);
      for (const [k, g] of Object.entries(extra.dExtras ?? {})) {
        if (grads[k]) addInto(grads[k], g);
        else grads[k] = g;
      }
    }
    const paramsAfterForward: Record<string, Float64Array> = { ...prepared };
    if (spec.normalizeW === 'overwrite') paramsAfterForward.W = geo.wHat;
    return { logits, loss, parts, grads, paramsAfterForward, cos };
  };
  return { args, finish };
}

function isOutput(p: StepPlan | HeadOutput): p is HeadOutput {
  return !('finish' in p);
}

/**
 * One forward/backward of `head` with the margin softmax on the native engine: the same contract and
 * state handling as `Head.forward`, fp32 arithmetic in the operator (results returned as fp64 arrays).
 */
export function nativeHeadForward(
  head: Head,
  inputs: HeadInputs,
  options: NativeHeadOptions = {},
): HeadOutput {
  const plan = planStep(head, inputs, options.training ?? true);
  if (isOutput(plan)) return plan;
  return plan.finish(marginSoftmaxNative(plan.args));
}

/** As {@link nativeHeadForward}, with the operator on a worker thread (the event loop keeps running). */
export async function nativeHeadForwardAsync(
  head: Head,
  inputs: HeadInputs,
  options: NativeHeadOptions = {},
): Promise<HeadOutput> {
  const plan = planStep(head, inputs, options.training ?? true);
  if (isOutput(plan)) return plan;
  return plan.finish(await marginSoftmaxNativeAsync(plan.args));
}

/**
 * Tolerance of the native fp32 operator against the float64 references: |got − ref| ≤ 1e-4·max(1,
 * max|ref|) per tensor, for every row alike (the runner's rule, the same bound as the TF.js path).
 *
 * fp32 products over D and C, the exp/log of the loss, scales up to 64 and three chained SGD steps keep
 * ordinary rows near 1e-5 of max|ref|. Rows whose target cosine lies within 1e-6 of ±1 would need more
 * if θ came from the fp32 cosine (1 − cos² keeps ~6% of its value there, and rounding X and W to fp32
 * alone moves an unnormalised cosine by ~1e-7). The head steps therefore hand the operator each row's
 * target cosine computed in fp64 from the fp64 inputs (O(B·K·D)); the operator takes θ and sin θ from
 * it, and recomputes the rare negatives within 1e-3 of ±1 under the linear and quadratic angle maps in
 * double. Those rows then meet the same bound (measured worst over the 184 dev fixtures: about a third
 * of it; every fixture but two passes at 3e-5).
 */
export const NATIVE_TOLERANCE = 1e-4;

/** The native operator in the golden runner's `Implementation` shape: one training-mode step. */
export const nativeImplementation = (head: Head, inputs: HeadInputs): HeadOutput =>
  nativeHeadForward(head, inputs, { training: true });
