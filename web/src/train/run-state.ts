/**
 * A panel's record of its current run, updated from worker reports. Pure, so the run-id rule is tested
 * without a browser: a report of another run than the current one is dropped.
 */
import type { Progress } from './protocol.js';

/** What the page knows about a panel's current run. */
export interface RunRecord {
  runId: number;
  step: number;
  /** Loss of every step of this run. */
  losses: number[];
  /** Held-out accuracy by step (null until the first evaluation). */
  accuracy: { step: number; value: number }[];
  /** Held-out TAR at a low FAR by step. */
  tar: { step: number; value: number }[];
  stepsPerSecond: number | null;
  running: boolean;
}

/** A fresh record for run `runId`. */
export function newRun(runId: number): RunRecord {
  return { runId, step: 0, losses: [], accuracy: [], tar: [], stepsPerSecond: null, running: false };
}

/** Fold a report into the record; returns false (and changes nothing) for another run's report. */
export function applyProgress(run: RunRecord, msg: Progress): boolean {
  if (msg.runId !== run.runId) return false;
  run.step = msg.step;
  run.losses.push(...msg.losses);
  const last = run.accuracy.at(-1);
  if (!last || last.step !== msg.step) {
    run.accuracy.push({ step: msg.step, value: msg.accuracy });
    run.tar.push({ step: msg.step, value: msg.tar });
  }
  if (msg.stepsPerSecond !== null) run.stepsPerSecond = msg.stepsPerSecond;
  run.running = msg.running;
  return true;
}

/** The latest held-out accuracy, or null before any evaluation. */
export function latestAccuracy(run: RunRecord): number | null {
  return run.accuracy.at(-1)?.value ?? null;
}
