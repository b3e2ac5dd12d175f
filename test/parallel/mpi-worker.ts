/**
 * One rank of the mpirun tests (test/parallel/mpi.test.ts): runs each problem's steps with the
 * model-parallel step over MpiComm and writes what it holds (losses, its rows' dL/dX, its shard of W)
 * to OUT/<problem>-rank<r>.json, and a sharded checkpoint to OUT/checkpoint-<problem>/. Any error aborts the whole job, so a failing rank never leaves the
 * others waiting.
 *
 *   mpirun -np N node --import tsx test/parallel/mpi-worker.ts OUT PROBLEMS_JSON
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MpiComm } from '../../src/parallel/mpi-comm.js';
import { shardRange } from '../../src/parallel/shard.js';
import { saveShardCheckpoint } from '../../src/parallel/shard-checkpoint.js';
import { shardedMarginStep } from '../../src/parallel/sharded-step.js';
import { type Problem, problemData, shardRng } from './reference.js';

const [out, problemsJson] = process.argv.slice(2);
const comm = MpiComm.world();
try {
  // The collectives themselves, on values every rank can predict.
  const { rank, size } = comm;
  const gathered = new Int32Array(2 * size);
  comm.allGather(Int32Array.of(rank, -rank), gathered);
  const maxed = Float64Array.of(rank, -rank);
  comm.allReduceMax(maxed);
  const summed = Float32Array.of(rank + 1, 0.5);
  comm.allReduceSum(summed);
  const scattered = new Float32Array(2);
  comm.reduceScatter(
    Float32Array.from({ length: 2 * size }, (_, k) => k * (rank + 1)),
    scattered,
  );
  writeFileSync(
    join(out, `collectives-rank${rank}.json`),
    JSON.stringify({
      gathered: Array.from(gathered),
      maxed: Array.from(maxed),
      summed: Array.from(summed),
      scattered: Array.from(scattered),
    }),
  );
  const problems = JSON.parse(problemsJson) as Record<string, Problem>;
  for (const [name, p] of Object.entries(problems)) {
    const data = problemData(p, comm.size);
    const range = shardRange(p.C, comm.size, comm.rank);
    const W = data.W.slice(range.start * p.D, (range.start + range.count) * p.D);
    const velocity = new Float32Array(W.length);
    const rng = shardRng(p.seed, comm.rank);
    const losses: number[] = [];
    const dX: number[][] = [];
    for (const batch of data.batches) {
      const rows = [comm.rank * p.b, (comm.rank + 1) * p.b];
      const r = shardedMarginStep({
        comm,
        X: batch.X.slice(rows[0] * p.D, rows[1] * p.D),
        labels: batch.labels.slice(rows[0], rows[1]),
        W,
        classes: p.C,
        D: p.D,
        geometry: data.geometry,
        margin: data.margin,
        sgd: { lr: p.lr, momentum: p.momentum, velocity },
        rate: p.rate,
        rng,
      });
      losses.push(r.loss);
      dX.push(Array.from(r.dX));
    }
    saveShardCheckpoint(join(out, `checkpoint-${name}`), comm, {
      classes: p.C,
      D: p.D,
      step: p.steps,
      W,
      velocity,
    });
    const file = join(out, `${name}-rank${comm.rank}.json`);
    writeFileSync(file, JSON.stringify({ size: comm.size, range, losses, dX, W: Array.from(W) }));
  }
  // A rank with bad arguments: every rank must throw (none may wait in a collective), the bad one its
  // own error, the others one naming it.
  const p = Object.values(problems)[0];
  const data = problemData(p, comm.size);
  const range = shardRange(p.C, comm.size, comm.rank);
  let thrown: { name: string; message: string } | null = null;
  try {
    shardedMarginStep({
      comm,
      X: data.batches[0].X.slice(0, p.b * p.D),
      labels: data.batches[0].labels.slice(0, p.b),
      W: new Float32Array((range.count + (comm.rank === 1 ? 1 : 0)) * p.D),
      classes: p.C,
      D: p.D,
      geometry: data.geometry,
      margin: data.margin,
    });
  } catch (err) {
    thrown = { name: (err as Error).name, message: (err as Error).message };
  }
  writeFileSync(join(out, `errors-rank${comm.rank}.json`), JSON.stringify(thrown));
  comm.barrier();
} catch (err) {
  console.error(`rank ${comm.rank}: ${(err as Error).stack ?? err}`);
  comm.abort(1);
}
