/** Errors specific to training runs. */
import { FaceVerLossError } from '../errors.js';

/**
 * The loss or a weight became NaN/±Infinity. Training stops before anything diverged is written; the
 * run's last checkpoint, when one was written, is the last good state and the message names its step.
 */
export class TrainingDivergedError extends FaceVerLossError {
  /** Global step (1-based) at which the non-finite value appeared. */
  readonly step: number;
  /** What was non-finite: `loss` or the name of a weight. */
  readonly quantity: string;
  /** Step of the checkpoint left in the run folder, or undefined when none was written. */
  readonly checkpointStep: number | undefined;
  constructor(step: number, quantity: string, hint: string, checkpointStep?: number) {
    super(
      `training diverged at step ${step}: ${quantity} is NaN or infinite. Likely cause: ${hint}. ` +
        (checkpointStep === undefined
          ? 'No checkpoint of this run was written.'
          : `The run's checkpoint of step ${checkpointStep} was kept (--resume continues from it).`),
      'TRAINING_DIVERGED',
    );
    this.checkpointStep = checkpointStep;
    this.step = step;
    this.quantity = quantity;
  }
}
