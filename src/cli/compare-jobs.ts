/**
 * Runs `compare`'s head trainings: one after another in this process (`jobs` = 1, with a progress bar),
 * or up to `jobs` at once in child processes, the cores split between them. Small models such as
 * LeNet++ use two threads poorly, so two single-threaded runs side by side finish about 1.7× sooner
 * than the same runs in sequence.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { FaceVerLossError } from '../errors.js';
import { createProgress, type EpochResult, silentProgress, type TrainConfig, train } from '../train/index.js';

/** One head's run. */
export interface HeadRun {
  head: string;
  config: TrainConfig;
  out: string;
}

/** What a finished head run reports back. */
export interface HeadRunResult {
  head: string;
  last: EpochResult;
  seconds: number;
}

/** Messages from a worker process (see compare-worker.ts). */
export type WorkerMessage =
  | { kind: 'log'; line: string }
  | { kind: 'done'; last: EpochResult; seconds: number }
  | { kind: 'error'; message: string; code: string };

/** A head's run failed; the message is the run's own error, prefixed with the head. */
export class HeadRunError extends FaceVerLossError {
  readonly head: string;
  constructor(head: string, message: string, code = 'HEAD_RUN_FAILED') {
    super(`compare: the ${head} run failed: ${message}`, code);
    this.head = head;
  }
}

/** Default number of simultaneous runs: one per core, at most one per head. */
export function defaultJobs(heads: number): number {
  return Math.max(1, Math.min(heads, availableParallelism()));
}

/** The compiled worker, or its TypeScript source loaded through tsx when running from the sources. */
function workerEntry(): { file: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./compare-worker.js', import.meta.url));
  if (existsSync(js)) return { file: js, execArgv: [] };
  return {
    file: fileURLToPath(new URL('./compare-worker.ts', import.meta.url)),
    execArgv: ['--import', 'tsx'],
  };
}

function runInWorker(
  run: HeadRun,
  backend: string | undefined,
  threads: number,
  write: (s: string) => void,
  live: Set<ChildProcess>,
) {
  return new Promise<HeadRunResult>((resolve, reject) => {
    const { file, execArgv } = workerEntry();
    const child = fork(file, [], {
      execArgv,
      // An explicit FACEVERLOSS_THREADS from the user wins over the even split.
      env: { FACEVERLOSS_THREADS: String(threads), ...process.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(child);
    let settled = false;
    child.on('message', (m: WorkerMessage) => {
      if (m.kind === 'log') write(`[${run.head}] ${m.line}\n`);
      else if (m.kind === 'done') {
        settled = true;
        resolve({ head: run.head, last: m.last, seconds: m.seconds });
      } else {
        settled = true;
        reject(new HeadRunError(run.head, m.message, m.code));
      }
    });
    child.on('error', (err) => {
      if (!settled) reject(new HeadRunError(run.head, err.message));
      settled = true;
    });
    child.on('exit', (code, signal) => {
      live.delete(child);
      if (!settled) reject(new HeadRunError(run.head, `its process exited (${signal ?? `code ${code}`})`));
      settled = true;
    });
    child.send({ config: run.config, out: run.out, backend });
  });
}

/**
 * Trains every run and returns their results in the order given. With `jobs` > 1 the runs go to child
 * processes, at most `jobs` at a time. The first failure stops the others (each keeps its last
 * checkpoint) and is thrown: without every head there is no table to write.
 */
export async function runHeads(
  runs: readonly HeadRun[],
  options: { jobs: number; backend?: string; write: (s: string) => void },
): Promise<HeadRunResult[]> {
  const { jobs, backend, write } = options;
  if (jobs <= 1) {
    const results: HeadRunResult[] = [];
    for (const run of runs) {
      write(`== ${run.head} ==\n`);
      const result = await train(run.config, {
        out: run.out,
        progress: process.stdout.isTTY ? createProgress(process.stdout) : silentProgress,
        log: (line) => write(`${line}\n`),
      });
      results.push({
        head: run.head,
        last: result.epochs[result.epochs.length - 1],
        seconds: result.seconds,
      });
    }
    return results;
  }
  const threads = Math.max(1, Math.floor(availableParallelism() / jobs));
  write(
    `training ${runs.length} heads, ${Math.min(jobs, runs.length)} at a time (${threads} thread(s) each)\n`,
  );
  const results = new Array<HeadRunResult>(runs.length);
  let next = 0;
  let failure: unknown;
  const live = new Set<ChildProcess>();
  const lane = async () => {
    while (next < runs.length && failure === undefined) {
      const i = next++;
      try {
        results[i] = await runInWorker(runs[i], backend, threads, write, live);
      } catch (err) {
        if (failure === undefined) {
          failure = err;
          for (const child of live) child.kill();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, runs.length) }, lane));
  if (failure !== undefined) throw failure;
  return results;
}
