/**
 * SGEMM throughput on the products of one face-head training step (batch B, embedding D, classes C):
 *
 *   cos = X·Wᵀ   NT   M=B  N=C  K=D
 *   dX  = G·W    NN   M=B  N=D  K=C
 *   dW  = Gᵀ·X   TN   M=C  N=D  K=B
 *
 * Prints median and best wall time over the repeats and the GFLOP/s they correspond to (2·M·N·K flops
 * per product), then a few small square products against the plain-JavaScript fallback. The last
 * figure divides by CPU time (all threads) instead of wall time: the rate of one core while it is
 * actually running the product, which stays meaningful when other processes share the cores
 * (multiply by the thread count for the rate of an otherwise idle machine).
 *
 * Each product is also given as a fraction of the multiply-add peak measured on this machine for the
 * active dispatch level (a register-only loop of independent FMAs on every thread, `fmaPeak`): of the
 * whole pool's peak for the wall-time rate, of one core's for the rate per CPU-second. The micro-kernel
 * alone is timed the same way (`kernelRate`: one packed micro-panel of each operand, in L1): the most any
 * product can reach, so that the distance from it to a product is what packing and memory traffic cost.
 *
 * With --torch, PyTorch's own matrix product (its BLAS) runs the same three products side by side
 * (bench/torch_gemm.py, best of 1 and every thread; capped at AVX2 when our dispatch is avx2), as a
 * share of the same measured peak: what an established BLAS reaches on this machine and these shapes.
 *
 *   npm run bench -- gemm [--batch 256] [--dim 512] [--classes 8192] [--repeats 20] [--threads N]
 *                         [--dispatch avx512|avx2|scalar] [--no-js] [--torch] [--python PATH]
 */
import { parseArgs } from 'node:util';
import type { DispatchLevel, SgemmArgs } from '../src/engine/index.js';
import {
  engineInfo,
  requireEngine,
  setDispatch,
  setThreads,
  sgemm,
  sgemmAsync,
  sgemmJs,
} from '../src/engine/index.js';
import { cpuMicros, random, type Stats, stats } from './measure.js';
import { findTorchPython, TORCH_AVX2, torchTiming } from './torch.js';

function time(fn: () => void, repeats: number, warmup = 2): Stats {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return stats(times, cpuMicros(cpu0));
}

async function timeAsync(fn: () => Promise<unknown>, repeats: number, warmup = 2): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return stats(times, cpuMicros(cpu0));
}

const gflops = (flops: number, ms: number) => flops / ms / 1e6;

function line(label: string, shape: string, flops: number, s: Stats): string {
  const ms = (x: number) => x.toFixed(2).padStart(8);
  return (
    `${label.padEnd(16)} ${shape.padEnd(18)} median ${ms(s.median)} ms  min ${ms(s.min)} ms  ` +
    `${gflops(flops, s.median).toFixed(1).padStart(6)} GFLOP/s (best ${gflops(flops, s.min).toFixed(1)}; ` +
    `${gflops(flops, s.cpu).toFixed(1)} per CPU-second)`
  );
}

type PoolRate = { gflops: number; threadGflops: number[] };

/**
 * Percentages of the measured peak (the wall-time rate of the pool's, the CPU-time rate of one core's)
 * and of the micro-kernel alone (wall time).
 */
function ofPeak(flops: number, s: Stats, peak: PoolRate, kernel: PoolRate): string {
  const core = peak.gflops / peak.threadGflops.length;
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  const wall = gflops(flops, s.median);
  return (
    `${''.padEnd(35)} ${pct(wall / peak.gflops)} of peak (wall), ${pct(gflops(flops, s.cpu) / core)} per CPU-second; ` +
    `${pct(wall / kernel.gflops)} of the micro-kernel alone`
  );
}

type ProductCase = 'NT' | 'NN' | 'TN';

function problem(transA: boolean, transB: boolean, M: number, N: number, K: number, seed: number): SgemmArgs {
  return {
    transA,
    transB,
    M,
    N,
    K,
    A: random(M * K, seed),
    B: random(K * N, seed + 1),
    C: new Float32Array(M * N),
  };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      batch: { type: 'string', default: '256' },
      dim: { type: 'string', default: '512' },
      classes: { type: 'string', default: '8192' },
      repeats: { type: 'string', default: '20' },
      threads: { type: 'string' },
      dispatch: { type: 'string' },
      'no-js': { type: 'boolean', default: false },
      torch: { type: 'boolean', default: false },
      python: { type: 'string' },
    },
  });
  const B = Number(values.batch);
  const D = Number(values.dim);
  const C = Number(values.classes);
  const repeats = Number(values.repeats);

  const info = engineInfo();
  if (!info.available) {
    console.log(`native engine unavailable: ${info.reason}`);
    return;
  }
  if (values.threads !== undefined) setThreads(Number(values.threads));
  if (values.dispatch !== undefined) setDispatch(values.dispatch as DispatchLevel);
  const now = engineInfo();
  if (!now.available) return;
  const t = now.sgemmTile;
  console.log(
    `engine: dispatch ${now.dispatch} (cpu supports ${now.detected}), ${now.threads} thread(s), ` +
      `tile ${t.mr}x${t.nr}, blocks kc=${t.kc} mc=${t.mc} nc=${t.nc}`,
  );
  const peak = requireEngine().fmaPeak();
  console.log(
    `FMA peak (${now.dispatch}): ${peak.gflops.toFixed(1)} GFLOP/s over ${peak.threadGflops.length} thread(s) ` +
      `(${peak.threadGflops.map((g) => g.toFixed(1)).join(', ')} per thread)`,
  );
  const kernel = requireEngine().kernelRate();
  console.log(
    `micro-kernel alone (${t.mr}x${t.nr} at depth ${kernel.depth}, panels in L1): ${kernel.gflops.toFixed(1)} GFLOP/s ` +
      `(${((100 * kernel.gflops) / peak.gflops).toFixed(0)} % of the peak): the most a product can reach here`,
  );
  console.log(`face-head step B=${B} D=${D} C=${C}, ${repeats} repeats after 2 warm-up runs`);

  const cases: [string, ProductCase, boolean, boolean, number, number, number][] = [
    ['cos = X·Wᵀ (NT)', 'NT', false, true, B, C, D],
    ['dX = G·W (NN)', 'NN', false, false, B, D, C],
    ['dW = Gᵀ·X (TN)', 'TN', true, false, C, D, B],
  ];
  const torchRates: string[] = [];
  let total = 0;
  let totalFlops = 0;
  for (const [label, kase, ta, tb, M, N, K] of cases) {
    const p = problem(ta, tb, M, N, K, 7);
    const flops = 2 * M * N * K;
    const s = time(() => sgemm(p), repeats);
    total += s.median;
    totalFlops += flops;
    console.log(line(label, `${M}x${N}x${K}`, flops, s));
    console.log(ofPeak(flops, s, peak, kernel));
    if (values.torch) {
      const t = torchProduct(kase, { B, D, C, repeats }, now.dispatch === 'avx2', values.python);
      if (t !== null) {
        const rate = gflops(flops, t.median_ms);
        torchRates.push(`${kase} ${((100 * rate) / peak.gflops).toFixed(0)} %`);
        console.log(
          `${''.padEnd(35)} pytorch best (${t.threads} thread(s)): median ${t.median_ms.toFixed(2)} ms, ` +
            `${rate.toFixed(1)} GFLOP/s, ${((100 * rate) / peak.gflops).toFixed(0)} % of peak (wall); ` +
            `ours ÷ PyTorch ${(s.median / t.median_ms).toFixed(2)}×`,
        );
      }
    }
  }
  if (torchRates.length > 0)
    console.log(`pytorch's matrix product as a share of the same peak: ${torchRates.join(', ')}`);
  console.log(
    `${'step (3 products)'.padEnd(35)} median ${total.toFixed(2).padStart(8)} ms (sum)  ${gflops(totalFlops, total).toFixed(1).padStart(7)} GFLOP/s effective`,
  );

  const nt = problem(false, true, B, C, D, 11);
  const flopsNt = 2 * B * C * D;
  const sa = await timeAsync(() => sgemmAsync(nt), repeats);
  console.log(line('NT async', `${B}x${C}x${D}`, flopsNt, sa));

  if (values['no-js']) return;
  console.log('small square products, native vs plain JavaScript (sgemmJs):');
  for (const n of [64, 128, 256]) {
    const p = problem(false, false, n, n, n, 13);
    const flops = 2 * n * n * n;
    const sn = time(() => sgemm(p), Math.max(repeats, 20));
    const sj = time(() => sgemmJs(p), 5, 1);
    console.log(line('native NN', `${n}x${n}x${n}`, flops, sn));
    console.log(line('js NN', `${n}x${n}x${n}`, flops, sj));
  }
}

/** PyTorch's best-of-thread-counts time for one product case, or null when it cannot run. */
function torchProduct(
  kase: ProductCase,
  shape: { B: number; D: number; C: number; repeats: number },
  cappedAvx2: boolean,
  python?: string,
) {
  const found = findTorchPython(python);
  if ('reason' in found) {
    console.log(`  pytorch skipped: ${found.reason}`);
    return null;
  }
  return torchTiming(
    found.python,
    'torch_gemm.py',
    [
      ...['--case', kase, '--batch', String(shape.B), '--dim', String(shape.D)],
      ...['--classes', String(shape.C), '--repeats', String(shape.repeats)],
    ],
    cappedAvx2 ? TORCH_AVX2 : {},
  );
}
