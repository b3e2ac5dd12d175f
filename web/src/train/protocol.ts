/** Messages between a training panel and its worker. */
import type { TrainableHead, TrainableParams } from './trainable.js';

/** Panel → worker. */
export type ToWorker =
  /** Load the digits (absolute URL of the asset) and pick a backend. */
  | { type: 'init'; dataUrl: string; backends: string[] }
  /** (Re)start from scratch with a head. */
  | { type: 'configure'; head: TrainableHead; params: TrainableParams; seed: number }
  /** Train `steps` steps (null: until stopped), posting progress every `every` steps. */
  | { type: 'run'; steps: number | null; every: number }
  | { type: 'stop' };

/** Worker → panel. */
export type FromWorker =
  | { type: 'ready'; backend: string; digits: number }
  | {
      type: 'progress';
      step: number;
      /** Losses of the steps since the previous message. */
      losses: number[];
      embeddings: Float32Array;
      labels: Uint8Array;
      weights: Float32Array;
      accuracy: number;
      running: boolean;
    }
  | { type: 'error'; message: string };
