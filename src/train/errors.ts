/** Errors specific to training runs. */
import { FaceVerLossError } from '../errors.js';

/**
 * The loss or a weight became NaN/±Infinity. Training stops before anything diverged is written; the
 * run's last checkpoint is the last good state.
 */
export class TrainingDivergedError extends FaceVerLossError {
  /** Global step (1-based) at which the non-finite value appeared. */
  readonly step: number;
  /** What was non-finite: `loss` or the name of a weight. */
  readonly quantity: string;
  constructor(step: number, quantity: string, hint: string) {
    super(
      `training diverged at step ${step}: ${quantity} is NaN or infinite. Likely cause: ${hint}. ` +
        'The last checkpoint before this step was kept.',
      'TRAINING_DIVERGED',
    );
    this.step = step;
    this.quantity = quantity;
  }
}
