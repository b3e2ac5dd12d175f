/**
 * The TF.js backend of the head step (src/heads/step.ts), fp32: geometry, margin logits and loss as
 * TF.js ops; the head's own state update and margin come from its declarative definition and its extra
 * terms from the definition's `tf` forms, so nothing is re-coded per head. Run a step under a gradient
 * tape (`tf.variableGrads`, `optimizer.minimize`, `model.fit`) to differentiate the loss.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError, ShapeMismatchError, UnsupportedConfigError } from '../errors.js';
import type { Head } from '../heads/define.js';
import { runHeadStep, type StepBackend } from '../heads/step.js';
import type { TfExtraTerms, TfOps, TfTermContext } from '../heads/tf-terms.js';
import { lazyGeometry } from '../margin/geometry.js';
import type { RowParam } from '../margin/spec.js';
import { toLabels } from '../validate.js';
import { type TfGeometry, targetTrig, tfGeometry } from './geometry.js';
import { tfLoss } from './loss.js';
import { tfMarginLogits } from './margin.js';
import { customOp, matMulTransposed, oneHotFloat, rowNorm, selectRows, withIdentityGradient } from './ops.js';

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

const ops: TfOps = { rowNorm, selectRows };

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

/** A head needs TF.js forms of whatever it computes besides its declarative margin. */
function checkTfForms(head: Head): void {
  const def = head.definition;
  if (def.compute && !def.tf?.compute)
    throw new UnsupportedConfigError(`head '${def.name}' has no TF.js implementation of its loss`);
  if (def.extraTerms && !def.tf?.extraLoss)
    throw new UnsupportedConfigError(`head '${def.name}' has extra terms without a TF.js implementation`);
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

/** The logits, loss and parts of the margin softmax on tensors. */
interface TfMarginResult {
  logits: tf.Tensor2D;
  loss: tf.Scalar;
  parts: Record<string, tf.Tensor>;
}

/**
 * The TF.js backend of one step on `inputs`; `given` is the geometry already computed from the same X
 * and W (HeadLayer computes it in `call`), computed here otherwise.
 */
function tfBackend(
  head: Head,
  inputs: TfHeadInputs,
  given: TfGeometry | undefined,
): StepBackend<TfMarginResult, TfExtraTerms, TfHeadStep> {
  checkTfForms(head);
  const { B, D, C } = checkShapes(head, inputs);
  const { X, W, labels } = inputs;
  const def = head.definition;
  const tfForms = def.tf ?? {};
  const extras: Record<string, tf.Tensor> = { ...inputs.extras };
  const paramsAfterForward: Record<string, tf.Tensor> = {};
  const oneHot = oneHotFloat(labels, C);
  let geo: TfGeometry | undefined;
  const termContext = (training: boolean): TfTermContext => ({
    tf,
    ops,
    p: head.params,
    training,
    B,
    D,
    C,
    X,
    W,
    extras,
    oneHot,
    geo: geo as TfGeometry,
  });
  return {
    frame: () => {
      const extras64: Record<string, Float64Array> = {};
      for (const [name, t] of Object.entries(inputs.extras)) extras64[name] = toFloat64(t);
      return {
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
      };
    },
    // The reference replaces these in place before use: differentiate w.r.t. the replaced values.
    replaceExtras: (replaced) => {
      for (const [name, values] of Object.entries(replaced)) {
        const source = inputs.extras[name];
        const value = tf.tensor(Float32Array.from(values), source.shape);
        extras[name] = withIdentityGradient(source, value);
        paramsAfterForward[name] = value;
      }
    },
    compute: ({ training }) => {
      const { geo: _, ...ctx } = termContext(training);
      const out = tfForms.compute!(ctx);
      const empty = tf.zeros([0, 0]) as tf.Tensor2D;
      return { logits: empty, loss: out.loss, parts: out.parts, cos: empty, paramsAfterForward };
    },
    geometry: (_ctx, spec) => {
      const g = given ?? tfGeometry(X, W, spec);
      geo = g;
      if (spec.normalizeW === 'overwrite') paramsAfterForward.W = g.wHat;
      const K = spec.subCenters;
      return lazyGeometry(spec, B, D, C, {
        xNorm: () => toFloat64(g.xNorm),
        xHat: () => toFloat64(g.xHat),
        wNorm: () => toFloat64(tf.tidy(() => tf.sqrt(tf.sum(tf.square(W), 1)))),
        wHat: () => toFloat64(g.wHat),
        cosRaw: () => toFloat64(g.cosRaw),
        cos: () => toFloat64(g.cos),
        argSub: () => {
          if (K === 1) return new Int32Array(B * C);
          const best = tf.tidy(() => tf.argMax(tf.reshape(matMulTransposed(g.xHat, g.wHat), [B, C, K]), 2));
          const out = Int32Array.from(best.dataSync());
          best.dispose();
          return out;
        },
      });
    },
    marginSoftmax: ({ training }, margin) => {
      const g = geo as TfGeometry;
      const own = training ? (tfForms.rowParams?.(termContext(training)) ?? {}) : {};
      const target = margin.target;
      const m2 = own.m2 ?? rowParamTensor(target.kind === 'angular' ? target.m2 : 0, B, g.xNorm);
      const m3 = own.m3 ?? rowParamTensor(target.kind === 'angular' ? target.m3 : 0, B, g.xNorm);
      const scale = rowParamTensor(margin.scale, B, g.xNorm);
      const bias = margin.bias ? (extras.bias as tf.Tensor1D) : (tf.zeros([C]) as tf.Tensor1D);
      const trig = targetTrig(X, W, labels, oneHot, g);
      const logits = tfMarginLogits(margin, {
        cos: g.cos,
        oneHot,
        m2,
        m3,
        scale,
        bias,
        gtTheta: trig.theta as tf.Tensor1D,
        gtSin: trig.sin as tf.Tensor1D,
      });
      return { logits, ...tfLoss(margin.loss, logits, oneHot) };
    },
    extraTerms: ({ training }) => tfForms.extraLoss?.(termContext(training)),
    output: (_ctx, r, extra) => {
      const loss = extra ? (tf.add(r.loss, extra.loss) as tf.Scalar) : r.loss;
      const parts = { ...r.parts, ...extra?.parts };
      return { logits: r.logits, loss, parts, cos: (geo as TfGeometry).cos, paramsAfterForward };
    },
  };
}

/**
 * Run one step of `head` on tensors. In training mode the head's state is updated (on `head` itself)
 * and its margin applied; otherwise the logits are the plain scaled cosines.
 */
export function tfHeadStep(head: Head, inputs: TfHeadInputs, training: boolean): TfHeadStep {
  return runHeadStep(head, tfBackend(head, inputs, undefined), training);
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
  return runHeadStep(head, tfBackend(head, inputs, geo ?? undefined), training);
}
