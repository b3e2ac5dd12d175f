/**
 * The training loop: batches from the stream, one step each, the learning rate of the schedule, the
 * epoch's running sums, and the callbacks after every step. Everything else (what a step does, what is
 * logged, evaluated or saved) is passed in.
 */
import type { Batch, IterationState } from '../../data/index.js';
import { emptyEpochStats, type StepCallback, type TrainingState } from './state.js';
import type { StepOutcome } from './step.js';

export interface LoopInput {
  /** The batch stream; its position tells where an epoch ends. */
  stream: AsyncIterator<Batch> & { getState(): IterationState };
  /** Training images per epoch. */
  epochSize: number;
  totalSteps: number;
  state: TrainingState;
  learningRate: (step: number) => number;
  trainStep: (images: Float32Array, labels: Int32Array, step: number, lr: number) => Promise<StepOutcome>;
  callbacks: readonly StepCallback[];
}

/** Train until `totalSteps` steps are done or the stream ends. */
export async function runLoop({
  stream,
  epochSize,
  totalSteps,
  state,
  learningRate,
  trainStep,
  callbacks,
}: LoopInput): Promise<void> {
  while (state.step < totalSteps) {
    const next = await stream.next();
    if (next.done) break;
    const batch = next.value;
    const lr = learningRate(state.step);
    const { loss, correct, images } = await trainStep(batch.images, batch.labels, state.step, lr);
    const batchSize = images ?? batch.size;
    state.step++;
    state.epochStats.seen += batchSize;
    state.epochStats.correct += correct;
    state.epochStats.lossSum += loss * batchSize;
    const epochStats = { ...state.epochStats };
    const epochEnded = stream.getState().position >= epochSize;
    // A checkpoint written at the end of an epoch starts the next one with empty sums; one written
    // inside an epoch keeps them for the resumed part.
    if (epochEnded) state.epochStats = emptyEpochStats();
    const event = {
      step: state.step,
      totalSteps,
      epoch: batch.epoch,
      loss,
      correct,
      batchSize,
      lr,
      epochEnded,
      epochStats,
    };
    for (const callback of callbacks) await callback(event);
  }
}
