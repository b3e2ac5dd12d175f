/**
 * One head's training run of `faceverloss compare --jobs N`, in its own process so several heads train
 * at once (each with its share of the cores). Protocol over the IPC channel:
 * - in: `{ config, out, backend }`, once;
 * - out: `{ kind: 'log', line }` for each log line, then `{ kind: 'done', last, seconds }` or
 *   `{ kind: 'error', message, code }`.
 */
import { FaceVerLossError } from '../errors.js';
import { type TrainConfig, train } from '../train/index.js';
import type { WorkerMessage } from './compare-jobs.js';
import { selectBackend } from './train.js';

const send = (message: WorkerMessage) =>
  new Promise<void>((resolve) => {
    if (process.send) process.send(message, undefined, {}, () => resolve());
    else resolve();
  });

// The parent went away (it was killed): stop rather than train on with no one to report to.
process.once('disconnect', () => process.exit(130));

process.once('message', async (job: { config: TrainConfig; out: string; backend?: string }) => {
  try {
    await selectBackend(job.backend);
    const result = await train(job.config, {
      out: job.out,
      log: (line) => void send({ kind: 'log', line }),
    });
    await send({ kind: 'done', last: result.epochs[result.epochs.length - 1], seconds: result.seconds });
    process.exit(0);
  } catch (err) {
    const code = err instanceof FaceVerLossError ? err.code : 'FACEVERLOSS_ERROR';
    await send({ kind: 'error', message: err instanceof Error ? err.message : String(err), code });
    process.exit(1);
  }
});
