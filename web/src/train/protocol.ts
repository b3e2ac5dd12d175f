/**
 * Messages between a training panel and its worker. Every run carries the id the panel gave it when
 * it (re)configured: the worker tags its reports with it and the panel drops reports of older runs,
 * which may still be in flight after a restart.
 */

/** One run's settings. */
export interface RunSettings {
  head: string;
  params: Record<string, unknown>;
  /** Seed of the batch order (shared by all panels). */
  seed: number;
  /** Seed of the initial weights (equal to `seed` under "same start"). */
  initSeed: number;
}

/** Panel → worker. */
export type ToWorker =
  /** Pick a backend (first that initialises among `backends`) and decode the digits. */
  | { type: 'init'; backends: string[] }
  /** Start run `runId` from scratch. */
  | { type: 'configure'; runId: number; settings: RunSettings }
  /** Train `steps` steps of run `runId` (null: until stopped), reporting every `every` steps. */
  | { type: 'run'; runId: number; steps: number | null; every: number }
  | { type: 'stop'; runId: number };

/** A report of run `runId` after `step` steps. */
export interface Progress {
  type: 'progress';
  runId: number;
  step: number;
  /** Losses of the steps since the previous report. */
  losses: number[];
  embeddings: Float32Array;
  labels: Uint8Array;
  weights: Float32Array;
  /** Held-out accuracy at `step`. */
  accuracy: number;
  /** Held-out verification: TAR at FAR VERIFY_FAR over pairs of held-out digits. */
  tar: number;
  /** Training steps per second over the steps since the previous report (null when none ran). */
  stepsPerSecond: number | null;
  running: boolean;
}

/** Worker → panel. */
export type FromWorker =
  /** `note`: why a faster backend was passed over (e.g. WebGL only as a software renderer), or ''. */
  | { type: 'ready'; backend: string; note: string; digits: number }
  | Progress
  /** `runId` null: the worker itself failed (no backend, no digits). */
  | { type: 'error'; runId: number | null; message: string };
