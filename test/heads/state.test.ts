/**
 * State semantics (DESIGN.md "Contracts"): state changes only in training mode; evaluation applies no
 * margin (logits = s·cos); state round-trips through JSON; marginLogits never changes it.
 */
import { describe, expect, it } from 'vitest';
import { createHead, type Head, type HeadState, headNames } from '../../src/heads/index.js';
import { createRng } from '../../src/rng.js';
import { makeBatch } from '../helpers/inputs.js';

const STATEFUL = ['sphereface', 'curricularface', 'adacos', 'adaface'];
const D = 4;
const C = 5;
const batch = makeBatch({ D, C, targetCos: [0.7, 0.2, -0.4, 0.9, -0.1, 0.5], seed: 3 });
const { X, W, labels, B } = batch;

function build(name: string): { head: Head; extras: Record<string, Float64Array>; W: Float64Array } {
  const head = createHead(name, {}, { rng: createRng(8) });
  const extras: Record<string, Float64Array> = {};
  for (const [k, spec] of Object.entries(head.learnables(C, D))) extras[k] = spec.init(createRng(6));
  // Sub-centre heads get K copies of each class row with small offsets.
  const K = head.subCenters;
  const Wk = new Float64Array(C * K * D);
  for (let j = 0; j < C; j++)
    for (let k = 0; k < K; k++)
      for (let d = 0; d < D; d++) Wk[(j * K + k) * D + d] = W[j * D + d] + 0.05 * k * (d === k % D ? 1 : -1);
  return { head, extras, W: Wk };
}

/** Cosines by hand: max over sub-centres of x̂·ŵ, clamped. */
function handCos(Wk: Float64Array, K: number, clamp: number | null): Float64Array {
  const cos = new Float64Array(B * C);
  for (let i = 0; i < B; i++) {
    const x = X.subarray(i * D, i * D + D);
    const xn = Math.hypot(...x);
    for (let j = 0; j < C; j++) {
      let best = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < K; k++) {
        const w = Wk.subarray((j * K + k) * D, (j * K + k) * D + D);
        best = Math.max(best, x.reduce((a, v, d) => a + v * w[d], 0) / (xn * Math.hypot(...w)));
      }
      cos[i * C + j] = clamp === null ? best : Math.min(clamp, Math.max(-clamp, best));
    }
  }
  return cos;
}

/** Evaluation logits written out per head: the scale times the margin-free (angle-mapped) cosine. */
function evalLogits(name: string, head: Head, Wk: Float64Array, extras: Record<string, Float64Array>) {
  const p = head.params as { scale?: number; clamp?: number | null };
  if (name === 'softmax') {
    return Float64Array.from({ length: B * C }, (_, n) => {
      const i = Math.floor(n / C);
      const j = n % C;
      return X.subarray(i * D, i * D + D).reduce((a, v, d) => a + v * W[j * D + d], 0) + extras.bias[j];
    });
  }
  const cos = handCos(Wk, head.subCenters, p.clamp ?? null);
  return cos.map((c, n) => {
    const i = Math.floor(n / C);
    if (name === 'sphereface') return Math.hypot(...X.subarray(i * D, i * D + D)) * c;
    if (name === 'adacos') return head.getState().s * c;
    if (name === 'airface') return ((p.scale as number) * (Math.PI - 2 * Math.acos(c))) / Math.PI;
    if (name === 'qamface') return (p.scale as number) * (2 * Math.PI - Math.acos(c)) ** 2;
    return (p.scale as number) * c;
  });
}

describe('evaluation mode', () => {
  for (const name of headNames.filter((n) => n !== 'centerloss')) {
    it(`${name}: leaves the state as it is and gives logits = s·cos (no margin)`, () => {
      const { head, extras, W: Wk } = build(name);
      head.forward({ X, W: Wk, labels, extras }); // a training step first, so the state is not initial
      const before = head.getState();
      const out = head.forward({ X, W: Wk, labels, extras }, { training: false });
      expect(head.getState()).toEqual(before);
      const want = evalLogits(name, head, Wk, extras);
      const scale = Math.max(...want.map(Math.abs));
      for (let n = 0; n < want.length; n++)
        expect(Math.abs(out.logits[n] - want[n]), `logit ${n}`).toBeLessThanOrEqual(1e-12 * scale);
    });
  }
  it('centerloss has no state and no logits; evaluation gives the same loss', () => {
    const { head } = build('centerloss');
    const a = head.forward({ X, W, labels }).loss;
    const b = head.forward({ X, W, labels }, { training: false }).loss;
    expect(head.getState()).toEqual({});
    expect(b).toBe(a);
  });
});

describe('training mode', () => {
  for (const name of STATEFUL) {
    it(`${name}: every training forward updates the state`, () => {
      const { head, extras, W: Wk } = build(name);
      head.initState(C);
      let prev = head.getState();
      for (let step = 0; step < 3; step++) {
        head.forward({ X, W: Wk, labels, extras });
        const now = head.getState();
        expect(now).not.toEqual(prev);
        for (const v of Object.values(now)) expect(Number.isFinite(v)).toBe(true);
        prev = now;
      }
    });
  }
  it('a training forward gives the same result from a snapshot restored by setState (a pure function)', () => {
    for (const name of STATEFUL) {
      const { head, extras, W: Wk } = build(name);
      head.forward({ X, W: Wk, labels, extras });
      const snap = head.getState();
      const a = head.forward({ X, W: Wk, labels, extras });
      const afterA = head.getState();
      head.setState(snap);
      const b = head.forward({ X, W: Wk, labels, extras });
      expect(b.loss, name).toBe(a.loss);
      expect(b.grads.X, name).toEqual(a.grads.X);
      expect(head.getState(), name).toEqual(afterA);
    }
  });
  it('getState returns a copy: mutating it does not touch the head', () => {
    const { head } = build('curricularface');
    head.initState(C);
    const s = head.getState();
    s.t = 0.9;
    expect(head.getState().t).toBe(0);
  });
});

describe('JSON round trip', () => {
  for (const name of STATEFUL) {
    it(`${name}: a state saved as JSON and loaded into a new head continues identically`, () => {
      const a = build(name);
      for (let step = 0; step < 2; step++) a.head.forward({ X, W: a.W, labels, extras: a.extras });
      const saved: HeadState = JSON.parse(JSON.stringify(a.head.getState()));
      expect(saved).toEqual(a.head.getState());
      const b = build(name);
      b.head.setState(saved);
      const outA = a.head.forward({ X, W: a.W, labels, extras: a.extras });
      const outB = b.head.forward({ X, W: b.W, labels, extras: b.extras });
      expect(outB.loss).toBe(outA.loss);
      expect(outB.logits).toEqual(outA.logits);
      expect(outB.grads.W).toEqual(outA.grads.W);
      expect(b.head.getState()).toEqual(a.head.getState());
    });
  }
});

describe('marginLogits', () => {
  // Heads whose margin depends only on cos, ‖x‖ and state (not on learnable extras or random draws).
  const comparable = headNames.filter(
    (n) => !['centerloss', 'softmax', 'adamsoftmax', 'elasticface'].includes(n),
  );
  for (const name of comparable) {
    it(`${name}: does not change the state, and matches the training logits at the same cosines`, () => {
      const { head, extras, W: Wk } = build(name);
      const out = head.forward({ X, W: Wk, labels, extras });
      const before = head.getState();
      const xNorm = Float64Array.from({ length: B }, (_, i) => Math.hypot(...X.subarray(i * D, i * D + D)));
      const logits = head.marginLogits(out.cos, C, labels, xNorm);
      expect(head.getState()).toEqual(before);
      const scale = Math.max(...out.logits.map(Math.abs));
      for (let n = 0; n < logits.length; n++)
        expect(Math.abs(logits[n] - out.logits[n]), `logit ${n}`).toBeLessThanOrEqual(1e-12 * scale);
    });
  }
  it('leaves an explicitly set state untouched for every stateful head', () => {
    const states: Record<string, HeadState> = {
      sphereface: { iter: 7, lambda: 100 },
      curricularface: { t: 0.25 },
      adacos: { s: 12 },
      adaface: { batchMean: 15, batchStd: 4 },
    };
    for (const name of STATEFUL) {
      const { head } = build(name);
      head.setState(states[name]);
      head.marginLogits(handCos(W, 1, 1), C, labels);
      expect(head.getState(), name).toEqual(states[name]);
    }
  });
});
