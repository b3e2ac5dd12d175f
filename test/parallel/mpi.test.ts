/**
 * The model-parallel step over real MPI: N = 2 and N = 4 ranks (mpirun --oversubscribe on one machine)
 * reproduce the one-process step — loss, W after the steps (the shards concatenated) and dL/dX — to
 * 1e-5 relative, at sample rate 1 and with seeded Partial FC sampling per shard.
 *
 * Needs `mpirun` and the MPI addon (build/Release/faceverloss_mpi.node). Without them the tests are
 * skipped, and say why; with FACEVERLOSS_REQUIRE_MPI=1 (CI) their absence is a failure.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadShardCheckpoint,
  readShardManifest,
  reshardCheckpoint,
} from '../../src/parallel/shard-checkpoint.js';
import { mpiMissing, mpiRequired, mpirun } from './mpi-env.js';
import { type Problem, problemData, referenceRun, relativeError } from './reference.js';

const TOLERANCE = 1e-5;

const reason = mpiMissing();
const required = mpiRequired;

const problems: Record<string, Problem> = {
  // C not a multiple of 4: the shards differ in size.
  full: { head: 'arcface', b: 5, D: 24, C: 103, steps: 2, rate: 1, seed: 11, lr: 0.1, momentum: 0.9 },
  sampled: { head: 'cosface', b: 5, D: 24, C: 1001, steps: 2, rate: 0.3, seed: 12, lr: 0.2, momentum: 0.9 },
};

interface RankOutput {
  size: number;
  range: { start: number; count: number };
  losses: number[];
  dX: number[][];
  W: number[];
}

function runJob(ranks: number): {
  result: Record<string, RankOutput[]>;
  errors: ({ name: string; message: string } | null)[];
  collectives: Record<string, number[]>[];
  checkpoints: Record<string, { ranks: number; W: number[]; velocity: number[] }>;
} {
  const out = mkdtempSync(join(tmpdir(), 'fvl-mpi-'));
  try {
    mpirun(ranks, [join('test', 'parallel', 'mpi-worker.ts'), out, JSON.stringify(problems)]);
    const read = (name: string, r: number) =>
      JSON.parse(readFileSync(join(out, `${name}-rank${r}.json`), 'utf8'));
    const result: Record<string, RankOutput[]> = {};
    for (const name of Object.keys(problems))
      result[name] = Array.from({ length: ranks }, (_, r) => read(name, r));
    const errors = Array.from({ length: ranks }, (_, r) => read('errors', r));
    const collectives = Array.from({ length: ranks }, (_, r) => read('collectives', r));
    // Each problem's checkpoint, written by the N ranks, re-cut for one process.
    const checkpoints: Record<string, { ranks: number; W: number[]; velocity: number[] }> = {};
    for (const name of Object.keys(problems)) {
      const src = join(out, `checkpoint-${name}`);
      const ranksWritten = readShardManifest(src).ranks;
      reshardCheckpoint(src, join(out, `checkpoint-${name}-1`), 1);
      const one = loadShardCheckpoint(join(out, `checkpoint-${name}-1`), { rank: 0, size: 1 });
      checkpoints[name] = {
        ranks: ranksWritten,
        W: Array.from(one.W),
        velocity: Array.from(one.velocity ?? []),
      };
    }
    return { result, errors, collectives, checkpoints };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

describe('model-parallel step over MPI', () => {
  it('has mpirun and the MPI addon when FACEVERLOSS_REQUIRE_MPI=1', () => {
    if (required) expect(reason, reason ?? '').toBeNull();
    else expect(typeof required).toBe('boolean');
  });

  for (const ranks of [2, 4]) {
    it.skipIf(reason !== null)(
      `N = ${ranks} reproduces the one-process loss, W and dX${reason ? ` (skipped: ${reason})` : ''}`,
      () => {
        const { result: job, errors, collectives, checkpoints } = runJob(ranks);
        // MpiComm's collectives: all-gather in rank order, element-wise max and sum, and each rank's
        // block of the sum over ranks (rank r sends k·(r + 1) at position k).
        const rankSum = (ranks * (ranks + 1)) / 2;
        collectives.forEach((c, r) => {
          expect(c.gathered).toEqual(Array.from({ length: ranks }, (_, q) => [q, q === 0 ? 0 : -q]).flat());
          expect(c.maxed).toEqual([ranks - 1, 0]);
          expect(c.summed).toEqual([rankSum, 0.5 * ranks]);
          expect(c.scattered).toEqual([2 * r * rankSum, (2 * r + 1) * rankSum]);
        });
        // Rank 1 passed a W of the wrong size: it threw its own error and every other rank one naming
        // it, instead of waiting in a collective.
        errors.forEach((e, r) => {
          expect(e, `rank ${r}`).not.toBeNull();
          if (r === 1) expect(e?.name).toBe('ShapeMismatchError');
          else expect(e?.message).toMatch(/rank 1 rejected/);
        });
        for (const [name, p] of Object.entries(problems)) {
          const data = problemData(p, ranks);
          const ref = referenceRun(p, ranks, data, data.geometry, data.margin);
          const shards = job[name];
          shards.forEach((s, r) => {
            expect(s.size).toBe(ranks);
            s.losses.forEach((loss, step) => {
              expect(
                Math.abs(loss - ref.losses[step]) / Math.abs(ref.losses[step]),
                `${name} loss, rank ${r}`,
              ).toBeLessThan(TOLERANCE);
            });
          });
          for (let step = 0; step < p.steps; step++) {
            const dX = shards.flatMap((s) => s.dX[step]);
            expect(relativeError(dX, ref.dX[step]), `${name} dX, step ${step}`).toBeLessThan(TOLERANCE);
          }
          const W = shards.flatMap((s) => s.W);
          // The checkpoint the ranks wrote together holds exactly their shards.
          expect(checkpoints[name].ranks).toBe(ranks);
          expect(checkpoints[name].W).toEqual(W);
          expect(checkpoints[name].velocity.length).toBe(W.length);
          expect(W.length).toBe(ref.W.length);
          expect(relativeError(W, ref.W), `${name} W`).toBeLessThan(TOLERANCE);
          // The steps moved W: a run that changed nothing would not pass for a match.
          expect(relativeError(W, data.W)).toBeGreaterThan(1e-3);
        }
      },
      180_000,
    );
  }
});
