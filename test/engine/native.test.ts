import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DispatchLevel,
  engineInfo,
  loadEngine,
  requireEngine,
  type SgemmArgs,
  setDispatch,
  setThreads,
  sgemm,
  sgemmAsync,
  sgemmJs,
} from '../../src/engine/index.js';
import { loadEngineFrom } from '../../src/engine/native.js';
import { InvalidArgumentError, NativeUnavailableError, ShapeMismatchError } from '../../src/errors.js';
import { rng } from '../helpers/tf-kernels.js';

const engine = loadEngine();
const info = engineInfo();

function randomArray(n: number, next: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = next();
  return out;
}

interface Case {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  beta: number;
  /** Extra elements per row of each stored matrix (exercises lda/ldb/ldc). */
  pad?: number;
}

function build(c: Case, seed: number): SgemmArgs & { lda: number; ldb: number; ldc: number } {
  const next = rng(seed);
  const pad = c.pad ?? 0;
  const [aRows, aCols] = c.transA ? [c.K, c.M] : [c.M, c.K];
  const [bRows, bCols] = c.transB ? [c.N, c.K] : [c.K, c.N];
  const lda = aCols + pad;
  const ldb = bCols + pad;
  const ldc = c.N + pad;
  return {
    ...c,
    A: randomArray(aRows * lda, next),
    lda,
    B: randomArray(bRows * ldb, next),
    ldb,
    C: randomArray(c.M * ldc, next),
    ldc,
  };
}

/** fp64 product; returns the expected C and the scale used for the tolerance. */
function reference(g: ReturnType<typeof build>): { ref: Float64Array; scale: number } {
  const { M, N, K, transA, transB, A, B, C, lda, ldb, ldc } = g;
  const alpha = g.alpha ?? 1;
  const beta = g.beta ?? 0;
  const ref = new Float64Array(M * ldc);
  let scale = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let p = 0; p < K; p++) {
        const a = transA ? A[p * lda + i] : A[i * lda + p];
        const b = transB ? B[j * ldb + p] : B[p * ldb + j];
        s += a * b;
      }
      const v = alpha * s + (beta === 0 ? 0 : beta * C[i * ldc + j]);
      ref[i * ldc + j] = v;
      scale = Math.max(scale, Math.abs(v));
    }
  }
  return { ref, scale };
}

function expectClose(got: Float32Array, g: ReturnType<typeof build>, ref: Float64Array, scale: number): void {
  const tol = 1e-5 * Math.max(g.K, 1) * Math.max(scale, 1);
  let worst = 0;
  for (let i = 0; i < g.M; i++) {
    for (let j = 0; j < g.N; j++) worst = Math.max(worst, Math.abs(got[i * g.ldc + j] - ref[i * g.ldc + j]));
  }
  expect(worst).toBeLessThanOrEqual(tol);
  // Padding between rows of C is never written.
  for (let i = 0; i < g.M; i++) {
    for (let j = g.N; j < g.ldc; j++) expect(got[i * g.ldc + j]).toBe(g.C[i * g.ldc + j]);
  }
}

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 5],
  [129, 257, 65],
  [33, 1, 300],
  [1, 70, 3],
  [50, 40, 600],
];

const cases: Case[] = [];
for (const [M, N, K] of shapes) {
  for (const [transA, transB] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    cases.push({ transA, transB, M, N, K, alpha: 1, beta: 0 });
  }
}
cases.push({ transA: false, transB: true, M: 129, N: 257, K: 65, alpha: -0.75, beta: 0.5 });
cases.push({ transA: true, transB: false, M: 31, N: 45, K: 17, alpha: 2, beta: 1, pad: 3 });
cases.push({ transA: false, transB: false, M: 70, N: 90, K: 520, alpha: 0.5, beta: -1, pad: 5 });
cases.push({ transA: true, transB: true, M: 12, N: 32, K: 256, alpha: 1, beta: 0.25, pad: 1 });
// Short depths: the AVX-512 kernel runs all but its last one or two k steps two at a time (k = 2: none of
// them; k = 4 and 6: one and two pairs, then two single steps).
for (const K of [2, 4, 6]) cases.push({ transA: false, transB: true, M: 25, N: 70, K, alpha: 1, beta: 0.5 });
// Many rows per thread (the blocked GotoBLAS order rather than a resident A block), and more columns
// than one packed B block holds.
cases.push({ transA: true, transB: false, M: 700, N: 70, K: 300, alpha: 1, beta: 0 });
cases.push({ transA: false, transB: true, M: 650, N: 45, K: 270, alpha: 1, beta: 1 });
cases.push({ transA: true, transB: false, M: 490, N: 4100, K: 9, alpha: 1, beta: 0 });
// Few rows, many columns, enough work for two threads: the threads pack each depth block of A together
// (kernels that keep the B micro-panel in L1; K = 1100 takes several blocks at every level, so the two
// alternating buffers both serve) or each packs its own depth blocks of A (AVX-512).
cases.push({ transA: false, transB: false, M: 37, N: 900, K: 333, alpha: 1, beta: 0.5 });
cases.push({ transA: true, transB: true, M: 20, N: 600, K: 1100, alpha: -1, beta: 0, pad: 2 });
// Few rows and one depth block over enough columns that they go out in several tasks per thread, claimed
// as threads come free, with A packed once per thread (the cosine product's shape).
cases.push({ transA: false, transB: true, M: 45, N: 4200, K: 200, alpha: 1.5, beta: 0.5, pad: 1 });

let preparedCases: { g: ReturnType<typeof build>; ref: Float64Array; scale: number }[] | undefined;
/** The cases with their inputs and fp64 results, computed once and shared by every level and thread count. */
function prepared() {
  preparedCases ??= cases.map((c, i) => {
    const g = build(c, 100 + i);
    return { g, ...reference(g) };
  });
  return preparedCases;
}

const label = (c: Case) =>
  `${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'} ${c.M}x${c.N}x${c.K} alpha=${c.alpha} beta=${c.beta}${c.pad ? ` pad=${c.pad}` : ''}`;

describe('native engine availability', () => {
  it('loads when FACEVERLOSS_REQUIRE_NATIVE=1', () => {
    if (process.env.FACEVERLOSS_REQUIRE_NATIVE === '1') {
      expect(info.available ? 'loaded' : info.reason).toBe('loaded');
    }
    expect(info.available).toBe(engine !== null);
  });

  it('explains a missing build', () => {
    const r = loadEngineFrom('/nonexistent/faceverloss.node');
    expect(r.binding).toBeNull();
    expect(r.binding === null && r.reason).toMatch(/not built.*npm run build:native/);
  });

  it('reports FACEVERLOSS_NATIVE=0 as unavailable and falls back', () => {
    const code = [
      "import { engineInfo, loadEngine, requireEngine } from './src/engine/index.ts';",
      'const out = { info: engineInfo(), loaded: loadEngine({ warn: true }) !== null };',
      'try { requireEngine(); } catch (e) { out.error = e.code; }',
      'console.log(JSON.stringify(out));',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, FACEVERLOSS_NATIVE: '0' },
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out).toEqual({
      info: expect.objectContaining({ available: false, reason: 'disabled by FACEVERLOSS_NATIVE=0' }),
      loaded: false,
      error: 'NATIVE_UNAVAILABLE',
    });
    expect(r.stderr.match(/native engine unavailable/g)).toHaveLength(1);
  });
});

describe.skipIf(engine === null)('allocator tuning', () => {
  const tuned = (setting: string | undefined) => {
    const code = [
      "import { engineInfo } from './src/engine/index.ts';",
      'const info = engineInfo();',
      'console.log(JSON.stringify(info.available && info.allocatorTuned));',
    ].join('\n');
    const env = { ...process.env };
    if (setting === undefined) delete env.FACEVERLOSS_MALLOC_TUNING;
    else env.FACEVERLOSS_MALLOC_TUNING = setting;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      env,
    });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim()) as boolean;
  };

  it('keeps freed memory for reuse on glibc unless FACEVERLOSS_MALLOC_TUNING=0', () => {
    // glibc reports its version through process.report; musl and other platforms leave the allocator alone.
    const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
    const glibc = report.header?.glibcVersionRuntime;
    expect(tuned(undefined)).toBe(glibc !== undefined);
    expect(tuned('0')).toBe(false);
  });
});

describe('sgemmJs (fallback)', () => {
  for (const c of cases.slice(0, 12)) {
    it(label(c), () => {
      const g = build(c, 1);
      const { ref, scale } = reference(g);
      expectClose(sgemmJs({ ...g, C: g.C.slice() }), g, ref, scale);
    });
  }
});

describe.skipIf(engine === null)('native sgemm', () => {
  const levels: DispatchLevel[] = info.available ? info.levels : [];
  const initial = info.available ? info.dispatch : 'scalar';
  afterAll(() => {
    if (engine !== null) {
      setDispatch(initial);
      setThreads(0);
    }
  });

  it('reports its dispatch level and thread count', () => {
    const now = engineInfo();
    expect(now.available).toBe(true);
    if (!now.available) return;
    expect(now.levels).toContain('scalar');
    expect(now.levels).toContain(now.dispatch);
    expect(now.threads).toBeGreaterThanOrEqual(1);
    expect(now.sgemmTile.mr).toBeGreaterThan(0);
  });

  it('times the multiply-add peak and the micro-kernel alone on every pool thread, at every level', () => {
    const raw = requireEngine();
    for (const level of levels) {
      setDispatch(level);
      setThreads(2);
      const tile = engineInfo();
      if (!tile.available) return;
      for (const rate of [raw.fmaPeak(), raw.kernelRate()]) {
        expect(rate.threadGflops).toHaveLength(2);
        for (const g of rate.threadGflops) {
          expect(Number.isFinite(g)).toBe(true);
          expect(g).toBeGreaterThan(0);
        }
        const sum = rate.threadGflops.reduce((a, b) => a + b, 0);
        expect(Math.abs(rate.gflops - sum)).toBeLessThanOrEqual(1e-9 * sum);
      }
      // The depth the driver uses on this CPU: the kernel's own, or up to twice it on a larger L1.
      const { depth } = raw.kernelRate();
      expect(depth).toBeGreaterThanOrEqual(tile.sgemmTile.kc);
      expect(depth).toBeLessThanOrEqual(2 * tile.sgemmTile.kc);
    }
    setDispatch(initial);
    setThreads(0);
  });

  for (const level of levels) {
    for (const threads of [1, 2]) {
      it(`${level}, ${threads} thread(s): matches an fp64 product on odd shapes`, () => {
        setDispatch(level);
        setThreads(threads);
        for (const { g, ref, scale } of prepared()) {
          const got = sgemm({ ...g, C: g.C.slice() });
          expectClose(got, g, ref, scale);
        }
      });
    }
  }

  it('splits large products across threads without changing the result', () => {
    setDispatch(initial);
    const c: Case = { transA: false, transB: true, M: 200, N: 1000, K: 130, alpha: 1, beta: 0 };
    const g = build(c, 5);
    const { ref, scale } = reference(g);
    setThreads(1);
    const one = sgemm({ ...g, C: g.C.slice() });
    setThreads(2);
    const two = sgemm({ ...g, C: g.C.slice() });
    expectClose(one, g, ref, scale);
    expectClose(two, g, ref, scale);
    setThreads(0);
  });

  // A small output over a long depth is summed in depth parts fixed by the shape (dX = G·W of a head): the
  // same bits on every thread count, every part counted once.
  it('sums a long depth in fixed parts: the same bits on any thread count', () => {
    setDispatch(initial);
    for (const c of [
      { transA: false, transB: false, M: 30, N: 50, K: 9000, alpha: 0.75, beta: 0 },
      { transA: false, transB: false, M: 33, N: 40, K: 12000, alpha: 1, beta: -0.5, pad: 3 },
    ] satisfies Case[]) {
      const g = build(c, 17);
      const { ref, scale } = reference(g);
      let first: number[] | undefined;
      for (const threads of [1, 2, 3]) {
        setThreads(threads);
        const out = sgemm({ ...g, C: g.C.slice() });
        let worst = 0;
        for (let i = 0; i < g.M; i++)
          for (let j = 0; j < g.N; j++)
            worst = Math.max(worst, Math.abs(out[i * g.ldc + j] - ref[i * g.ldc + j]));
        expect(worst, `${label(c)} on ${threads} thread(s)`).toBeLessThanOrEqual(1e-3 * scale);
        if (first === undefined) first = Array.from(out);
        else expect(Array.from(out), `${label(c)} on ${threads} threads`).toEqual(first);
      }
    }
    setThreads(0);
  });

  it('survives resizing the pool between products', async () => {
    const c: Case = { transA: false, transB: true, M: 40, N: 700, K: 300, alpha: 1, beta: 0 };
    const g = build(c, 21);
    const { ref, scale } = reference(g);
    for (const n of [1, 3, 2, 1, 4, 2, 2, 1, 3]) {
      expect(setThreads(n)).toBe(n);
      expectClose(sgemm({ ...g, C: g.C.slice() }), g, ref, scale);
      expectClose(await sgemmAsync({ ...g, C: g.C.slice() }), g, ref, scale);
    }
    setThreads(0);
  });

  it('beta = 0 overwrites C (NaN does not propagate); alpha = 0 or K = 0 only scales C', () => {
    const A = new Float32Array([1, 2, 3, 4]);
    const B = new Float32Array([5, 6, 7, 8]);
    const C = new Float32Array([Number.NaN, Number.NaN, Number.NaN, Number.NaN]);
    sgemm({ M: 2, N: 2, K: 2, A, B, C });
    expect(Array.from(C)).toEqual([19, 22, 43, 50]);
    sgemm({ M: 2, N: 2, K: 2, alpha: 0, A, B, beta: 2, C });
    expect(Array.from(C)).toEqual([38, 44, 86, 100]);
    sgemm({ M: 2, N: 2, K: 0, A: new Float32Array(0), B: new Float32Array(0), beta: 0, C });
    expect(Array.from(C)).toEqual([0, 0, 0, 0]);
    sgemm({ M: 0, N: 5, K: 3, A: new Float32Array(0), B: new Float32Array(15), C: new Float32Array(0) });
  });

  it('works on subarrays in place (zero-copy)', () => {
    const buf = new Float32Array(100);
    const A = new Float32Array([1, 2, 3, 4]);
    const B = new Float32Array([1, 0, 0, 1]);
    const C = buf.subarray(10, 14);
    expect(sgemm({ M: 2, N: 2, K: 2, A, B, C })).toBe(C);
    expect(Array.from(buf.subarray(10, 14))).toEqual([1, 2, 3, 4]);
    expect(buf[9]).toBe(0);
    expect(buf[14]).toBe(0);
  });

  it('async variant gives the same result and leaves the event loop free', async () => {
    const c: Case = { transA: false, transB: true, M: 256, N: 4096, K: 512, alpha: 1, beta: 0 };
    const g = build(c, 9);
    const sync = sgemm({ ...g, C: g.C.slice() });
    const C = g.C.slice();
    // A product that blocked the thread would settle its promise before any macrotask could run.
    const order: string[] = [];
    const pending = sgemmAsync({ ...g, C }).then((out) => {
      order.push('product');
      return out;
    });
    setImmediate(() => order.push('immediate'));
    const out = await pending;
    expect(order[0]).toBe('immediate');
    expect(out).toBe(C);
    let same = true;
    for (let i = 0; i < out.length; i++) if (out[i] !== sync[i]) same = false;
    expect(same).toBe(true);
  });

  it('runs concurrent async products one at a time, all correct', async () => {
    const c: Case = { transA: true, transB: false, M: 300, N: 200, K: 100, alpha: 1, beta: 0 };
    const gs = [1, 2, 3, 4].map((s) => build(c, s));
    const outs = await Promise.all(gs.map((g) => sgemmAsync({ ...g, C: g.C.slice() })));
    gs.forEach((g, i) => {
      const { ref, scale } = reference(g);
      expectClose(outs[i], g, ref, scale);
    });
  });

  it('throws typed errors for bad arguments instead of crashing', () => {
    const A = new Float32Array(6);
    const B = new Float32Array(6);
    const C = new Float32Array(4);
    expect(() => sgemm({ M: 2, N: 2, K: 3, A: A.subarray(1), B, C })).toThrow(ShapeMismatchError);
    expect(() => sgemm({ M: 2, N: 2, K: 3, A, B, C: C.subarray(1) })).toThrow(ShapeMismatchError);
    expect(() => sgemm({ M: 2, N: 2, K: 3, transB: true, A, B: B.subarray(2), C })).toThrow(
      ShapeMismatchError,
    );
    expect(() => sgemm({ M: 2.5, N: 2, K: 3, A, B, C })).toThrow(InvalidArgumentError);
    expect(() => sgemm({ M: -1, N: 2, K: 3, A, B, C })).toThrow(InvalidArgumentError);
    expect(() =>
      sgemm({ M: 2, N: 2, K: 3, A: new Float64Array(6) as unknown as Float32Array, B, C }),
    ).toThrow(InvalidArgumentError);
    expect(() => sgemm({ M: 2, N: 2, K: 3, alpha: Number.NaN, A, B, C })).toThrow(InvalidArgumentError);
    expect(() => sgemm({ M: 2, N: 2, K: 3, A, B, C, ldc: 1 })).toThrow(InvalidArgumentError);
    const shared = new Float32Array(20);
    expect(() => sgemm({ M: 2, N: 2, K: 3, A: shared.subarray(0, 6), B, C: shared.subarray(4, 8) })).toThrow(
      InvalidArgumentError,
    );
    expect(() => setThreads(-1)).toThrow(InvalidArgumentError);
    expect(() => setDispatch('sse9' as DispatchLevel)).toThrow(InvalidArgumentError);
  });

  it('the raw binding rejects bad input with JavaScript exceptions', () => {
    const raw = requireEngine();
    const A = new Float32Array(4);
    expect(() => raw.sgemm(false, false, 2, 2, 2, 1, A, 2, A.slice(), 2, 0, new Float32Array(3), 2)).toThrow(
      RangeError,
    );
    expect(() => raw.sgemm(false, false, 2, 2, 2, 1, A, 2, A.slice(), 2, 0, A, 2)).toThrow(RangeError);
    expect(() =>
      raw.sgemm(false, false, 2, 2, 2, 1, [1, 2, 3, 4] as unknown as Float32Array, 2, A, 2, 0, A.slice(), 2),
    ).toThrow(TypeError);
    expect(() => raw.sgemm(false, false, 2, 2, 2, 1, A, 1, A.slice(), 2, 0, A.slice(), 2)).toThrow(
      RangeError,
    );
    expect(() => (raw.sgemm as unknown as () => void)()).toThrow(TypeError);
    expect(() => raw.sgemm(false, false, 1e20, 2, 2, 1, A, 2, A.slice(), 2, 0, A.slice(), 2)).toThrow(
      RangeError,
    );
  });
});

describe.skipIf(engine !== null)('without the native engine', () => {
  it('sgemm throws NativeUnavailableError', () => {
    expect(() =>
      sgemm({ M: 1, N: 1, K: 1, A: new Float32Array(1), B: new Float32Array(1), C: new Float32Array(1) }),
    ).toThrow(NativeUnavailableError);
  });
});
