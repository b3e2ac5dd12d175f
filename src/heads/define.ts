/**
 * `defineHead`: turns a small declarative description (parameters, margin, state update, extra loss
 * terms) into a runnable head over the fp64 reference operator.
 */
import type { z } from 'zod';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { Geometry } from '../margin/geometry.js';
import { applyMargin, type MarginSoftmaxResult } from '../margin/reference.js';
import type { GeometrySpec, MarginSpec } from '../margin/spec.js';
import { createRng, type Rng } from '../rng.js';
import { toFiniteFloat64, toLabels } from '../validate.js';
import type { HeadAnchors } from './anchor.js';
import type { HeadPicture } from './picture.js';
import { referenceBackend } from './reference-step.js';
import { checkTraining, runHeadStep } from './step.js';
import type { TfHeadTerms } from './tf-terms.js';

/** JSON-serialisable head state (EMA statistics, counters, adaptive scale). */
export type HeadState = Record<string, number>;

/** A learnable tensor a head needs besides the class weights W. */
export interface LearnableSpec {
  /** Shape, e.g. [C] or [C, D]. */
  shape: number[];
  /** Initial values given the shape and a random source. */
  init: (rng: Rng) => Float64Array;
}

/** The inputs of one step, checked against the head: sizes, labels and fp64 views. */
export interface CheckedInputs {
  B: number;
  D: number;
  C: number;
  /** Embeddings, B×D. */
  X: Float64Array;
  /** Class weights as given (before any normalisation), C·K×D. */
  W: Float64Array;
  labels: Int32Array;
  /** Learnable extras by name (in a context: after any in-forward modification such as a clamp). */
  extras: Record<string, Float64Array>;
}

/** Everything a head definition sees during one forward pass. */
export interface HeadContext<P = unknown, S extends HeadState = HeadState> extends CheckedInputs {
  p: P;
  state: S;
  training: boolean;
  geo: Geometry;
  rng: Rng | undefined;
}

/** Extra loss terms added to the margin loss (CenterLoss-like regularisers, MagFace's g(a)…). */
export interface ExtraTerms {
  loss: number;
  parts?: Record<string, number | Float64Array>;
  dX?: Float64Array;
  dW?: Float64Array;
  dExtras?: Record<string, Float64Array>;
}

/** The margin a head applies, plus an optional bias for a plain linear classifier. */
export type HeadMargin = MarginSpec & { bias?: Float64Array };

/**
 * A declarative head: its parameter schema, geometry, margin, optional state update and extra loss terms.
 * {@link Head} runs it on the fp64 reference operator.
 */
export interface HeadDefinition<P, S extends HeadState = HeadState> {
  name: string;
  /** One line: paper and idea. */
  summary: string;
  schema: z.ZodType<P>;
  /** Rows of W per class (sub-centres). */
  subCenters?: (p: P) => number;
  /** Fewest classes the head is defined for (default 1); AdaCos needs negatives: ln(0) otherwise. */
  minClasses?: number;
  geometry: (p: P) => GeometrySpec;
  learnables?: (p: P, C: number, D: number) => Record<string, LearnableSpec>;
  initialState?: (p: P, C: number) => S;
  /** Learnable extras changed in place during forward (returned as `paramsAfterForward`). */
  prepareExtras?: (p: P, extras: Record<string, Float64Array>) => Record<string, Float64Array>;
  /** State update in training mode, from the cosines, before the margin is applied. */
  update?: (ctx: HeadContext<P, S>) => S;
  margin: (ctx: HeadContext<P, S>) => HeadMargin;
  extraTerms?: (ctx: HeadContext<P, S>, out: MarginSoftmaxResult) => ExtraTerms;
  /** A head whose loss is not a margin softmax (CenterLoss) replaces the whole computation. */
  compute?: (ctx: Omit<HeadContext<P, S>, 'geo'>) => HeadOutput;
  /** TF.js forms of `extraTerms` and `compute` (and learnable per-row margins), for the TF.js path. */
  tf?: TfHeadTerms<P>;
  /** One short display line of the head's logits (the page shows it; numbers come from the code). */
  formula: string;
  /** Caption and curves of its decision-boundary picture (one curve at its parameters by default). */
  picture?: HeadPicture;
  /**
   * The margin actually applied at feature norm `xNorm` under `state`, as one line of text, for heads
   * whose margin moves with the sample or with training (the page shows it beside the pictures).
   */
  effectiveMargin?: (p: P, state: S, xNorm: number) => string;
  /** Parameters for ten classes in a plane (the page's panels, `faceverloss compare`). */
  smallScale?: SmallScaleParams<P>;
  /** Reference classes this head reproduces exactly, keyed `tag:Class`, with their argument translation. */
  anchors?: HeadAnchors;
}

/**
 * Parameters for ten classes in a plane (2-D features). The library's defaults are tuned for thousands
 * of identities on 512-D embeddings (s = 64, m = 0.5); in two dimensions ten classes sit 36° apart, so
 * margins that large cannot all be met and s = 64 saturates the softmax from the first step. Parameters
 * not given keep the library's defaults.
 */
export interface SmallScaleParams<P> {
  /** Starting parameters of the page's live panels: s = 16 and a margin of about a third of the spacing. */
  panel?: Partial<P>;
  /** What `faceverloss compare` trains (docs/compare.md); absent: the library's defaults. */
  compare?: Partial<P>;
  /** `compare` parameters that depend on the run's length in steps, used instead of `compare`. */
  compareForSteps?: (totalSteps: number) => Partial<P>;
}

/** Inputs of one forward/backward pass. Extras are the head's learnable tensors beyond W. */
export interface HeadInputs {
  /** Embeddings, B×D row-major. */
  X: ArrayLike<number>;
  /** Integer class labels, length B. */
  labels: ArrayLike<number> | ArrayLike<bigint>;
  /** Class weights, C·K×D row-major (K sub-centres per class, usually 1). */
  W: ArrayLike<number>;
  extras?: Record<string, ArrayLike<number>>;
}

/** Result of {@link Head.forward}: logits, loss, named parts, gradients and in-forward parameter changes. */
export interface HeadOutput {
  /** Logits the loss is computed on, B×C (empty for heads without logits). */
  logits: Float64Array;
  /** The scalar training loss (margin loss plus any extra terms). */
  loss: number;
  /** Named terms and intermediates (`ce`, `focal`, `disc`, `pair`, …). */
  parts: Record<string, number | Float64Array>;
  /** dloss/d input for X, W and every extra. */
  grads: Record<string, Float64Array>;
  /**
   * Parameters the head replaced during forward, as the reference code does in place (normalised W,
   * clamped AdaM margins). The gradient is w.r.t. these values; an optimiser should start from them.
   */
  paramsAfterForward: Record<string, Float64Array>;
  /** Clamped cosines, B×C (empty for heads without logits). */
  cos: Float64Array;
}

/** Options of {@link Head.forward}. */
export interface ForwardOptions {
  /** Training mode applies margins and updates state (default true). */
  training?: boolean;
}

/** A runnable head: parameters, explicit state, and an fp64 forward/backward. */
export class Head<P = unknown, S extends HeadState = HeadState> {
  readonly name: string;
  readonly params: P;
  state: S;
  private readonly def: HeadDefinition<P, S>;
  private readonly rng: Rng | undefined;

  constructor(def: HeadDefinition<P, S>, params: P, rng?: Rng) {
    this.def = def;
    this.name = def.name;
    this.params = params;
    this.rng = rng;
    this.state = {} as S;
  }

  /** The declarative definition this head runs, for other implementations of the operator (TF.js). */
  get definition(): HeadDefinition<P, S> {
    return this.def;
  }

  /** The random source handed to the definition (ElasticFace draws its margins from it). */
  get random(): Rng | undefined {
    return this.rng;
  }

  /**
   * Check inputs as {@link forward} does and return them as fp64 arrays with the batch, dimension and
   * class counts (throws the same typed errors).
   */
  checkInputs(inputs: HeadInputs): CheckedInputs {
    const { B, D, C, X, W, labels, extras } = this.validate(inputs, true);
    return { B, D, C, X, W, labels, extras };
  }

  /** Rows of W per class. */
  get subCenters(): number {
    return this.def.subCenters?.(this.params) ?? 1;
  }

  /** Initialise state for C classes (called by {@link createHead} users that know C, or lazily). */
  initState(C: number): void {
    this.checkClasses('classes', C);
    this.state = this.def.initialState?.(this.params, C) ?? ({} as S);
  }

  /** Learnable tensors besides W, with shapes for C classes of dimension D. */
  learnables(C: number, D: number): Record<string, LearnableSpec> {
    return this.def.learnables?.(this.params, C, D) ?? {};
  }

  /** Serialisable snapshot of the state. */
  getState(): S {
    return { ...this.state };
  }

  /** Replace the state (e.g. from a checkpoint); every value must be a number. */
  setState(state: S): void {
    for (const [k, v] of Object.entries(state)) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new InvalidArgumentError(`state.${k}`, 'a finite number', v);
    }
    this.state = { ...state };
  }

  /** Forward and backward in fp64. Updates state in training mode. */
  forward(inputs: HeadInputs, options: ForwardOptions = {}): HeadOutput {
    const training = options.training ?? true;
    checkTraining(training);
    return runHeadStep(this, referenceBackend(this, inputs), training);
  }

  /**
   * Logits the head's margin produces for given cosines, without touching state: for pictures of
   * decision boundaries and for tests. `cos` is N×C (row i's target is `labels[i]`); `xNorm` gives
   * embedding norms for heads whose margin or scale depends on them (default 1).
   */
  marginLogits(cos: Float64Array, C: number, labels: Int32Array, xNorm?: Float64Array): Float64Array {
    const B = labels.length;
    this.checkClasses('C', C);
    if (cos.length !== B * C) throw new ShapeMismatchError('cos', `${B}×${C} values`, `${cos.length}`);
    if (this.def.compute)
      throw new InvalidArgumentError('head', `a head with a margin (${this.name} has none)`);
    // A label out of range would read another row's cosine; a NaN would come back as a NaN logit.
    labels = toLabels('labels', labels, C);
    cos = toFiniteFloat64('cos', cos);
    if (Object.keys(this.state).length === 0 && this.def.initialState) this.initState(C);
    const norms = xNorm === undefined ? new Float64Array(B).fill(1) : toFiniteFloat64('xNorm', xNorm, B);
    const geo: Geometry = {
      spec: this.def.geometry(this.params),
      B,
      D: 0,
      C,
      xNorm: norms,
      xHat: new Float64Array(0),
      wNorm: new Float64Array(0),
      wHat: new Float64Array(0),
      cosRaw: cos,
      cos,
      argSub: new Int32Array(B * C),
    };
    const extras: Record<string, Float64Array> = {};
    for (const [name, spec] of Object.entries(this.learnables(C, 1))) {
      // Learnable margins and displacements at their initial values (deterministic: rng seeded 0).
      extras[name] = spec.init(createRng(0));
    }
    const ctx: HeadContext<P, S> = {
      p: this.params,
      state: this.state,
      training: true,
      B,
      D: 0,
      C,
      X: new Float64Array(0),
      W: new Float64Array(0),
      labels,
      extras,
      geo,
      rng: createRng(0),
    };
    const spec = this.def.margin(ctx);
    return applyMargin(cos, labels, B, C, spec, spec.bias).logits;
  }

  /** A class count the head is defined for (a positive integer, at least `minClasses`). */
  private checkClasses(argument: string, C: number): void {
    const min = this.def.minClasses ?? 1;
    if (!Number.isInteger(C) || C < min) {
      const rows = argument === 'W' ? ' (rows of W)' : '';
      const count = min === 1 ? 'at least 1 class' : `at least ${min} classes`;
      throw new InvalidArgumentError(argument, `${count}${rows} for ${this.name}`, C);
    }
  }

  private validate(inputs: HeadInputs, training: boolean) {
    if (typeof inputs !== 'object' || inputs === null) {
      throw new InvalidArgumentError('inputs', 'an object { X, labels, W, extras? }', inputs);
    }
    const labelCount = (inputs.labels as ArrayLike<unknown> | undefined)?.length;
    if (typeof labelCount !== 'number' || labelCount === 0) {
      throw new InvalidArgumentError('labels', 'a non-empty array of class indices', inputs.labels);
    }
    const B = labelCount;
    const X = toFiniteFloat64('X', inputs.X);
    if (X.length === 0 || X.length % B !== 0) {
      throw new ShapeMismatchError('X', `B×D values with B = ${B} (labels.length)`, `${X.length} values`);
    }
    const D = X.length / B;
    const W = toFiniteFloat64('W', inputs.W);
    const K = this.subCenters;
    if (W.length === 0 || W.length % (D * K) !== 0) {
      throw new ShapeMismatchError(
        'W',
        `C·${K}×${D} values (classes × sub-centres × dimension)`,
        `${W.length} values`,
      );
    }
    const C = W.length / (D * K);
    this.checkClasses('W', C);
    const labels = toLabels('labels', inputs.labels, C);
    const extras: Record<string, Float64Array> = {};
    const learnables = this.learnables(C, D);
    // A misspelt or foreign extra would otherwise be ignored silently and the default used instead.
    for (const name of Object.keys(inputs.extras ?? {})) {
      if (!(name in learnables)) {
        const known = Object.keys(learnables);
        throw new InvalidArgumentError(
          `extras.${name}`,
          known.length > 0
            ? `one of ${this.name}'s extras (${known.join(', ')})`
            : `no extras (${this.name} has none)`,
          name,
        );
      }
    }
    for (const [name, spec] of Object.entries(learnables)) {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      const given = inputs.extras?.[name];
      if (given === undefined)
        throw new InvalidArgumentError(`extras.${name}`, `${spec.shape.join('×')} values`, given);
      extras[name] = toFiniteFloat64(`extras.${name}`, given, size);
    }
    return { p: this.params, training, B, D, C, X, W, labels, extras, rng: this.rng };
  }
}

/** Declare a head. The returned definition is registered in `registry.ts`. */
export function defineHead<P, S extends HeadState = HeadState>(
  def: HeadDefinition<P, S>,
): HeadDefinition<P, S> {
  return def;
}
