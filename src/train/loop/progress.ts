/** Progress after each step: the terminal display and, every `logEvery` steps, a metrics record. */
import type { ProgressReporter } from '../progress.js';
import type { RunFolder } from '../run-dir.js';
import type { StepCallback } from './state.js';
import { ThroughputMeter } from './throughput.js';

export function progressCallback(progress: ProgressReporter, run: RunFolder, logEvery: number): StepCallback {
  const meter = new ThroughputMeter();
  return (event) => {
    const imagesPerSecond = meter.add(event.batchSize);
    const acc = event.correct / event.batchSize;
    if (event.step % logEvery === 0 || event.step === event.totalSteps) {
      run.appendMetrics({
        step: event.step,
        epoch: event.epoch,
        loss: event.loss,
        acc,
        lr: event.lr,
        images_per_s: imagesPerSecond,
      });
    }
    progress.update({
      step: event.step,
      total: event.totalSteps,
      epoch: event.epoch,
      loss: event.loss,
      acc,
      imagesPerSecond,
    });
  };
}
