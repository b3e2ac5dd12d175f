/**
 * The model-parallel pieces in one process: LocalComm, the class split and per-shard sampling, the
 * two-pass sharded kernel against the fused kernel (one shard through shardedMarginStep, and several
 * shards combined by hand as the collectives would), and the refusals.
 *
 * Tolerance: 1e-5 of max|ref| per tensor (the two kernels differ only in fp32 summation order).
 */
import { describe, expect, it } from 'vitest';
import { marginSoftmaxNative } from '../../src/engine/margin.js';
import { type DispatchLevel, engineInfo, loadEngine } from '../../src/engine/native.js';
import { partialStepNative } from '../../src/engine/partialfc.js';
import { setDispatch } from '../../src/engine/threads.js';
import {
  InvalidArgumentError,
  ModelParallelUnavailableError,
  ShapeMismatchError,
  UnsupportedConfigError,
} from '../../src/errors.js';
import { createHead, headNames } from '../../src/heads/registry.js';
import type { GeometrySpec, MarginSpec } from '../../src/margin/spec.js';
import { LocalComm } from '../../src/parallel/comm.js';
import { MpiComm, mpiAvailable } from '../../src/parallel/mpi-comm.js';
import { sampleShard, shardLabels, shardRange } from '../../src/parallel/shard.js';
import { shardedHeadSpec } from '../../src/parallel/sharded-head.js';
import { encodeShardedSpec, shardBackward, shardStats } from '../../src/parallel/sharded-kernel.js';
import { shardedMarginStep } from '../../src/parallel/sharded-step.js';
import { createRng } from '../../src/rng.js';
import { relativeError } from './reference.js';

const TOLERANCE = 1e-5;
const native = loadEngine() !== null;

function batch(seed: number, B: number, D: number, C: number) {
  const rng = createRng(seed);
  return {
    X: Float32Array.from({ length: B * D }, () => rng.normal()),
    W: Float32Array.from({ length: C * D }, () => rng.normal() * 0.1),
    labels: Int32Array.from({ length: B }, () => rng.int(C)),
  };
}

describe('LocalComm', () => {
  const comm = new LocalComm();

  it('is rank 0 of 1; gathers and reduce-scatters copy, reductions keep the values', () => {
    expect([comm.rank, comm.size]).toEqual([0, 1]);
    const recv = new Float32Array(3);
    comm.allGather(Float32Array.of(1, 2, 3), recv);
    expect(Array.from(recv)).toEqual([1, 2, 3]);
    const labels = new Int32Array(2);
    comm.allGather(Int32Array.of(7, -1), labels);
    expect(Array.from(labels)).toEqual([7, -1]);
    const buf = Float64Array.of(-2, 5);
    comm.allReduceMax(buf);
    comm.allReduceSum(buf);
    expect(Array.from(buf)).toEqual([-2, 5]);
    const part = new Float32Array(2);
    comm.reduceScatter(Float32Array.of(4, 6), part);
    expect(Array.from(part)).toEqual([4, 6]);
    comm.barrier();
  });

  it('rejects buffers of the wrong length or type', () => {
    expect(() => comm.allGather(new Float32Array(3), new Float32Array(4))).toThrow(ShapeMismatchError);
    expect(() => comm.allGather(new Float32Array(3), new Int32Array(3) as never)).toThrow(
      InvalidArgumentError,
    );
    expect(() => comm.reduceScatter(new Float32Array(3), new Float32Array(2))).toThrow(ShapeMismatchError);
    expect(() => comm.reduceScatter(new Int32Array(2) as never, new Int32Array(2) as never)).toThrow(
      InvalidArgumentError,
    );
    expect(() => comm.allReduceSum([1, 2] as never)).toThrow(InvalidArgumentError);
  });
});

describe('MpiComm without the addon', () => {
  it('throws ModelParallelUnavailableError saying what to install', () => {
    const saved = process.env.FACEVERLOSS_MPI;
    process.env.FACEVERLOSS_MPI = '0';
    try {
      expect(mpiAvailable().available).toBe(false);
      expect(() => MpiComm.world()).toThrow(ModelParallelUnavailableError);
      expect(() => MpiComm.world()).toThrow(/apt-get install openmpi-bin libopenmpi-dev/);
    } finally {
      if (saved === undefined) delete process.env.FACEVERLOSS_MPI;
      else process.env.FACEVERLOSS_MPI = saved;
    }
  });
});

describe('shardRange and sampleShard', () => {
  it('splits C classes contiguously, the first C mod N ranks one larger', () => {
    for (const [C, N] of [
      [10, 1],
      [10, 4],
      [103, 4],
      [7, 7],
      [1000003, 64],
    ]) {
      let next = 0;
      for (let r = 0; r < N; r++) {
        const s = shardRange(C, N, r);
        expect(s.start).toBe(next);
        expect(s.count).toBe(Math.floor(C / N) + (r < C % N ? 1 : 0));
        next += s.count;
      }
      expect(next).toBe(C);
    }
    expect(() => shardRange(10, 4, 4)).toThrow(InvalidArgumentError);
    expect(() => shardRange(0, 4, 0)).toThrow(InvalidArgumentError);
  });

  it('re-indexes labels into the shard, −1 for other shards', () => {
    expect(Array.from(shardLabels(Int32Array.of(0, 25, 26, 51, 99), { start: 26, count: 26 }))).toEqual([
      -1, -1, 0, 25, -1,
    ]);
  });

  it('samples ⌈r·count⌉ of the shard, keeps its positives and leaves the rest of the batch at −1', () => {
    const labels = Int32Array.of(-1, 40, 3, -1, 40);
    const s = sampleShard(labels, 100, 0.1, createRng(3));
    expect(s.classes.length).toBe(10);
    for (let k = 1; k < s.classes.length; k++) expect(s.classes[k]).toBeGreaterThan(s.classes[k - 1]);
    expect(s.labels[0]).toBe(-1);
    expect(s.labels[3]).toBe(-1);
    for (const i of [1, 2, 4]) expect(s.classes[s.labels[i]]).toBe(labels[i]);
    const again = sampleShard(labels, 100, 0.1, createRng(3));
    expect(Array.from(again.classes)).toEqual(Array.from(s.classes));
  });
});

describe('shardedHeadSpec', () => {
  it('accepts the heads whose margin only changes the target logit', () => {
    for (const name of ['arcface', 'cosface', 'combined', 'normface', 'amsoftmax'])
      expect(() => shardedHeadSpec(createHead(name), 50)).not.toThrow();
    expect(() => shardedHeadSpec(createHead('softmax', { bias: false }), 50)).not.toThrow();
  });

  it('refuses state-carrying, per-row, hard-negative and sub-centre heads with UnsupportedConfigError', () => {
    const refused = [
      'softmax',
      'sphereface',
      'curricularface',
      'adacos',
      'adaface',
      'magface',
      'elasticface',
      'mvsoftmax',
      'npcface',
      'circleloss',
      'airface',
      'qamface',
      'subcenter-arcface',
      'discface',
      'adamsoftmax',
      'centerloss',
      'arcnegface',
    ];
    for (const name of refused) {
      expect(headNames).toContain(name);
      expect(() => shardedHeadSpec(createHead(name), 50), name).toThrow(UnsupportedConfigError);
    }
    expect(() => shardedHeadSpec(createHead('curricularface'), 50)).toThrow(/curricularface.*state/);
  });
});

describe.skipIf(!native)('sharded kernel against the fused kernel', () => {
  const B = 12;
  const D = 20;
  const C = 300;
  const sphere: { geometry: GeometrySpec; margin: MarginSpec } = {
    geometry: { normalizeX: true, normalizeW: 'functional', subCenters: 1, clamp: 1 },
    margin: {
      angleMap: 'cos',
      target: { kind: 'sphere', m: 4, lambda: 5, pi: Math.PI },
      negatives: { kind: 'plain' },
      scale: 30,
      loss: { kind: 'ce' },
      gradient: 'full',
    },
  };
  const cases: [string, () => { geometry: GeometrySpec; margin: MarginSpec }][] = [
    ['arcface', () => shardedHeadSpec(createHead('arcface'), C)],
    ['cosface', () => shardedHeadSpec(createHead('cosface'), C)],
    ['combined', () => shardedHeadSpec(createHead('combined'), C)],
    ['normface', () => shardedHeadSpec(createHead('normface'), C)],
    ['softmax (no bias)', () => shardedHeadSpec(createHead('softmax', { bias: false }), C)],
    ['arcface, focal loss', () => shardedHeadSpec(createHead('arcface', { loss: 'focal' }), C)],
    ['sphere target', () => sphere],
  ];

  for (const [name, spec] of cases) {
    it(`${name}: one shard (LocalComm) matches loss, dX and W after two SGD steps with momentum`, () => {
      const { geometry, margin } = spec();
      const { W } = batch(1, B, D, C);
      const Wref = W.slice();
      const vref = new Float32Array(W.length);
      const Wgot = W.slice();
      const vgot = new Float32Array(W.length);
      for (let step = 0; step < 2; step++) {
        const { X, labels } = batch(10 + step, B, D, C);
        const sgd = { lr: 0.1, momentum: 0.9 };
        const ref = marginSoftmaxNative({
          ...{ X, W: Wref, labels, B, D, geometry, margin },
          sgd: { ...sgd, velocity: vref },
          overwriteW: true,
        });
        const got = shardedMarginStep({
          ...{ comm: new LocalComm(), X, labels, W: Wgot, classes: C, D, geometry, margin },
          sgd: { ...sgd, velocity: vgot },
        });
        expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(TOLERANCE);
        // The kernels sum ‖w‖² in different orders (the fused one while its product packs W), so the
        // norms agree to fp32 rounding, not bit for bit.
        const ce = ref.parts.ce as number;
        expect(Math.abs((got.parts.ce as number) - ce) / Math.abs(ce)).toBeLessThan(1e-6);
        expect(relativeError(got.dX, ref.dX)).toBeLessThan(TOLERANCE);
        expect(relativeError(Wgot, Wref)).toBeLessThan(TOLERANCE);
      }
      expect(relativeError(Wgot, W)).toBeGreaterThan(1e-3);
    });
  }

  it('agrees with the fused kernel at every dispatch level (vector sweeps and portable loops)', () => {
    const info = engineInfo();
    if (!info.available) return;
    const { geometry, margin } = shardedHeadSpec(createHead('arcface', { clamp: 0.9 }), C);
    const { X, W, labels } = batch(6, B, D, C);
    try {
      for (const level of info.levels as DispatchLevel[]) {
        setDispatch(level);
        const Wref = W.slice();
        const Wgot = W.slice();
        const sgd = { lr: 0.1, weightDecay: 5e-4 };
        const ref = marginSoftmaxNative({
          X,
          W: Wref,
          labels,
          B,
          D,
          geometry,
          margin,
          sgd,
          overwriteW: true,
        });
        const got = shardedMarginStep({
          comm: new LocalComm(),
          X,
          labels,
          W: Wgot,
          classes: C,
          D,
          geometry,
          margin,
          sgd,
        });
        expect(Math.abs(got.loss - ref.loss) / ref.loss, level).toBeLessThan(TOLERANCE);
        expect(relativeError(got.dX, ref.dX), level).toBeLessThan(TOLERANCE);
        expect(relativeError(Wgot, Wref), level).toBeLessThan(TOLERANCE);
      }
    } finally {
      setDispatch(info.dispatch);
    }
  });

  it('returns dW without SGD, equal to the fused kernel’s', () => {
    const { geometry, margin } = shardedHeadSpec(createHead('arcface'), C);
    const { X, W, labels } = batch(2, B, D, C);
    const ref = marginSoftmaxNative({ X, W: W.slice(), labels, B, D, geometry, margin });
    const got = shardedMarginStep({
      comm: new LocalComm(),
      X,
      labels,
      W,
      classes: C,
      D,
      geometry,
      margin,
      wantDW: true,
    });
    expect(relativeError(got.dW as Float32Array, ref.dW as Float32Array)).toBeLessThan(TOLERANCE);
  });

  it('samples like the one-process Partial FC step at rate < 1 with the same seed', () => {
    const { geometry, margin } = shardedHeadSpec(createHead('cosface'), C);
    const { X, W, labels } = batch(3, B, D, C);
    const Wref = W.slice();
    const vref = new Float32Array(W.length);
    const vgot = new Float32Array(W.length);
    const sgd = { lr: 0.1, momentum: 0.9 };
    const ref = partialStepNative({
      ...{ X, W: Wref, labels, B, D, geometry, margin, rate: 0.2, rng: createRng(5) },
      sgd: { ...sgd, velocity: vref },
    });
    const got = shardedMarginStep({
      ...{
        comm: new LocalComm(),
        X,
        labels,
        W,
        classes: C,
        D,
        geometry,
        margin,
        rate: 0.2,
        rng: createRng(5),
      },
      sgd: { ...sgd, velocity: vgot },
    });
    expect(Array.from(got.sample.classes)).toEqual(Array.from(ref.sample.classes));
    expect(Math.abs(got.loss - ref.loss) / ref.loss).toBeLessThan(TOLERANCE);
    expect(relativeError(got.dX, ref.dX)).toBeLessThan(TOLERANCE);
    expect(relativeError(W, Wref)).toBeLessThan(TOLERANCE);
    expect(relativeError(vgot, vref)).toBeLessThan(TOLERANCE);
  });

  it('three shards combined as the collectives combine them equal one fused step', () => {
    // The arithmetic of the protocol without MPI: max and rescaled sums over shards, the owner's
    // target, summed dX, concatenated W.
    const { geometry, margin } = shardedHeadSpec(createHead('arcface'), C);
    const { X, W, labels } = batch(4, B, D, C);
    const Wref = W.slice();
    const ref = marginSoftmaxNative({
      X,
      W: Wref,
      labels,
      B,
      D,
      geometry,
      margin,
      sgd: { lr: 0.5 },
      overwriteW: true,
    });
    const N = 3;
    const spec = encodeShardedSpec(geometry, margin);
    const shards = Array.from({ length: N }, (_, r) => {
      const range = shardRange(C, N, r);
      const Ws = W.slice(range.start * D, (range.start + range.count) * D);
      const pass = { X, W: Ws, labels: shardLabels(labels, range), B, D, spec };
      const stats = {
        rowMax: new Float64Array(B),
        rowSum: new Float64Array(B),
        targetLogit: new Float64Array(B),
      };
      shardStats(pass, stats);
      return { pass, stats, Ws };
    });
    const lse = new Float64Array(B);
    let loss = 0;
    for (let i = 0; i < B; i++) {
      const m = Math.max(...shards.map((s) => s.stats.rowMax[i]));
      let sum = 0;
      let target = 0;
      for (const s of shards) {
        if (s.stats.rowMax[i] > Number.NEGATIVE_INFINITY)
          sum += s.stats.rowSum[i] * Math.exp(s.stats.rowMax[i] - m);
        target += s.stats.targetLogit[i];
      }
      lse[i] = m + Math.log(sum);
      loss += (lse[i] - target) / B;
    }
    expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(TOLERANCE);
    const dX = new Float32Array(B * D);
    for (const s of shards) {
      const part = new Float32Array(B * D);
      shardBackward({ ...s.pass, lse, gradWeight: 1 / B, sgd: { lr: 0.5 }, dX: part });
      for (let k = 0; k < dX.length; k++) dX[k] += part[k];
    }
    expect(relativeError(dX, ref.dX)).toBeLessThan(TOLERANCE);
    const Wcat = new Float32Array(W.length);
    let offset = 0;
    for (const s of shards) {
      Wcat.set(s.Ws, offset);
      offset += s.Ws.length;
    }
    expect(relativeError(Wcat, Wref)).toBeLessThan(TOLERANCE);
  });

  it('rejects bad arguments with typed errors', () => {
    const { geometry, margin } = shardedHeadSpec(createHead('arcface'), C);
    const { X, W, labels } = batch(5, B, D, C);
    const base = { comm: new LocalComm(), X, labels, W, classes: C, D, geometry, margin };
    expect(() => shardedMarginStep({ ...base, W: W.subarray(0, D * 10) })).toThrow(ShapeMismatchError);
    expect(() => shardedMarginStep({ ...base, W: W.subarray(0, D * 10) })).toThrow(/'W'/);
    expect(() => shardedMarginStep({ ...base, labels: Int32Array.from(labels, () => C) })).toThrow(
      InvalidArgumentError,
    );
    expect(() => shardedMarginStep({ ...base, rate: 0.5 })).toThrow(/rng/);
    expect(() => shardedMarginStep({ ...base, classes: 0 })).toThrow(InvalidArgumentError);
    const pass = { X, W, labels, B, D, spec: encodeShardedSpec(geometry, margin) };
    expect(() =>
      shardStats(
        { ...pass, labels: labels.subarray(1) },
        { rowMax: new Float64Array(B), rowSum: new Float64Array(B), targetLogit: new Float64Array(B) },
      ),
    ).toThrow(ShapeMismatchError);
    expect(() =>
      shardBackward({ ...pass, lse: new Float64Array(B), gradWeight: 1, dX: new Float32Array(3) }),
    ).toThrow(ShapeMismatchError);
  });
});
