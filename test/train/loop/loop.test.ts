/** The loop alone: a scripted stream and step, and what the callbacks hear. */
import { describe, expect, it } from 'vitest';
import type { Batch, IterationState } from '../../../src/data/index.js';
import { runLoop } from '../../../src/train/loop/loop.js';
import { emptyEpochStats, type StepEvent, type TrainingState } from '../../../src/train/loop/state.js';

/** Epochs of `epochSize` samples in batches of `batch` (the last one short), as the data stream does. */
function scriptedStream(epochSize: number, batch: number, epochs: number) {
  let epoch = 0;
  let position = 0;
  return {
    getState: (): IterationState => ({
      version: 1,
      seed: 1,
      shuffle: true,
      flip: false,
      size: epochSize,
      epoch,
      position,
    }),
    async next(): Promise<IteratorResult<Batch>> {
      if (position >= epochSize) {
        epoch++;
        position = 0;
      }
      if (epoch >= epochs) return { done: true, value: undefined };
      const size = Math.min(batch, epochSize - position);
      const labels = Int32Array.from({ length: size }, (_, i) => i % 3);
      position += size;
      return {
        done: false,
        value: { images: new Float32Array(size), labels, ids: [], size, epoch, index: 0 },
      };
    },
  };
}

describe('runLoop', () => {
  it('steps, sums the epoch, marks its end, and calls every callback in order after each step', async () => {
    const state: TrainingState = { step: 0, epochStats: emptyEpochStats() };
    const events: StepEvent[] = [];
    const order: string[] = [];
    const lrs: number[] = [];
    await runLoop({
      stream: scriptedStream(10, 4, 2),
      epochSize: 10,
      totalSteps: 100,
      state,
      learningRate: (step) => 0.1 / (step + 1),
      trainStep: async (_images, labels, step, lr) => {
        lrs.push(lr);
        return { loss: step + 1, correct: labels.length - 1 };
      },
      callbacks: [
        (e) => {
          events.push(e);
          order.push('a');
        },
        async () => {
          order.push('b');
        },
      ],
    });
    // 2 epochs × (4 + 4 + 2) samples.
    expect(state.step).toBe(6);
    expect(events.map((e) => e.batchSize)).toEqual([4, 4, 2, 4, 4, 2]);
    expect(events.map((e) => e.epochEnded)).toEqual([false, false, true, false, false, true]);
    expect(events.map((e) => e.epoch)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(order).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    expect(lrs).toEqual([0, 1, 2, 3, 4, 5].map((s) => 0.1 / (s + 1)));
    // The event of an epoch's last step carries that epoch's sums; the loop's own start again.
    expect(events[2].epochStats).toEqual({ seen: 10, correct: 7, lossSum: 4 * 1 + 4 * 2 + 2 * 3 });
    expect(events[3].epochStats).toEqual({ seen: 4, correct: 3, lossSum: 4 * 4 });
    expect(state.epochStats).toEqual(emptyEpochStats());
  });

  it('stops at totalSteps, continuing from a resumed count and sums', async () => {
    const state: TrainingState = { step: 3, epochStats: { seen: 8, correct: 5, lossSum: 2 } };
    const steps: number[] = [];
    await runLoop({
      stream: scriptedStream(10, 4, 5),
      epochSize: 10,
      totalSteps: 5,
      state,
      learningRate: () => 0.1,
      trainStep: async () => ({ loss: 1, correct: 0 }),
      callbacks: [
        (e) => {
          steps.push(e.step);
        },
      ],
    });
    expect(steps).toEqual([4, 5]);
    expect(state.step).toBe(5);
    // Both batches continue the resumed epoch's sums: 8 + 4 + 4 samples.
    expect(state.epochStats.seen).toBe(16);
  });

  it('a failing step or callback ends the loop with its error', async () => {
    const state: TrainingState = { step: 0, epochStats: emptyEpochStats() };
    const input = {
      stream: scriptedStream(10, 4, 1),
      epochSize: 10,
      totalSteps: 3,
      state,
      learningRate: () => 0.1,
      trainStep: async () => ({ loss: 1, correct: 0 }),
    };
    await expect(
      runLoop({
        ...input,
        callbacks: [
          (e) => {
            if (e.step === 2) throw new RangeError('stop');
          },
        ],
      }),
    ).rejects.toThrow('stop');
    expect(state.step).toBe(2);
  });
});
