/**
 * One training step of a face head (forward + backward of the margin softmax, with the SGD update of
 * the class weights) on the native engine, and side by side in the same run the TF.js cpu path (or,
 * without src/tf, the fp64 reference at a small size).
 *
 * Prints median and best wall time over the repeats, effective GFLOP/s (6·B·D·C flops: the three
 * products of the step), the native/comparison ratio and the peak resident memory. With `--json` the
 * last line is a JSON object (median_ms, min_ms, loss of the first step, gflops, peak_rss_mb, …).
 *
 * `--model-parallel` (under `mpirun -np N`) shards the classes over the ranks instead: see
 * bench/head-parallel.ts.
 *
 *   npm run bench -- head [--head arcface] [--batch 256] [--dim 512] [--classes 8192] [--partial R]
 *                         [--repeats 10] [--lr 0.1] [--momentum 0.9] [--no-sgd] [--threads N]
 *                         [--no-compare] [--torch [--python PATH]] [--json] [--model-parallel]
 *
 * `--partial R` samples ⌈R·C⌉ classes per step (Partial FC); C then counts the sampled classes in the
 * flop rate. With SGD (the default) dW is never stored: the update is applied inside the backward, and
 * the memory is W, its momentum buffer and one B×C scratch.
 *
 * `--torch` also times the same step in PyTorch on this CPU (bench/torch_head.py; ArcFace only, full
 * softmax) and prints native ÷ PyTorch: the engine's targets are stated against that ratio.
 */
import { parseArgs } from 'node:util';
import { engineInfo, requireEngine, setThreads } from '../src/engine/index.js';
import { marginSoftmaxNative } from '../src/engine/margin.js';
import { partialStepNative } from '../src/engine/partialfc.js';
import type { Head } from '../src/heads/define.js';
import { createHead } from '../src/heads/registry.js';
import { planHeadStep } from '../src/heads/step.js';
import { lazyGeometry, rowNorms } from '../src/margin/geometry.js';
import type { GeometrySpec, MarginSpec } from '../src/margin/spec.js';
import { createRng } from '../src/rng.js';
import { random, type Stats, stats } from './measure.js';
import { findTorchPython, TORCH_AVX2, torchHeadTiming } from './torch.js';

async function time(fn: () => unknown, repeats: number, warmup: number): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  return stats(times, cpu.user + cpu.system);
}

const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

/**
 * The head's geometry and margin in its first training step, for a batch whose embedding norms are given
 * (heads with per-row margins read them): the step pipeline planned up to the margin softmax, on a
 * backend that has only the norms. Heads whose update or margin needs the cosines are not benchmarked
 * here.
 */
function headSpec(
  head: Head,
  B: number,
  D: number,
  C: number,
  X: Float32Array,
): { geometry: GeometrySpec; margin: MarginSpec } {
  if (head.definition.compute) throw new Error(`${head.name} has no margin softmax to benchmark`);
  head.initState(C);
  const needsCosines = (): never => {
    throw new Error(`${head.name}'s margin reads the cosines; benchmark it through nativeHeadForward`);
  };
  const X64 = Float64Array.from(X);
  const plan = planHeadStep(
    head,
    {
      frame: () => ({ B, D, C, X: X64, W: new Float64Array(0), labels: new Int32Array(B), extras: {} }),
      replaceExtras: () => {},
      compute: needsCosines,
      geometry: (_ctx, spec) =>
        lazyGeometry(spec, B, D, C, {
          xNorm: () => rowNorms(X64, B, D),
          xHat: needsCosines,
          wNorm: needsCosines,
          wHat: needsCosines,
          cosRaw: needsCosines,
          cos: needsCosines,
          argSub: needsCosines,
        }),
      marginSoftmax: needsCosines,
      extraTerms: needsCosines,
      output: needsCosines,
    },
    true,
  );
  if (plan.done) return needsCosines();
  const { bias: _bias, ...margin } = plan.margin;
  return { geometry: plan.ctx.geo.spec, margin };
}

/** TF.js cpu step (variableGrads over the head's TF.js ops), when src/tf is present. */
async function tfjsStep(
  head: Head,
  X: Float32Array,
  W: Float32Array,
  labels: Int32Array,
  B: number,
  D: number,
): Promise<(() => void) | null> {
  let tfMod: typeof import('@tensorflow/tfjs');
  let step: typeof import('../src/tf/head-step.js');
  try {
    tfMod = await import('@tensorflow/tfjs');
    step = await import('../src/tf/head-step.js');
  } catch {
    return null;
  }
  const tf = tfMod;
  await tf.setBackend('cpu');
  await tf.ready();
  const K = head.subCenters;
  const xv = tf.variable(tf.tensor2d(X, [B, D]));
  const wv = tf.variable(tf.tensor2d(W, [W.length / D, D]));
  void K;
  return () => {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () =>
          step.tfHeadStep(
            head,
            {
              X: xv as unknown as import('@tensorflow/tfjs').Tensor2D,
              W: wv as unknown as import('@tensorflow/tfjs').Tensor2D,
              labels,
              extras: {},
            },
            true,
          ).loss,
        [xv, wv],
      );
      // Plain SGD on W, as the native step does.
      wv.assign(tf.sub(wv, tf.mul(0.1, grads[wv.name])));
      grads[xv.name].dataSync();
    });
  };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      head: { type: 'string', default: 'arcface' },
      batch: { type: 'string', default: '256' },
      dim: { type: 'string', default: '512' },
      classes: { type: 'string', default: '8192' },
      partial: { type: 'string' },
      repeats: { type: 'string', default: '10' },
      lr: { type: 'string', default: '0.1' },
      momentum: { type: 'string', default: '0.9' },
      'no-sgd': { type: 'boolean', default: false },
      threads: { type: 'string' },
      'no-compare': { type: 'boolean', default: false },
      torch: { type: 'boolean', default: false },
      python: { type: 'string' },
      json: { type: 'boolean', default: false },
      'model-parallel': { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  if (values['model-parallel']) {
    const { runModelParallel } = await import('./head-parallel.js');
    await runModelParallel({
      head: values.head as string,
      B: Number(values.batch),
      D: Number(values.dim),
      C: Number(values.classes),
      rate: values.partial === undefined ? 1 : Number(values.partial),
      repeats: Math.max(1, Number(values.repeats)),
      lr: Number(values.lr),
      momentum: Number(values.momentum),
      threads: values.threads === undefined ? undefined : Number(values.threads),
    });
    return;
  }
  const info = engineInfo();
  if (!info.available) {
    console.log(`native engine unavailable: ${info.reason}`);
    if (values.json) console.log(JSON.stringify({ available: false, reason: info.reason }));
    return;
  }
  // The pool size the step runs with (info was read before the resize).
  if (values.threads !== undefined) info.threads = setThreads(Number(values.threads));
  const B = Number(values.batch);
  const D = Number(values.dim);
  const C = Number(values.classes);
  const repeats = Math.max(1, Number(values.repeats));
  const rate = values.partial === undefined ? 1 : Number(values.partial);
  const lr = Number(values.lr);
  const momentum = Number(values.momentum);
  const sgd = !values['no-sgd'];
  const head = createHead(values.head as string);
  const K = head.subCenters;

  const X = random(B * D, 1);
  const W = random(C * K * D, 2);
  for (let k = 0; k < W.length; k++) W[k] *= 0.05;
  const labels = Int32Array.from({ length: B }, (_, i) => (i * 7919) % C);
  const velocity = sgd && momentum !== 0 ? new Float32Array(W.length) : undefined;
  // Touch every page now, as a long training run would have: first-touch page faults are not the step's cost.
  velocity?.fill(0);
  const { geometry, margin } = headSpec(head, B, D, C, X);
  const dX = new Float32Array(B * D);
  const dW = sgd ? undefined : new Float32Array(W.length);
  const rng = createRng(7);
  const sampled = Math.min(C, Math.max(new Set(labels).size, Math.ceil(rate * C)));

  let firstLoss: number | undefined;
  const nativeStep = () => {
    const r = stepOnce();
    firstLoss ??= r.loss;
    return r;
  };
  const stepOnce = () =>
    rate < 1
      ? partialStepNative({
          X,
          W,
          labels,
          B,
          D,
          geometry,
          margin,
          rate,
          rng,
          sgd: sgd ? { lr, momentum, velocity } : undefined,
        })
      : marginSoftmaxNative({
          X,
          W,
          labels,
          B,
          D,
          geometry,
          margin,
          sgd: sgd ? { lr, momentum, velocity } : undefined,
          out: { dX, dW },
        });

  console.log(
    `engine: dispatch ${info.dispatch}, ${info.threads} thread(s); head ${head.name}, B=${B} D=${D} C=${C}` +
      `${K > 1 ? ` K=${K}` : ''}${rate < 1 ? ` partial ${rate} (${sampled} classes/step)` : ''}` +
      `${sgd ? `, SGD lr ${lr} momentum ${momentum} inside the backward` : ', dW returned'}`,
  );
  const warm = C * D > 64e6 ? 1 : 2;
  const s = await time(nativeStep, repeats, warm);
  const flops = 6 * B * D * sampled * K;
  const gflops = flops / s.median / 1e6;
  const ms = (x: number) => x.toFixed(2).padStart(9);
  console.log(
    `native step    median ${ms(s.median)} ms  min ${ms(s.min)} ms  ${gflops.toFixed(1).padStart(6)} GFLOP/s effective (${s.runs} runs)`,
  );
  // On a machine shared with other work, CPU time ÷ threads estimates the wall time of an idle machine.
  const idle = s.cpu / info.threads;
  console.log(
    `native CPU     ${ms(s.cpu)} ms per step over ${info.threads} thread(s): ≈ ${idle.toFixed(2)} ms on idle cores (${(flops / idle / 1e6).toFixed(1)} GFLOP/s)`,
  );
  const rssNative = peakRssMb();
  const weightsMb = ((W.length + (velocity?.length ?? 0)) * 4) / 2 ** 20;
  console.log(
    `peak RSS ${rssNative.toFixed(0)} MB; W${velocity ? ' + momentum' : ''} ${weightsMb.toFixed(0)} MB (ratio ${(rssNative / weightsMb).toFixed(2)})`,
  );

  // The step's three products as a fraction of the multiply-add peak of the same threads at the same
  // dispatch level, on CPU time (robust to other processes sharing the cores).
  const peak = requireEngine().fmaPeak();
  const gemmFraction = flops / idle / 1e6 / peak.gflops;
  // The micro-kernel alone (in L1) as a share of the same peak: the most the step could reach.
  const kernelFraction = requireEngine().kernelRate().gflops / peak.gflops;
  console.log(
    `FMA peak (${info.dispatch}) ${peak.gflops.toFixed(1)} GFLOP/s over ${peak.threadGflops.length} thread(s): ` +
      `the step runs at ${(100 * gemmFraction).toFixed(0)} % of it on idle cores, the micro-kernel alone at ` +
      `${(100 * kernelFraction).toFixed(0)} %`,
  );

  const result: Record<string, unknown> = {
    head: head.name,
    B,
    D,
    C,
    K,
    partial: rate < 1 ? rate : null,
    sampled_classes: sampled,
    sgd,
    dispatch: info.dispatch,
    threads: info.threads,
    median_ms: s.median,
    min_ms: s.min,
    loss: firstLoss,
    gflops,
    cpu_ms: s.cpu,
    idle_estimate_ms: idle,
    peak_rss_mb: rssNative,
    weights_mb: weightsMb,
    fma_peak_gflops: peak.gflops,
    gemm_fraction: gemmFraction,
    kernel_fraction: kernelFraction,
  };

  if (!values['no-compare']) {
    // Plain JavaScript runs ~0.1 GFLOP/s: compare on the same B and D with as many classes as keep one
    // comparison step near a few seconds (all of them when that is affordable), native timed there too.
    const cmpC = Math.max(1, Math.min(sampled, Math.floor(4e8 / (6 * B * D * K))));
    const Wc = W.slice(0, cmpC * K * D);
    const lc = Int32Array.from(labels, (y) => y % cmpC);
    const nc = await time(
      () => marginSoftmaxNative({ X, W: Wc.slice(), labels: lc, B, D, geometry, margin }),
      repeats,
      2,
    );
    const tfStep = await tfjsStep(createHead(head.name), X, Wc.slice(), lc, B, D);
    let other: Stats;
    let name: string;
    if (tfStep) {
      name = 'tfjs-cpu';
      other = await time(tfStep, 3, 1);
    } else {
      // Without src/tf: the fp64 reference, on at most 32 rows.
      name = 'fp64-reference';
      const b = Math.min(B, 32);
      const ref = createHead(head.name);
      ref.initState(cmpC);
      const Xs = X.subarray(0, b * D);
      const ls = lc.subarray(0, b);
      other = await time(() => ref.forward({ X: Xs, W: Wc, labels: ls }), 3, 1);
      other = { ...other, median: (other.median * B) / b, min: (other.min * B) / b };
    }
    const f = 6 * B * D * cmpC * K;
    console.log(
      `comparison at C=${cmpC}${name === 'fp64-reference' ? ' (fp64 time scaled from 32 rows)' : ''}:`,
    );
    console.log(
      `  native        median ${ms(nc.median)} ms  min ${ms(nc.min)} ms  ${(f / nc.median / 1e6).toFixed(1).padStart(6)} GFLOP/s`,
    );
    console.log(
      `  ${name.padEnd(13)} median ${ms(other.median)} ms  min ${ms(other.min)} ms  ${(f / other.median / 1e6).toFixed(2).padStart(6)} GFLOP/s`,
    );
    console.log(`  native is ${(other.median / nc.median).toFixed(0)}× faster (median)`);
    Object.assign(result, {
      compare: name,
      compare_classes: cmpC,
      compare_native_median_ms: nc.median,
      compare_median_ms: other.median,
      speedup: other.median / nc.median,
    });
  }
  if (values.torch)
    compareWithTorch(
      values.python,
      { head: head.name, B, D, C, K, rate, sgd, lr, momentum, dispatch: info.dispatch },
      s,
      result,
    );
  result.peak_rss_mb = peakRssMb();
  if (values.json) console.log(JSON.stringify(result));
}

/** Times the same step in PyTorch (when available) and records native ÷ PyTorch in `result`. */
function compareWithTorch(
  python: string | undefined,
  run: {
    head: string;
    B: number;
    D: number;
    C: number;
    K: number;
    rate: number;
    sgd: boolean;
    lr: number;
    momentum: number;
    dispatch: string;
  },
  native: Stats,
  result: Record<string, unknown>,
): void {
  if (run.head !== 'arcface' || run.K !== 1 || run.rate < 1 || !run.sgd) {
    console.log(
      'pytorch comparison: only for --head arcface with the full softmax and SGD (the script times that step)',
    );
    return;
  }
  const found = findTorchPython(python);
  if ('reason' in found) {
    console.log(`pytorch comparison skipped: ${found.reason}`);
    return;
  }
  // Our side runs at less than AVX-512 (FACEVERLOSS_DISPATCH=avx2): PyTorch gets the same ceiling.
  const capped = run.dispatch === 'avx2';
  console.log(
    `pytorch (${found.python}, same B, D, C; SGD with momentum${capped ? '; capped at AVX2, OpenBLAS on its Haswell kernels, as our dispatch' : ''}):`,
  );
  const t = torchHeadTiming(
    found.python,
    { ...run, repeats: Math.max(3, native.runs) },
    capped ? TORCH_AVX2 : {},
  );
  if (t === null) return;
  const ratio = native.median / t.median_ms;
  console.log(
    `  native ${native.median.toFixed(2)} ms vs pytorch best ${t.median_ms.toFixed(2)} ms (${t.threads} thread(s)): ratio ${ratio.toFixed(2)}`,
  );
  Object.assign(result, {
    torch_median_ms: t.median_ms,
    torch_cpu_ms: t.cpu_ms,
    torch_threads: t.threads,
    torch_version: t.torch,
    torch_ratio: ratio,
    torch_capped_avx2: capped,
  });
}
