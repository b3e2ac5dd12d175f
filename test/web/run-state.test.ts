/** A panel's run record: reports of other runs are dropped; accuracy is unknown until evaluated. */
import { describe, expect, it } from 'vitest';
import type { Progress } from '../../web/src/train/protocol.js';
import { applyProgress, latestAccuracy, newRun } from '../../web/src/train/run-state.js';

function report(runId: number, step: number, losses: number[], accuracy = 0.5): Progress {
  return {
    type: 'progress',
    runId,
    step,
    losses,
    embeddings: new Float32Array(0),
    labels: new Uint8Array(0),
    weights: new Float32Array(0),
    accuracy,
    tar: accuracy / 2,
    stepsPerSecond: losses.length > 0 ? 100 : null,
    running: true,
  };
}

describe('run record', () => {
  it('has no accuracy before the first evaluation', () => {
    const run = newRun(3);
    expect(latestAccuracy(run)).toBeNull();
    expect(run.stepsPerSecond).toBeNull();
  });

  it('drops a late report of the previous run after a restart', () => {
    const old = newRun(1);
    expect(applyProgress(old, report(1, 5, [2, 2, 2, 2, 2], 0.2))).toBe(true);
    const run = newRun(2);
    expect(applyProgress(run, report(2, 0, [], 0.1))).toBe(true);
    // Still in flight from run 1 when run 2 began:
    expect(applyProgress(run, report(1, 10, [1.5, 1.5, 1.5, 1.5, 1.5], 0.4))).toBe(false);
    expect(run.losses).toEqual([]);
    expect(run.step).toBe(0);
    expect(latestAccuracy(run)).toBe(0.1);
    expect(applyProgress(run, report(2, 2, [3, 2.5], 0.15))).toBe(true);
    expect(run.losses).toEqual([3, 2.5]);
    expect(run.accuracy).toEqual([
      { step: 0, value: 0.1 },
      { step: 2, value: 0.15 },
    ]);
    expect(run.tar.map((t) => t.step)).toEqual([0, 2]);
    expect(run.stepsPerSecond).toBe(100);
  });

  it('records one accuracy per step (a pause report repeats the step)', () => {
    const run = newRun(1);
    applyProgress(run, report(1, 5, [1, 1, 1, 1, 1], 0.3));
    applyProgress(run, { ...report(1, 5, [], 0.3), running: false });
    expect(run.accuracy).toHaveLength(1);
    expect(run.running).toBe(false);
  });
});
