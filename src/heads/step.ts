/**
 * One step of a head, written once for every implementation of the operator:
 *
 *   check inputs → state → extras → geometry → state update → margin → evaluation mode
 *   → margin softmax → extra terms → output (with the parameters replaced during forward)
 *
 * The order matters and is the same everywhere: the state is initialised before the definition reads
 * it, extras are replaced (clamped margins) before the margin reads them, the state is updated from the
 * cosines before the margin, and margins apply only in training mode. A {@link StepBackend} supplies the
 * pieces in its own arithmetic: the fp64 reference (`Head.forward`), TF.js (src/tf) and the native engine
 * (src/engine).
 */
import { InvalidArgumentError } from '../errors.js';
import type { Geometry } from '../margin/geometry.js';
import type { GeometrySpec, MarginSpec } from '../margin/spec.js';
import type { CheckedInputs, Head, HeadContext, HeadMargin, HeadState } from './define.js';

/**
 * What one implementation of the operator supplies to {@link planHeadStep}. `R` is its margin-softmax
 * result, `E` its form of the extra terms and `O` the step's output.
 */
export interface StepBackend<R, E, O, P = unknown, S extends HeadState = HeadState> {
  /**
   * The inputs, checked against the head (typed errors for bad shapes, labels or extras), as a fresh
   * object the step extends into the definition's context. A backend holding tensors may read X and W
   * back lazily, through getters.
   */
  frame(): CheckedInputs;
  /** Extras the definition replaced before use (fp64 values): the gradient is w.r.t. these. */
  replaceExtras(replaced: Record<string, Float64Array>): void;
  /** The whole loss of a head that has no margin softmax (Center Loss). */
  compute(ctx: Omit<HeadContext<P, S>, 'geo'>): O;
  /** The geometry of `spec`, as the fp64 view a definition reads (backends may compute it lazily). */
  geometry(ctx: Omit<HeadContext<P, S>, 'geo'>, spec: GeometrySpec): Geometry;
  /** The margin softmax with the margin the step settled on. */
  marginSoftmax(ctx: HeadContext<P, S>, margin: HeadMargin): R;
  /** The head's extra terms in this backend's form (undefined when the head has none). */
  extraTerms(ctx: HeadContext<P, S>, result: R): E | undefined;
  /** The step's output: the margin result plus the extra terms, and the parameters replaced in forward. */
  output(ctx: HeadContext<P, S>, result: R, extra: E | undefined): O;
}

/**
 * A step planned up to the margin softmax: the call itself is left to the caller (so a backend may run
 * it on a worker thread), `finish` does the rest. Heads without a margin are `done` at once.
 */
export type PlannedStep<R, O, P = unknown, S extends HeadState = HeadState> =
  | { done: true; output: O }
  | { done: false; ctx: HeadContext<P, S>; margin: HeadMargin; finish: (result: R) => O };

/** The margin-free version of a head's margin: what evaluation mode computes. */
export function evaluationMargin<M extends MarginSpec>(spec: M): M {
  return {
    ...spec,
    target: { kind: 'angular', m1: 1, m2: 0, m3: 0, fallback: 'none' },
    negatives: { kind: 'plain' },
  };
}

/** `options.training` must be a boolean (a truthy string would silently train). */
export function checkTraining(training: unknown): asserts training is boolean {
  if (typeof training !== 'boolean')
    throw new InvalidArgumentError('options.training', 'a boolean', training);
}

/** Everything of a step up to the margin softmax, and what follows it. Updates the head's state. */
export function planHeadStep<R, E, O, P, S extends HeadState>(
  head: Head<P, S>,
  backend: StepBackend<R, E, O, P, S>,
  training: boolean,
): PlannedStep<R, O, P, S> {
  checkTraining(training);
  const def = head.definition;
  const frame = backend.frame();
  if (Object.keys(head.state).length === 0 && def.initialState) head.initState(frame.C);
  const replaced = def.prepareExtras?.(head.params, frame.extras) ?? {};
  backend.replaceExtras(replaced);
  // Assigned onto the frame, not spread: a backend's lazy getters (X, W) must not be read here.
  const base: Omit<HeadContext<P, S>, 'geo'> = Object.assign(frame, {
    p: head.params,
    state: head.state,
    training,
    rng: head.random,
    extras: { ...frame.extras, ...replaced },
  });
  if (def.compute) return { done: true, output: backend.compute(base) };
  const ctx = Object.assign(base, { geo: backend.geometry(base, def.geometry(head.params)) });
  if (training && def.update) {
    head.setState(def.update(ctx));
    ctx.state = head.state;
  }
  const defined = def.margin(ctx);
  const margin = training ? defined : evaluationMargin(defined);
  return {
    done: false,
    ctx,
    margin,
    finish: (result) => backend.output(ctx, result, backend.extraTerms(ctx, result)),
  };
}

/** One whole step on a backend whose margin softmax runs in the calling thread. */
export function runHeadStep<R, E, O, P, S extends HeadState>(
  head: Head<P, S>,
  backend: StepBackend<R, E, O, P, S>,
  training: boolean,
): O {
  const plan = planHeadStep(head, backend, training);
  return plan.done ? plan.output : plan.finish(backend.marginSoftmax(plan.ctx, plan.margin));
}
