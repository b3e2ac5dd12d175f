/**
 * `HeadLayer`: a TF.js layer holding a head's class weights (C×D, or C·K×D with sub-centres), its
 * learnable extras (bias, AdaM margins, DiscFace displacement) and its state (as non-trainable
 * weights, so they are saved with the model). It outputs the cosines of its input with every class;
 * {@link marginLoss} turns them into the head's training loss given the labels.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError, NonFiniteError, ShapeMismatchError } from '../errors.js';
import type { Head } from '../heads/define.js';
import { createHead } from '../heads/registry.js';
import { createRng } from '../rng.js';
import { positiveInt } from '../validate.js';
import type { TfGeometry } from './geometry.js';
import { tfHeadGeometry, tfHeadLoss } from './head-step.js';

/** Constructor arguments of {@link HeadLayer}. */
export interface HeadLayerArgs {
  /** Registered head name (`arcface`, `cosface`, …). */
  head: string;
  /** Head parameters (validated and completed with defaults by the head's schema). */
  params?: Record<string, unknown>;
  /** Number of classes C. */
  classes: number;
  /** Seed of the initial weights and of heads that sample (ElasticFace). */
  seed?: number;
  name?: string;
  trainable?: boolean;
  /** As for any layer: lets a HeadLayer be a model's first layer. */
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
}

/** What one call left for {@link marginLoss}: the tensors the loss differentiates through. */
interface CallRecord {
  output: tf.Tensor;
  X: tf.Tensor2D;
  W: tf.Tensor2D;
  extras: Record<string, tf.Tensor>;
  geo: TfGeometry;
  training: boolean;
}

/** A weight created with `Layer.addWeight` (TF.js does not export the class under a public name). */
export type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;

/** How many calls' tensors a layer keeps for its loss (two covers a call for metrics in between). */
const RECORDS_KEPT = 2;

function disposeRecord(r: CallRecord): void {
  const tensors = [r.X, r.W, ...Object.values(r.extras)];
  if (r.geo) tensors.push(r.geo.xNorm, r.geo.xHat, r.geo.wHat, r.geo.cosRaw, r.geo.cos);
  for (const t of tensors) t.dispose();
}

/**
 * A head as a layer: input B×D embeddings, output B×C cosines (raw dot products for heads without
 * normalisation, such as Center Loss). Compile the model with `marginLoss(layer)`.
 */
export class HeadLayer extends tf.layers.Layer {
  /** Name under which the class is registered for deserialisation. */
  static className = 'FaceVerLossHead';
  /** The runnable head (parameters, definition); its state mirrors the layer's `state` weight. */
  readonly head: Head;
  readonly headName: string;
  readonly headParams: Record<string, unknown>;
  readonly classes: number;
  readonly seed: number;
  /** Class weights, C·K×D. */
  kernel: LayerVariable | null = null;
  /** Learnable extras by name. */
  readonly extraWeights: Record<string, LayerVariable> = {};
  /** Head state as a non-trainable vector, in the order of {@link stateKeys}. */
  stateWeight: LayerVariable | null = null;
  /** Names of the state fields, in storage order. */
  stateKeys: string[] = [];
  /** Tensors of the latest calls, newest last, for {@link marginLoss}. */
  private readonly records: CallRecord[] = [];

  constructor(args: HeadLayerArgs) {
    if (typeof args !== 'object' || args === null)
      throw new InvalidArgumentError('args', 'an object { head, classes, params?, seed? }', args);
    super({
      name: args.name,
      trainable: args.trainable,
      inputShape: args.inputShape,
      batchInputShape: args.batchInputShape,
    });
    this.classes = positiveInt('classes', args.classes);
    this.seed = args.seed ?? 0;
    this.head = createHead(args.head, args.params ?? {}, {
      rng: createRng(this.seed),
      classes: this.classes,
    });
    this.headName = args.head;
    // Keep the completed parameters so a reloaded layer does not depend on today's defaults.
    this.headParams = { ...(this.head.params as Record<string, unknown>) };
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const D = shape[shape.length - 1];
    if (shape.length !== 2 || typeof D !== 'number')
      throw new ShapeMismatchError('input', 'B×D embeddings with a known D', JSON.stringify(shape));
    const K = this.head.subCenters;
    const rng = createRng(this.seed);
    this.kernel = this.addWeight(
      'kernel',
      [this.classes * K, D],
      'float32',
      // TF.js treats seed 0 as "no seed" (random): shift by one so every seed, 0 included, is reproducible.
      tf.initializers.glorotUniform({ seed: this.seed + 1 }),
    );
    for (const [name, spec] of Object.entries(this.head.learnables(this.classes, D))) {
      const w = this.addWeight(name, spec.shape, 'float32', tf.initializers.zeros());
      w.write(tf.tensor(Float32Array.from(spec.init(rng)), spec.shape));
      this.extraWeights[name] = w;
    }
    const state = this.head.getState();
    this.stateKeys = Object.keys(state);
    if (this.stateKeys.length > 0) {
      this.stateWeight = this.addWeight(
        'state',
        [this.stateKeys.length],
        'float32',
        tf.initializers.zeros(),
        undefined,
        false,
      );
      this.stateWeight.write(tf.tensor1d(this.stateKeys.map((k) => state[k])));
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], this.classes];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const X = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
    const W = this.kernel!.read() as tf.Tensor2D;
    // The weights fix D at build time; another size would reach matMul and fail there with TF.js's
    // own message, which names neither the layer nor the sizes.
    const D = W.shape[1];
    if (X.rank !== 2 || X.shape[1] !== D) {
      throw new ShapeMismatchError(
        `input of HeadLayer '${this.name}'`,
        `B×${D} embeddings (the size the layer was built for)`,
        X.shape.join('×'),
      );
    }
    const geo = tfHeadGeometry(this.head, X, W);
    // The loss needs this call's tensors after the model's own tidy scope has ended, so the layer keeps
    // copies (still on the gradient tape) for its latest calls and releases older ones.
    const keep = <T extends tf.Tensor>(t: T): T => tf.keep(tf.clone(t));
    const extras: Record<string, tf.Tensor> = {};
    for (const [name, v] of Object.entries(this.extraWeights)) extras[name] = keep(v.read());
    const output = tf.clone(geo.cos);
    const record: CallRecord = {
      output,
      X: keep(X),
      W: keep(W),
      extras,
      geo: {
        spec: geo.spec,
        xNorm: keep(geo.xNorm),
        xHat: keep(geo.xHat),
        wHat: keep(geo.wHat),
        cosRaw: keep(geo.cosRaw),
        cos: keep(geo.cos),
      },
      training: kwargs.training === true,
    };
    this.records.push(record);
    while (this.records.length > RECORDS_KEPT) disposeRecord(this.records.shift()!);
    return output;
  }

  /** The head state as stored in the layer (what a saved model carries). */
  getHeadState(): Record<string, number> {
    if (!this.stateWeight) return {};
    const values = this.stateWeight.read().dataSync();
    return Object.fromEntries(this.stateKeys.map((k, i) => [k, values[i]]));
  }

  /** Replace the head state (e.g. to resume training). */
  setHeadState(state: Record<string, number>): void {
    this.head.setState({ ...this.getHeadState(), ...state });
    this.writeState();
  }

  private writeState(): void {
    if (!this.stateWeight) return;
    const state = this.head.getState();
    this.stateWeight.write(tf.tensor1d(this.stateKeys.map((k) => state[k])));
  }

  /** The record of the call that produced `output` (one of the latest calls). */
  private recordOf(output: tf.Tensor): CallRecord {
    const record = this.records.find((r) => r.output === output);
    if (!record)
      throw new InvalidArgumentError(
        'yPred',
        `the output tensor of one of the latest ${RECORDS_KEPT} calls of HeadLayer '${this.name}'`,
        output.shape,
      );
    return record;
  }

  /**
   * The head's loss for the call that produced `output`: margin, state update and in-forward parameter
   * replacement in training calls; plain scaled cosines otherwise.
   */
  lossFor(output: tf.Tensor, labels: Int32Array): tf.Scalar {
    const r = this.recordOf(output);
    if (labels.length !== r.X.shape[0])
      throw new ShapeMismatchError('labels', `${r.X.shape[0]} labels`, `${labels.length}`);
    // NaN embeddings or weights (a diverged step) would otherwise give a NaN loss without an error.
    for (const [name, t] of [
      ['X', r.X],
      ['W', r.W],
    ] as const) {
      const finite = tf.tidy(() => tf.all(tf.isFinite(t)));
      const ok = finite.dataSync()[0] === 1;
      finite.dispose();
      if (!ok)
        throw new NonFiniteError(
          name,
          `the ${name === 'X' ? 'input' : 'class weights'} of HeadLayer '${this.name}'`,
        );
    }
    if (this.stateWeight) this.head.setState(this.getHeadState());
    const step = tfHeadLoss(this.head, { X: r.X, W: r.W, labels, extras: r.extras }, r.geo, r.training);
    if (r.training) {
      this.writeState();
      // Parameters the reference replaces in forward (normalised W, clamped margins) are stored, so the
      // optimiser steps from them as it does there.
      for (const [name, value] of Object.entries(step.paramsAfterForward)) {
        const target = name === 'W' ? this.kernel : this.extraWeights[name];
        target?.write(tf.clone(value));
      }
    }
    return step.loss;
  }

  /** Releases the tensors kept from recent calls as well as the weights. */
  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    for (const r of this.records.splice(0)) disposeRecord(r);
    return super.dispose();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      head: this.headName,
      params: this.headParams as tf.serialization.ConfigDict,
      classes: this.classes,
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(HeadLayer);

/**
 * The class of each one-hot row. Rows must hold a single 1 and zeros: an argMax would quietly turn
 * smoothed, multi-hot or all-zero rows into some class, and the margin loss needs one exact class.
 */
function oneHotIndices(yTrue: tf.Tensor, classes: number): Int32Array {
  const values = yTrue.dataSync();
  const rows = yTrue.shape[0] as number;
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let hot = -1;
    for (let j = 0; j < classes; j++) {
      const v = values[i * classes + j];
      if (v === 0) continue;
      if (v !== 1 || hot >= 0) {
        const row = Array.from(values.subarray(i * classes, Math.min((i + 1) * classes, i * classes + 8)));
        throw new InvalidArgumentError(
          `labels[${i}]`,
          `a one-hot row of ${classes} values (a single 1, the rest 0), or class indices of shape [B]`,
          `[${row.join(', ')}${classes > 8 ? ', …' : ''}]`,
        );
      }
      hot = j;
    }
    if (hot < 0) {
      throw new InvalidArgumentError(
        `labels[${i}]`,
        `a one-hot row of ${classes} values (a single 1, the rest 0), or class indices of shape [B]`,
        'a row of zeros',
      );
    }
    out[i] = hot;
  }
  return out;
}

/** Class indices from labels given as indices ([B] or [B, 1]) or one-hot rows ([B, C]). */
export function labelsFrom(yTrue: tf.Tensor, classes: number): Int32Array {
  if (yTrue.rank === 2 && yTrue.shape[1] === classes && classes > 1) return oneHotIndices(yTrue, classes);
  if (yTrue.rank === 1 || (yTrue.rank === 2 && yTrue.shape[1] === 1)) {
    const values = yTrue.dataSync();
    const out = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isInteger(v) || v < 0 || v >= classes)
        throw new InvalidArgumentError(`labels[${i}]`, `an integer class index in [0, ${classes})`, v);
      out[i] = v;
    }
    return out;
  }
  throw new ShapeMismatchError(
    'labels',
    `[B], [B, 1] class indices or [B, ${classes}] one-hot rows`,
    `${yTrue.shape}`,
  );
}

/**
 * The training loss of a {@link HeadLayer}, as a Keras-style loss `(yTrue, yPred) => scalar`.
 * `yPred` must be that layer's output; `yTrue` holds class indices ([B] or [B, 1], for custom loops)
 * or one-hot rows ([B, C], which `model.fit` needs because targets must match the output shape).
 */
export function marginLoss(layer: HeadLayer): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
  if (!(layer instanceof HeadLayer)) throw new InvalidArgumentError('layer', 'a HeadLayer', layer);
  return (yTrue, yPred) => layer.lossFor(yPred, labelsFrom(yTrue, layer.classes));
}
