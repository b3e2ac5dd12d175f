/**
 * Conformance with the reference fixtures (`faceverloss-golden/1`, the development set in test/fixtures/golden),
 * and checks that the runner itself is strict: a wrong implementation fails, and a fixture's initial state
 * is the one used.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Fixture, loadFixture, type Tensor } from '../../src/golden/fixture.js';
import {
  type FixtureResult,
  formatFailures,
  type Implementation,
  referenceImpl,
  runFixture,
  runGoldenDir,
} from '../../src/golden/runner.js';
import { GOLDEN_DIR } from '../helpers/golden-dir.js';

const goldenDir = GOLDEN_DIR;

/** Results of the reference run, computed once and shared by the tests below. */
let cached: FixtureResult[] | undefined;
function referenceResults(): FixtureResult[] {
  cached ??= runGoldenDir(goldenDir);
  return cached;
}

/** Largest |v|, at least 1: the scale of the runner's per-tensor tolerance. */
function scaleOf(values: Float64Array): number {
  let m = 1;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

/** The reference with one logit (or one entry of dL/dX) moved by 1e-6 of its tensor's scale. */
function perturbed(what: 'logits' | 'gradX'): Implementation {
  return (head, inputs) => {
    const out = referenceImpl(head, inputs);
    if (what === 'logits') {
      const logits = out.logits.slice();
      if (logits.length > 0) logits[0] += 1e-6 * scaleOf(logits);
      return { ...out, logits };
    }
    const X = out.grads.X.slice();
    X[X.length - 1] += 1e-6 * scaleOf(X);
    return { ...out, grads: { ...out.grads, X } };
  };
}

function clone(fixture: Fixture): Fixture {
  const copyMap = (m: Record<string, Tensor>) =>
    Object.fromEntries(Object.entries(m).map(([k, t]) => [k, { ...t, data: t.data.slice() }]));
  return {
    ...fixture,
    steps: fixture.steps.map((s) => ({
      ...s,
      inputs: copyMap(s.inputs),
      stateBefore: copyMap(s.stateBefore),
      stateAfter: Object.fromEntries(
        Object.entries(s.stateAfter).map(([dt, a]) => [
          dt,
          {
            buffers: copyMap(a.buffers),
            afterForward: copyMap(a.afterForward),
            afterSgd: copyMap(a.afterSgd),
          },
        ]),
      ),
    })),
  };
}

describe('golden fixtures', () => {
  it('every fixture passes with the fp64 reference (|got − ref| ≤ 1e-9·max(1, max|ref|))', () => {
    const results = referenceResults();
    expect(results.length).toBeGreaterThan(0);
    const failures = formatFailures(results);
    expect(failures, failures.slice(0, 20).join('\n')).toEqual([]);
    expect(results.every((r) => r.passed && r.compared > 0)).toBe(true);
  });

  it('a logit off by 1e-6 (of max|logit|) fails every fixture that has logits', () => {
    const results = runGoldenDir(goldenDir, { impl: perturbed('logits') });
    for (const r of results) {
      const hasLogits = 'logits' in loadFixture(r.file).steps[0].outputs.float64;
      const flagged = r.mismatches.some((m) => m.tensor === 'outputs.logits' && m.step === 0);
      expect(flagged, r.file).toBe(hasLogits);
      if (hasLogits) expect(r.passed, r.file).toBe(false);
    }
  });

  it('a gradient entry off by 1e-6 (of max|dX|) fails every fixture', () => {
    const results = runGoldenDir(goldenDir, { impl: perturbed('gradX') });
    const missed = results.filter((r) => r.passed || !r.mismatches.some((m) => m.tensor === 'grads.X'));
    expect(missed.map((r) => r.file)).toEqual([]);
  });
});

describe('a fixture with another initial CurricularFace t', () => {
  const file = join(goldenDir, 'curricularface.cavaface.basic_b16_d16_c10.json');
  const shift = 0.3;

  /** t after step 0 recomputed by hand: 0.01·mean(cos θy) + 0.99·t, cos from the fixture's own X and W. */
  function tAfterFirstStep(f: Fixture, tBefore: number): number {
    const { X, W, labels } = f.steps[0].inputs;
    const { B, D } = f.setup;
    let sum = 0;
    for (let i = 0; i < B; i++) {
      const y = labels.data[i];
      let dot = 0;
      let xx = 0;
      let ww = 0;
      for (let d = 0; d < D; d++) {
        dot += X.data[i * D + d] * W.data[y * D + d];
        xx += X.data[i * D + d] ** 2;
        ww += W.data[y * D + d] ** 2;
      }
      sum += dot / Math.sqrt(xx * ww);
    }
    return 0.01 * (sum / B) + 0.99 * tBefore;
  }

  const stateMismatchAt0 = (r: FixtureResult) =>
    r.mismatches.some((m) => m.tensor === 'state.t' && m.step === 0);

  it('the unmodified fixture starts from t = 0 and its stored t after step 0 matches the EMA', () => {
    const f = loadFixture(file);
    expect(f.steps[0].stateBefore.t.data[0]).toBe(0);
    const stored = f.steps[0].stateAfter.float64.buffers.t.data[0];
    expect(Math.abs(tAfterFirstStep(f, 0) - stored)).toBeLessThanOrEqual(1e-15);
    expect(runFixture(f).passed).toBe(true);
  });

  it('the runner starts from the fixture state: a changed t before step 0 is detected', () => {
    const f = clone(loadFixture(file));
    f.steps[0].stateBefore.t.data[0] = shift;
    const r = runFixture(f);
    expect(r.passed).toBe(false);
    expect(stateMismatchAt0(r)).toBe(true);
    // t enters the hard-negative logits cos·(t + cos) of the same forward.
    expect(r.mismatches.some((m) => m.tensor === 'outputs.logits' && m.step === 0)).toBe(true);
  });

  it('with t before and t after both shifted consistently, step 0 state agrees', () => {
    const f = clone(loadFixture(file));
    f.steps[0].stateBefore.t.data[0] = shift;
    f.steps[0].stateAfter.float64.buffers.t.data[0] = tAfterFirstStep(f, shift);
    expect(stateMismatchAt0(runFixture(f))).toBe(false);
  });

  it('the expected state after step 0 alone shifted (initial t untouched) is detected', () => {
    const f = clone(loadFixture(file));
    f.steps[0].stateAfter.float64.buffers.t.data[0] = tAfterFirstStep(f, shift);
    expect(stateMismatchAt0(runFixture(f))).toBe(true);
  });
});
