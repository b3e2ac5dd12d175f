/**
 * Shared measuring helpers for the benchmark scripts: deterministic inputs and robust statistics
 * (medians, not means — the machines are noisy).
 */

/** Timing summary of repeated runs, in milliseconds. */
export interface Stats {
  median: number;
  min: number;
  runs: number;
  /** Mean CPU time (all threads, ms) per run: on a shared machine, wall time ÷ this shows the sharing. */
  cpu: number;
}

/** Deterministic uniform values in [−1, 1) (xorshift32), so runs compare like with like. */
export function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2147483648 - 1;
  }
  return out;
}

/** Median, minimum and mean CPU time of `times` (ms), given the CPU microseconds they consumed. */
export function stats(times: number[], cpuMicros: number): Stats {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], runs: sorted.length, cpu: cpuMicros / 1000 / sorted.length };
}

/** User + system CPU microseconds of this process (since `since`, when given). */
export function cpuMicros(since?: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return u.user + u.system;
}
