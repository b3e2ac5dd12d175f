/**
 * One forward pass of any registered head as TF.js ops (fp32): geometry, the head's own state update
 * and margin (taken from its declarative definition, so nothing is re-coded per head), the margin
 * logits, the loss and the head's extra terms. Run it under a gradient tape (`tf.variableGrads`,
 * `optimizer.minimize`, `model.fit`) to differentiate the loss.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError, ShapeMismatchError, UnsupportedConfigError } from '../errors.js';
import type { Head, HeadContext, HeadMargin, HeadState } from '../heads/define.js';
import type { Geometry } from '../margin/geometry.js';
import type { RowParam } from '../margin/spec.js';
import { toLabels } from '../validate.js';
import { type TfHeadTerms, type TfTermContext, tfHeadTerms } from './extras.js';
import { type TfGeometry, targetTrig, tfGeometry } from './geometry.js';
import { tfLoss } from './loss.js';
import { tfMarginLogits } from './margin.js';
import { customOp, matMulTransposed, oneHotFloat, withIdentityGradient } from './ops.js';

/** Tensors of one head step. */
export interface TfHeadInputs {
  /** Embeddings, B×D. */
  X: tf.Tensor2D;
  /** Class weights, C·K×D. */
  W: tf.Tensor2D;
  labels: Int32Array;
  /** The head's learnable extras (bias, AdaM margins, DiscFace displacement) by name. */
  extras: Record<string, tf.Tensor>;
}

/** Result of one head step. Tensors live in the caller's scope. */
export interface TfHeadStep {
  /** Margin logits, B×C (empty for heads without logits). */
  logits: tf.Tensor2D;
  loss: tf.Scalar;
  parts: Record<string, tf.Tensor>;
  /** Clamped cosines, B×C (empty for heads without logits). */
  cos: tf.Tensor2D;
  /** Parameters the head replaces in forward (normalised W, clamped margins), as values to store. */
  paramsAfterForward: Record<string, tf.Tensor>;
}

function toFloat64(t: tf.Tensor): Float64Array {
  return Float64Array.from(t.dataSync() as Float32Array);
}

/** A Geometry whose arrays are read back from the tensors only when a definition asks for them. */
function lazyGeometry(g: TfGeometry, W: tf.Tensor2D, B: number, D: number, C: number): Geometry {
  const spec = g.spec;
  const K = spec.subCenters;
  const cache = new Map<string, Float64Array>();
  const read = (key: string, t: () => tf.Tensor) => {
    let v = cache.get(key);
    if (!v) {
      v = toFloat64(t());
      cache.set(key, v);
    }
    return v;
  };
  return {
    spec,
    B,
    D,
    C,
    get xNorm() {
      return read('xNorm', () => g.xNorm);
    },
    get xHat() {
      return read('xHat', () => g.xHat);
    },
    get wNorm() {
      return read('wNorm', () => tf.tidy(() => tf.sqrt(tf.sum(tf.square(W), 1))));
    },
    get wHat() {
      return read('wHat', () => g.wHat);
    },
    get cosRaw() {
      return read('cosRaw', () => g.cosRaw);
    },
    get cos() {
      return read('cos', () => g.cos);
    },
    get argSub() {
      if (K === 1) return new Int32Array(B * C);
      const dots = tf.tidy(() => tf.argMax(tf.reshape(matMulTransposed(g.xHat, g.wHat), [B, C, K]), 2));
      const out = Int32Array.from(dots.dataSync());
      dots.dispose();
      return out;
    },
  };
}

/** A per-row parameter as a [B] tensor; values that depend on ‖x‖ chain their gradient into it. */
function rowParamTensor(p: RowParam, B: number, xNorm: tf.Tensor1D): tf.Tensor1D {
  if (typeof p === 'number') return tf.fill([B], p) as tf.Tensor1D;
  const value = tf.tensor1d(Float32Array.from(p.value));
  if (!p.dNorm) return value;
  const slope = tf.tensor1d(Float32Array.from(p.dNorm));
  const op = customOp(([, v, d], save) => {
    save([d]);
    return {
      value: tf.clone(v),
      gradFunc: (dy, [sd]) => [tf.mul(dy, sd), tf.zerosLike(sd), tf.zerosLike(sd)],
    };
  });
  return op(xNorm, value, slope) as tf.Tensor1D;
}

/** The margin-free version of a head's margin, used outside training (the fp64 `forward` does the same). */
function evaluationMargin(spec: HeadMargin): HeadMargin {
  return {
    ...spec,
    target: { kind: 'angular', m1: 1, m2: 0, m3: 0, fallback: 'none' },
    negatives: { kind: 'plain' },
  };
}

function termsOf(head: Head): TfHeadTerms {
  const def = head.definition;
  const terms = tfHeadTerms[def.name] ?? {};
  if (def.compute && !terms.compute)
    throw new UnsupportedConfigError(`head '${def.name}' has no TF.js implementation of its loss`);
  if (def.extraTerms && !terms.extraLoss)
    throw new UnsupportedConfigError(`head '${def.name}' has extra terms without a TF.js implementation`);
  return terms;
}

/** Shapes of a step's tensors against each other and the head; returns B, D, C. */
function checkShapes(head: Head, inputs: TfHeadInputs): { B: number; D: number; C: number } {
  const { X, W, labels } = inputs;
  if (X.rank !== 2) throw new ShapeMismatchError('X', 'B×D embeddings', `${X.shape}`);
  const [B, D] = X.shape;
  const K = head.subCenters;
  if (W.rank !== 2 || W.shape[1] !== D || W.shape[0] % K !== 0 || W.shape[0] === 0)
    throw new ShapeMismatchError('W', `C·${K}×${D} class weights`, `${W.shape}`);
  const C = W.shape[0] / K;
  if (labels.length !== B) throw new ShapeMismatchError('labels', `${B} labels`, `${labels.length}`);
  toLabels('labels', labels, C);
  for (const [name, spec] of Object.entries(head.learnables(C, D))) {
    const t = inputs.extras[name];
    if (!t) throw new InvalidArgumentError(`extras.${name}`, `a ${spec.shape.join('×')} tensor`, t);
    if (!tf.util.arraysEqual(t.shape, spec.shape))
      throw new ShapeMismatchError(`extras.${name}`, spec.shape.join('×'), `${t.shape}`);
  }
  return { B, D, C };
}

/** Cosines of a head's geometry (raw dot products for heads without normalisation, e.g. Center Loss). */
export function tfHeadGeometry(head: Head, X: tf.Tensor2D, W: tf.Tensor2D): TfGeometry {
  return tfGeometry(X, W, head.definition.geometry(head.params));
}

/**
 * Run one step of `head` on tensors. In training mode the head's state is updated (on `head` itself)
 * and its margin applied; otherwise the logits are the plain scaled cosines.
 */
export function tfHeadStep(head: Head, inputs: TfHeadInputs, training: boolean): TfHeadStep {
  checkShapes(head, inputs);
  const geo = head.definition.compute ? null : tfHeadGeometry(head, inputs.X, inputs.W);
  return tfHeadLoss(head, inputs, geo, training);
}

/**
 * The loss of one step given the geometry already computed from the same X and W (`null` for heads
 * without a margin): the part {@link tfHeadStep} and `marginLoss` share.
 */
export function tfHeadLoss(
  head: Head,
  inputs: TfHeadInputs,
  geo: TfGeometry | null,
  training: boolean,
): TfHeadStep {
  const def = head.definition;
  const p = head.params;
  const terms = termsOf(head);
  const { X, W, labels } = inputs;
  const { B, D, C } = checkShapes(head, inputs);
  if (Object.keys(head.state).length === 0 && def.initialState) head.initState(C);

  // Parameters the reference replaces in place before use: differentiate w.r.t. the replaced values.
  const extras64: Record<string, Float64Array> = {};
  for (const [name, t] of Object.entries(inputs.extras)) extras64[name] = toFloat64(t);
  const prepared = def.prepareExtras?.(p, extras64) ?? {};
  const extras: Record<string, tf.Tensor> = { ...inputs.extras };
  const paramsAfterForward: Record<string, tf.Tensor> = {};
  for (const [name, values] of Object.entries(prepared)) {
    const source = inputs.extras[name];
    const replaced = tf.tensor(Float32Array.from(values), source.shape);
    extras[name] = withIdentityGradient(source, replaced);
    paramsAfterForward[name] = replaced;
    extras64[name] = values;
  }
  const oneHot = oneHotFloat(labels, C);

  if (terms.compute || !geo) {
    if (!terms.compute) throw new UnsupportedConfigError(`head '${def.name}' needs its cosines`);
    const out = terms.compute({ p, training, B, D, C, X, W, extras, oneHot });
    const empty = tf.zeros([0, 0]) as tf.Tensor2D;
    return { logits: empty, loss: out.loss, parts: out.parts, cos: empty, paramsAfterForward };
  }

  const gspec = geo.spec;
  if (gspec.normalizeW === 'overwrite') paramsAfterForward.W = geo.wHat;
  const ctx: HeadContext<unknown, HeadState> = {
    p,
    state: head.state,
    training,
    B,
    D,
    C,
    get X() {
      return toFloat64(X);
    },
    get W() {
      return toFloat64(W);
    },
    labels,
    extras: extras64,
    geo: lazyGeometry(geo, W, B, D, C),
    rng: head.random,
  } as HeadContext<unknown, HeadState>;
  if (training && def.update) {
    head.setState(def.update(ctx));
    // Assigned, not spread: spreading would read every lazy array back from its tensor.
    ctx.state = head.state;
  }
  const defined = def.margin(ctx);
  const spec: HeadMargin = training ? defined : evaluationMargin(defined);

  const termCtx: TfTermContext = { p, training, B, D, C, X, W, extras, oneHot, geo };
  const own = training ? (terms.rowParams?.(termCtx) ?? {}) : {};
  const target = spec.target;
  const m2 = own.m2 ?? rowParamTensor(target.kind === 'angular' ? target.m2 : 0, B, geo.xNorm);
  const m3 = own.m3 ?? rowParamTensor(target.kind === 'angular' ? target.m3 : 0, B, geo.xNorm);
  const scale = rowParamTensor(spec.scale, B, geo.xNorm);
  const bias = spec.bias ? (extras.bias as tf.Tensor1D) : (tf.zeros([C]) as tf.Tensor1D);
  const trig = targetTrig(X, W, labels, oneHot, geo);
  const logits = tfMarginLogits(spec, {
    cos: geo.cos,
    oneHot,
    m2,
    m3,
    scale,
    bias,
    gtTheta: trig.theta as tf.Tensor1D,
    gtSin: trig.sin as tf.Tensor1D,
  });
  const lossOut = tfLoss(spec.loss, logits, oneHot);
  let loss = lossOut.loss;
  const parts = { ...lossOut.parts };
  if (terms.extraLoss) {
    const extra = terms.extraLoss(termCtx);
    loss = tf.add(loss, extra.loss);
    Object.assign(parts, extra.parts);
  }
  return { logits, loss, parts, cos: geo.cos, paramsAfterForward };
}
