/**
 * Optional side-by-side PyTorch CPU timings (bench/torch_head.py for `bench head --torch`,
 * bench/torch_train.py for `bench train --torch`).
 *
 * PyTorch is never a dependency: a twin script is run with the first interpreter that can import torch
 * (`--python PATH`, else `python3`, else Debian's /usr/bin/python3 from
 * `apt-get install python3-torch libopenblas0-pthread`: without an optimised BLAS, Debian's torch runs its
 * matrix products on the reference BLAS, 50× slower, and the comparison would not be fair).
 * It runs once per thread count (1 and all cores) with glibc's malloc tuned so it does not page-fault on
 * every step, and the best median counts — the fairest PyTorch number this machine gives.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TorchTiming {
  median_ms: number;
  min_ms: number;
  /** CPU time of the process per step, every thread included. */
  cpu_ms: number;
  threads: number;
  torch: string;
}

const here = dirname(fileURLToPath(import.meta.url));

// Without these, PyTorch's multi-megabyte temporaries go back to the kernel and fault in again on every
// step (2–10× slower); the PyTorch numbers quoted for comparison are always taken with them.
const mallocTuning = {
  MALLOC_MMAP_THRESHOLD_: '4294967296',
  MALLOC_TRIM_THRESHOLD_: '68719476736',
  MALLOC_TOP_PAD_: '1073741824',
};

/** The interpreter to use, or null (with the reason) when none can import torch. */
export function findTorchPython(preferred?: string): { python: string } | { reason: string } {
  const candidates = preferred ? [preferred] : ['python3', '/usr/bin/python3'];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return { python };
  }
  return {
    reason: `no interpreter among ${candidates.join(', ')} can import torch (Debian: apt-get install python3-torch libopenblas0-pthread)`,
  };
}

/**
 * Best-of-thread-counts (1 and every core) PyTorch timing of a twin script under bench/, run with the
 * tuned malloc; prints one line per thread count. Null (with the reason on stderr) when every run failed.
 */
export function torchTiming(
  python: string,
  scriptName: string,
  args: string[],
  env: Record<string, string> = {},
): TorchTiming | null {
  const script = join(here, scriptName);
  const counts = [...new Set([1, availableParallelism()])];
  let best: TorchTiming | null = null;
  for (const threads of counts) {
    const r = spawnSync(python, [script, ...args, '--threads', String(threads)], {
      encoding: 'utf8',
      timeout: 30 * 60_000,
      env: {
        ...process.env,
        ...mallocTuning,
        ...env,
        OMP_NUM_THREADS: String(threads),
        OPENBLAS_NUM_THREADS: String(threads),
      },
    });
    const last = r.stdout?.trim().split('\n').at(-1);
    if (r.status !== 0 || !last) {
      console.error(`PyTorch run with ${threads} thread(s) failed: ${r.error?.message ?? r.stderr?.trim()}`);
      continue;
    }
    const t = JSON.parse(last) as TorchTiming;
    console.log(
      `  pytorch ${t.torch}, ${threads} thread(s): median ${t.median_ms.toFixed(2)} ms, min ${t.min_ms.toFixed(2)} ms, CPU ${t.cpu_ms.toFixed(2)} ms per step`,
    );
    if (best === null || t.median_ms < best.median_ms) best = t;
  }
  return best;
}

/**
 * Environment that caps PyTorch at AVX2 (its oneDNN convolutions, its ATen kernels and OpenBLAS, held to
 * its Haswell kernels), so that with FACEVERLOSS_DISPATCH=avx2 an AVX-512 machine compares both sides as
 * an AVX2 machine would run them.
 */
export const TORCH_AVX2 = {
  ONEDNN_MAX_CPU_ISA: 'AVX2',
  DNNL_MAX_CPU_ISA: 'AVX2',
  ATEN_CPU_CAPABILITY: 'avx2',
  OPENBLAS_CORETYPE: 'Haswell',
};

/** Best-of-thread-counts PyTorch timing of one ArcFace step (bench/torch_head.py). */
export function torchHeadTiming(
  python: string,
  shape: { B: number; D: number; C: number; repeats: number; lr: number; momentum: number },
  env: Record<string, string> = {},
): TorchTiming | null {
  return torchTiming(
    python,
    'torch_head.py',
    [
      ...['--batch', String(shape.B), '--dim', String(shape.D), '--classes', String(shape.C)],
      ...['--repeats', String(shape.repeats)],
      ...['--lr', String(shape.lr), '--momentum', String(shape.momentum)],
    ],
    env,
  );
}
