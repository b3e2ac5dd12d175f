/**
 * The shared softmax start of `demo` and `compare` (see src/train/warm-start.ts for why): a softmax run
 * with the same data, backbone and optimiser settings, trained for a few epochs in `OUT/warm-start`,
 * which the head's run then starts from. `--warm-start-epochs 0` or `--init RUN` skip it.
 */
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { mergeTrainConfig, type TrainConfig } from '../train/index.js';

/** Help text of `--warm-start-epochs`. */
export function warmStartHelp(defaultEpochs: number): string {
  return `epochs of the softmax run the head starts from (default ${defaultEpochs}; 0: random weights)`;
}

/** A whole number ≥ `min` from a flag's text. */
export function parseCount(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min)
    throw new InvalidArgumentError(flag, `a whole number ≥ ${min}`, text);
  return n;
}

/** The shared start of a run folder `out`, or undefined when there is none. */
export interface SharedStart {
  /** Where it is trained and what the head runs name as their `init`. */
  out: string;
  config: TrainConfig;
}

/**
 * The softmax start for `out`: the command's settings (`base` under the user's `values`) with softmax
 * and `epochs` epochs. Undefined when `epochs` is 0 or the user chose their own `--init`.
 */
export function sharedStart(
  out: string,
  base: Record<string, unknown>,
  values: Record<string, unknown>,
  epochs: number,
  source: string,
): SharedStart | undefined {
  if (epochs === 0 || values.init !== undefined) return undefined;
  // The head's own length, parameters and name do not apply to the start.
  const { epochs: _headEpochs, params: _headParams, head: _head, ...shared } = values;
  return {
    out: join(out, 'warm-start'),
    config: mergeTrainConfig({ ...base, head: 'softmax', params: {}, epochs }, shared, source),
  };
}
