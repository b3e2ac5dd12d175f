/**
 * Divergence: what a NaN or infinite loss, gradient or weight is reported as. The guard knows the step of
 * the last checkpoint in the run folder, so the error can say which good state was kept.
 */
import * as tf from '@tensorflow/tfjs';
import type { HeadLayer } from '../../tf/index.js';
import type { TrainConfig } from '../config.js';
import { TrainingDivergedError } from '../errors.js';

/** What to change, with the values this run used. */
export function divergenceHint(config: TrainConfig, headParams: Readonly<Record<string, unknown>>): string {
  const margin = Object.entries(headParams)
    .filter(([k, v]) => typeof v === 'number' && /^(scale|margin|m\d?|s)$/.test(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return (
    `learning rate too high (--lr ${config.lr}; try 10× lower or --warmup), or a margin too large for ` +
    `the scale and data (${config.head}${margin ? ` ${margin}` : ''}; try a smaller --param margin)`
  );
}

export class DivergenceGuard {
  /** Step of the checkpoint in the run folder, or undefined while none has been written. */
  checkpointStep: number | undefined;
  private readonly hint: string;

  constructor(config: TrainConfig, head: Pick<HeadLayer, 'headParams'>, checkpointStep?: number) {
    this.hint = divergenceHint(config, head.headParams);
    this.checkpointStep = checkpointStep;
  }

  /** The error for `quantity` found non-finite at (1-based) step `step`. */
  error(step: number, quantity: string): TrainingDivergedError {
    return new TrainingDivergedError(step, quantity, this.hint, this.checkpointStep);
  }

  /** Throws when a weight holds NaN or ±Infinity (checked before it is written to a checkpoint). */
  checkWeights(weights: readonly { name: string; value: tf.Tensor }[], step: number): void {
    for (const { name, value } of weights) {
      const finite = tf.tidy(() => tf.all(tf.isFinite(value)).dataSync()[0] === 1);
      if (!finite) throw this.error(step, name);
    }
  }
}
