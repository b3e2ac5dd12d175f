/** When evaluation and checkpoints happen, and the images/s window. */
import { describe, expect, it } from 'vitest';
import { checkpointCallback } from '../../../src/train/loop/checkpointing.js';
import { maxPairs } from '../../../src/train/loop/evaluation.js';
import { emptyEpochStats, type StepEvent } from '../../../src/train/loop/state.js';
import { ThroughputMeter } from '../../../src/train/loop/throughput.js';

function event(step: number, totalSteps: number, epoch: number, epochEnded: boolean): StepEvent {
  return {
    step,
    totalSteps,
    epoch,
    loss: 1,
    correct: 0,
    batchSize: 4,
    lr: 0.1,
    epochEnded,
    epochStats: emptyEpochStats(),
  };
}

describe('checkpointCallback', () => {
  it('saves at an epoch end (for the next epoch), every N steps and after the last step', async () => {
    const saved: [number, number][] = [];
    let current = 0;
    const callback = checkpointCallback(async (nextEpoch) => {
      saved.push([current, nextEpoch]);
    }, 3);
    const events = [
      event(1, 8, 0, false),
      event(2, 8, 0, false),
      event(3, 8, 0, false),
      event(4, 8, 0, true),
      event(5, 8, 1, false),
      event(6, 8, 1, false),
      event(7, 8, 1, false),
      event(8, 8, 1, false),
    ];
    for (const e of events) {
      current = e.step;
      await callback(e);
    }
    expect(saved).toEqual([
      [3, 0],
      [4, 1],
      [6, 1],
      [8, 1],
    ]);
  });

  it('with every = 0 only epoch ends and the last step', async () => {
    const saved: number[] = [];
    const callback = checkpointCallback(async (nextEpoch) => {
      saved.push(nextEpoch);
    }, 0);
    await callback(event(1, 3, 0, false));
    expect(saved).toEqual([]);
    await callback(event(2, 3, 0, true));
    expect(saved).toEqual([1]);
    await callback(event(3, 3, 1, false));
    expect(saved).toEqual([1, 1]);
  });
});

describe('ThroughputMeter', () => {
  it('reports images per second since the window began and restarts the window once it is full', () => {
    let now = 0;
    const meter = new ThroughputMeter(5000, () => now);
    now = 1000;
    expect(meter.add(100)).toBeCloseTo(100, 9);
    now = 2000;
    expect(meter.add(300)).toBeCloseTo(200, 9);
    now = 6000;
    expect(meter.add(200)).toBeCloseTo(100, 9); // 600 images in 6 s; the window restarts here
    now = 7000;
    expect(meter.add(50)).toBeCloseTo(50, 9);
  });
});

describe('maxPairs', () => {
  it('is twice the smaller of the same-identity and different-identity pair counts', () => {
    // Two identities of 3 images: 3 + 3 same pairs, 9 different pairs.
    expect(maxPairs(Int32Array.from([0, 0, 0, 1, 1, 1]))).toBe(12);
    // One identity: no different pairs.
    expect(maxPairs(Int32Array.from([2, 2, 2]))).toBe(0);
    // All distinct: no same pairs.
    expect(maxPairs(Int32Array.from([0, 1, 2, 3]))).toBe(0);
  });
});
