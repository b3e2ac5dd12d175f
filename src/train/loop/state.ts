/** What the training loop counts, and what a checkpoint stores of it. */

/** Running sums of the current epoch (train accuracy and loss of the epoch line). */
export interface EpochStats {
  seen: number;
  correct: number;
  lossSum: number;
}

export const emptyEpochStats = (): EpochStats => ({ seen: 0, correct: 0, lossSum: 0 });

/** The loop's counters: optimiser steps done, and the sums of the epoch in progress. */
export interface TrainingState {
  step: number;
  epochStats: EpochStats;
}

/** What every callback hears after a step. */
export interface StepEvent {
  /** Steps done, this one included. */
  step: number;
  totalSteps: number;
  /** Epoch of the batch just trained (0-based). */
  epoch: number;
  loss: number;
  correct: number;
  batchSize: number;
  lr: number;
  /** This batch completed its epoch. */
  epochEnded: boolean;
  /** The sums of the epoch up to and including this step (the loop has already reset its own at an end). */
  epochStats: EpochStats;
}

/** Something done after a step: progress, evaluation, checkpoint. Called in order, awaited. */
export type StepCallback = (event: StepEvent) => void | Promise<void>;
