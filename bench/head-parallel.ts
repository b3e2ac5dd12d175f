/**
 * `bench head --model-parallel`: one training step of a face head with the class matrix sharded over the
 * ranks of an MPI job (src/parallel), timed on every rank; rank 0 prints one JSON line.
 *
 *   mpirun -np N npx tsx bench/run.ts head --model-parallel [--head arcface] [--batch 256] [--dim 512]
 *          [--classes 8192] [--partial R] [--repeats 10] [--lr 0.1] [--momentum 0.9] [--threads T]
 *
 * `--batch` is the whole batch the head sees (B/N rows per rank, all-gathered each step), so the step
 * does the same work as `bench head` with the same flags in one process. Outside mpirun (or with
 * LocalComm semantics at N = 1) it runs as a single rank. Each rank holds only its shard of W and of its
 * momentum; the JSON reports `median_ms` (the slowest rank's step, median over repeats), `loss` (the first
 * step), `peak_rss_mb_per_rank` (the largest rank's peak) with every rank's peak in `peak_rss_mb_ranks`,
 * and `ranks`.
 */
import { engineInfo, setThreads } from '../src/engine/index.js';
import { createHead } from '../src/heads/registry.js';
import { MpiComm } from '../src/parallel/mpi-comm.js';
import { shardRange } from '../src/parallel/shard.js';
import { shardedHeadSpec } from '../src/parallel/sharded-head.js';
import { shardedMarginStep } from '../src/parallel/sharded-step.js';
import { createRng } from '../src/rng.js';
import { random } from './measure.js';

const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

/** 32-bit integer hash (the finaliser of MurmurHash3). */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Rows [start, start + count) of a C×D weight matrix whose every entry is a function of its (row,
 * column) alone, in [−0.05, 0.05): each rank builds its shard without anyone holding all of W, and any
 * number of ranks (one included) holds the same matrix, so their losses agree.
 */
function shardWeights(start: number, count: number, D: number): Float32Array {
  const W = new Float32Array(count * D);
  const columns = Uint32Array.from({ length: D }, (_, d) => mix(d + 0x9e3779b9));
  for (let r = 0; r < count; r++) {
    const row = mix(start + r + 1);
    for (let d = 0; d < D; d++) W[r * D + d] = (mix(row ^ columns[d]) / 4294967296 - 0.5) * 0.1;
  }
  return W;
}

export interface ParallelOptions {
  head: string;
  B: number;
  D: number;
  C: number;
  rate: number;
  repeats: number;
  lr: number;
  momentum: number;
  threads?: number;
}

export async function runModelParallel(o: ParallelOptions): Promise<void> {
  const comm = MpiComm.world();
  if (o.threads !== undefined && engineInfo().available) setThreads(o.threads);
  const info = engineInfo();
  if (!info.available) {
    if (comm.rank === 0) console.log(JSON.stringify({ available: false, reason: info.reason }));
    return;
  }
  if (o.B % comm.size !== 0)
    throw new Error(`--batch ${o.B} must be a multiple of the number of ranks (${comm.size})`);
  const b = o.B / comm.size;
  const { D, C } = o;
  const range = shardRange(C, comm.size, comm.rank);
  const W = shardWeights(range.start, range.count, D);
  const velocity = o.momentum !== 0 ? new Float32Array(W.length).fill(0) : undefined;
  const X = random(o.B * D, 1).subarray(comm.rank * b * D, (comm.rank + 1) * b * D);
  const labels = Int32Array.from({ length: o.B }, (_, i) => (i * 7919) % C).subarray(
    comm.rank * b,
    (comm.rank + 1) * b,
  );
  const { geometry, margin } = shardedHeadSpec(createHead(o.head), C);
  const rng = createRng(7 + comm.rank);
  const step = () =>
    shardedMarginStep({
      comm,
      X,
      labels,
      W,
      classes: C,
      D,
      geometry,
      margin,
      sgd: { lr: o.lr, momentum: o.momentum, velocity },
      rate: o.rate,
      rng,
    });
  comm.barrier();
  const first = step();
  const times = new Float64Array(o.repeats);
  for (let r = 0; r < o.repeats; r++) {
    comm.barrier();
    const t0 = performance.now();
    step();
    times[r] = performance.now() - t0;
  }
  // The step ends for everyone when the slowest rank is done: take the maximum over ranks.
  comm.allReduceMax(times);
  const rss = new Float64Array(comm.size);
  comm.allGather(Float64Array.of(peakRssMb()), rss);
  if (comm.rank !== 0) return;
  const sorted = Array.from(times).sort((x, y) => x - y);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  const sampled = o.rate < 1 ? Math.ceil(o.rate * C) : C;
  const result = {
    head: o.head,
    B: o.B,
    D,
    C,
    partial: o.rate < 1 ? o.rate : null,
    sampled_classes: sampled,
    ranks: comm.size,
    dispatch: info.dispatch,
    threads_per_rank: info.threads,
    median_ms: median,
    min_ms: sorted[0],
    loss: first.loss,
    peak_rss_mb_per_rank: Math.max(...rss),
    peak_rss_mb_ranks: Array.from(rss),
    shard_weights_mb: ((W.length + (velocity?.length ?? 0)) * 4) / 2 ** 20,
    mpi: comm.library.split('\n')[0].trim(),
  };
  console.log(
    `model-parallel: ${comm.size} rank(s) × ${info.threads} thread(s), dispatch ${info.dispatch}; head ${o.head}, ` +
      `B=${o.B} D=${D} C=${C}${o.rate < 1 ? ` partial ${o.rate}` : ''}: median ${median.toFixed(2)} ms, ` +
      `peak RSS per rank ${result.peak_rss_mb_per_rank.toFixed(0)} MB`,
  );
  console.log(JSON.stringify(result));
}
