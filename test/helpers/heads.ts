/**
 * Head factories for gradient checks: a head whose state is held fixed, so its training loss is a pure
 * function of the inputs.
 */
import {
  Head,
  type HeadInputs,
  type HeadState,
  headDefinition,
  resolveParams,
} from '../../src/heads/index.js';
import { createRng } from '../../src/rng.js';

export interface FrozenOptions {
  /** State to run with (the state a real head holds after its update in the same forward). */
  state?: HeadState;
  /** Seed of the head's random source, recreated on every build (ElasticFace draws from it). */
  seed?: number;
  /**
   * Use the class weights as given, without normalisation: the function whose gradient a head with
   * `weightNorm: 'overwrite'` returns (its W is replaced by the normalised copy and differentiated as is).
   */
  rawWeights?: boolean;
}

/**
 * A fresh head with the training-time state update removed, and the given state installed.
 * Reference implementations update their statistics (CurricularFace t, AdaCos s, AdaFace μ/σ) from
 * detached values, so the analytic gradient treats the new state as a constant; freezing it is what makes
 * finite differences comparable.
 */
export function frozenHead(name: string, params: object, o: FrozenOptions = {}): Head<unknown, HeadState> {
  const def = headDefinition(name);
  const geometry = o.rawWeights
    ? (p: unknown) => ({ ...def.geometry(p), normalizeW: 'none' as const })
    : def.geometry;
  const head = new Head(
    { ...def, update: undefined, geometry },
    resolveParams(name, params),
    createRng(o.seed ?? 0),
  );
  if (o.state) head.setState(o.state);
  return head;
}

/** Training loss of a frozen head: builds a new head per call so nothing carries over. */
export function frozenLoss(name: string, params: object, o: FrozenOptions, inputs: HeadInputs): number {
  return frozenHead(name, params, o).forward(inputs, { training: true }).loss;
}
