/**
 * A tally of bad inputs: each case runs a call that must be rejected with a typed
 * {@link FaceVerLossError} (or, for a case marked `finite`, either rejected that way or accepted with
 * finite numbers), within a time limit. Failures are collected with a description rather than thrown at
 * once, so one run lists every entry point that misbehaves.
 */
import { FaceVerLossError } from '../../src/errors.js';

/** One bad input. */
export interface BadInput {
  /** What is wrong with the input, e.g. `arcface: X holds NaN`. */
  name: string;
  run: () => unknown;
  /** Text the error message must contain (the argument or file it names). */
  mentions?: string | RegExp;
  /**
   * `reject` (default): only a typed error is clean. `finite`: a legal but extreme input, where a result
   * whose numbers are all finite is also clean (checked with {@link allFinite}).
   */
  expect?: 'reject' | 'finite';
}

/** Counts of a corpus run and a description of every case that did not behave. */
export class Tally {
  tried = 0;
  clean = 0;
  readonly problems: string[] = [];

  constructor(readonly label: string) {}

  /** Runs one case with a time limit (an async call that never settles counts as a hang). */
  async check(c: BadInput, timeoutMs = 10_000): Promise<void> {
    this.tried++;
    const problem = await outcome(c, timeoutMs);
    if (problem === undefined) this.clean++;
    else this.problems.push(`${c.name}: ${problem}`);
  }

  /** Runs every case in order. */
  async checkAll(cases: readonly BadInput[], timeoutMs?: number): Promise<void> {
    for (const c of cases) await this.check(c, timeoutMs);
  }

  /** The summary line printed at the end of a suite. */
  summary(): string {
    return `${this.label}: ${this.tried} bad inputs tried, ${this.clean} rejected cleanly`;
  }
}

const HANG = Symbol('hang');

async function outcome(c: BadInput, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const value = await Promise.race([
      Promise.resolve().then(c.run),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(HANG), timeoutMs);
      }),
    ]);
    if (value === HANG) return `no answer within ${timeoutMs} ms`;
    if (c.expect === 'finite') return allFinite(value) ? undefined : 'accepted, but the result holds NaN/Inf';
    return `accepted (no error), returned ${preview(value)}`;
  } catch (err) {
    return judgeError(err, c.mentions);
  } finally {
    clearTimeout(timer);
  }
}

/** Why `err` is not a clean rejection, or undefined when it is one. */
export function judgeError(err: unknown, mentions?: string | RegExp): string | undefined {
  if (!(err instanceof FaceVerLossError)) {
    const name = err instanceof Error ? err.constructor.name : typeof err;
    return `untyped ${name}: ${err instanceof Error ? err.message : String(err)}`;
  }
  const message = err.message;
  if (message.trim().length < 10) return `message too short: ${JSON.stringify(message)}`;
  if (/\n/.test(message.trim())) return `message spans several lines: ${message}`;
  if (mentions !== undefined) {
    const ok = typeof mentions === 'string' ? message.includes(mentions) : mentions.test(message);
    if (!ok) return `message does not mention ${String(mentions)}: ${message}`;
  }
  return undefined;
}

/** True when every number reachable in `value` (numbers, typed arrays, arrays, plain objects) is finite. */
export function allFinite(value: unknown, depth = 0): boolean {
  if (depth > 6) return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (value instanceof Float64Array || value instanceof Float32Array) {
    for (let i = 0; i < value.length; i++) if (!Number.isFinite(value[i])) return false;
    return true;
  }
  if (ArrayBuffer.isView(value)) return true;
  if (Array.isArray(value)) return value.every((v) => allFinite(v, depth + 1));
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype)
    return Object.values(value).every((v) => allFinite(v, depth + 1));
  return true;
}

function preview(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? typeof value : text.slice(0, 80);
  } catch {
    return typeof value;
  }
}
