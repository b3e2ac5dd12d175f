/**
 * Training progress on the terminal: a cli-progress bar (loss, accuracy, images/s, ETA) when standard
 * output is a terminal, plain lines otherwise (logs, CI).
 */
import cliProgress from 'cli-progress';

/** Numbers shown for the latest step. */
export interface ProgressUpdate {
  step: number;
  total: number;
  epoch: number;
  loss: number;
  acc: number;
  imagesPerSecond: number;
}

/** Receives progress updates. */
export interface ProgressReporter {
  /** Begins a run of `total` steps, of which `step` are already done (resumed runs). */
  start(total: number, step: number): void;
  /** Shows the latest step; plain-line reporters print only every few steps and at the end. */
  update(p: ProgressUpdate): void;
  /** Ends the display (a live bar releases the terminal line). */
  stop(): void;
}

const fmt = (p: ProgressUpdate, eta: number) =>
  `epoch ${p.epoch + 1} step ${p.step}/${p.total}  loss ${p.loss.toFixed(4)}  acc ${(100 * p.acc).toFixed(1)}%  ` +
  `${p.imagesPerSecond.toFixed(0)} img/s  ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)}s` : '?'}`;

/** A reporter writing to `stream`: a live bar on a TTY, a line every `every` steps otherwise. */
export function createProgress(
  stream: NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean },
  every = 10,
): ProgressReporter {
  if ((stream as NodeJS.WriteStream).isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: stream as NodeJS.WriteStream,
        format:
          'epoch {epochNo} [{bar}] {value}/{total} | loss {loss} | acc {acc}% | {ips} img/s | ETA {eta_formatted}',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    return {
      start: (total, step) => bar.start(total, step, { epochNo: 1, loss: '-', acc: '-', ips: '-' }),
      update: (p) =>
        bar.update(p.step, {
          epochNo: p.epoch + 1,
          loss: p.loss.toFixed(4),
          acc: (100 * p.acc).toFixed(1),
          ips: p.imagesPerSecond.toFixed(0),
        }),
      stop: () => bar.stop(),
    };
  }
  let started = 0;
  let startStep = 0;
  return {
    start: (_total, step) => {
      started = performance.now();
      startStep = step;
    },
    update: (p) => {
      if (p.step % every !== 0 && p.step !== p.total) return;
      const elapsed = (performance.now() - started) / 1000;
      const rate = (p.step - startStep) / Math.max(elapsed, 1e-9);
      stream.write(`${fmt(p, (p.total - p.step) / rate)}\n`);
    },
    stop: () => {},
  };
}

/** A reporter that shows nothing. */
export const silentProgress: ProgressReporter = { start: () => {}, update: () => {}, stop: () => {} };
