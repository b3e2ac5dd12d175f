/**
 * The engine's thread pool under many short regions with more threads than cores, where workers often
 * wake after the caller has finished a region alone: plain regions (element-wise kernels, whose tasks any
 * thread may claim) interleaved with team regions (the GEMM's shared packing), every result complete and
 * correct, nothing hanging.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadEngine, requireEngine, setThreads, sgemm, sgemmJs } from '../../src/engine/index.js';
import { rng } from '../helpers/tf-kernels.js';

const engine = loadEngine();

describe.skipIf(!engine)('thread pool', () => {
  afterAll(() => {
    if (engine) setThreads(0);
  });

  it('runs interleaved plain and team regions completely on an oversubscribed pool', () => {
    const next = rng(20261209);
    const fill = (n: number) => Float32Array.from({ length: n }, next);
    const n = 200_000; // several tasks per element-wise call
    const a = fill(n);
    const b = fill(n);
    const expected = a.map((v, i) => Math.fround(v + b[i]));
    // A few rows over many columns and a long depth, worth three or four threads: they pack A together
    // in a team region and meet at a barrier.
    const M = 40;
    const K = 256;
    const N = 600;
    const A = fill(M * K);
    const B = fill(K * N);
    const ref = sgemmJs({ M, N, K, A, B, C: new Float32Array(M * N) });
    const sums = new Float32Array(1);
    for (const threads of [3, 4]) {
      setThreads(threads);
      for (let round = 0; round < 150; round++) {
        const y = new Float32Array(n);
        requireEngine().binaryOp('add', a, n, b, n, y, n, n);
        let wrong = 0;
        for (let i = 0; i < n; i++) if (y[i] !== expected[i]) wrong++;
        expect(wrong).toBe(0);
        // A sum of a few values: one task, run inline by the caller.
        requireEngine().reduceSum(a, sums, 1, 3, 1, false);
        expect(sums[0]).toBe(Math.fround(a[0] + a[1] + a[2]));
        if (round % 5 === 0) {
          const C = sgemm({ M, N, K, A, B, C: new Float32Array(M * N) });
          let worst = 0;
          for (let i = 0; i < C.length; i++) worst = Math.max(worst, Math.abs(C[i] - ref[i]));
          expect(worst).toBeLessThan(1e-4 * K);
        }
      }
    }
  });
});
