/**
 * Conformance runner: rebuilds each fixture's head from its own parameters and initial state, replays
 * every step (chaining parameters through SGD as the fixture did) and compares logits, loss, gradients,
 * in-forward parameter changes and state with the reference values.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FaceVerLossError, InvalidArgumentError } from '../errors.js';
import type { Head, HeadOutput } from '../heads/define.js';
import { createHead } from '../heads/registry.js';
import { createRng } from '../rng.js';
import { type AnchorMapping, fromAnchor } from './anchors.js';
import { type Fixture, loadFixture, type Tensor } from './fixture.js';

/** One compared tensor that was outside tolerance. */
export interface Mismatch {
  step: number;
  tensor: string;
  worstError: number;
  tolerance: number;
  index: number;
  got: number;
  expected: number;
}

/** Outcome of running one fixture: pass/fail, the mismatching tensors and how many were compared. */
export interface FixtureResult {
  file: string;
  passed: boolean;
  mismatches: Mismatch[];
  /** Set when the fixture could not be run at all. */
  error?: string;
  compared: number;
}

/** Computes one step of a head on the given inputs (the reference oracle, or an fp32 implementation). */
export type Implementation = (head: Head, inputs: Parameters<Head['forward']>[0]) => HeadOutput;

/** Options of the conformance runner. */
export interface RunOptions {
  impl?: Implementation;
  /** Relative tolerance: |got − ref| ≤ tol·max(1, max|ref|) per tensor (default 1e-9, fp64). */
  tolerance?: number;
}

/** The fp64 reference operator as an {@link Implementation}: one training-mode forward/backward. */
export const referenceImpl: Implementation = (head, inputs) => head.forward(inputs, { training: true });

function compare(
  mismatches: Mismatch[],
  step: number,
  name: string,
  got: ArrayLike<number>,
  ref: Tensor,
  tol: number,
): void {
  let maxRef = 0;
  for (const v of ref.data) if (Number.isFinite(v)) maxRef = Math.max(maxRef, Math.abs(v));
  const bound = tol * Math.max(1, maxRef);
  if (got.length !== ref.data.length) {
    mismatches.push({
      step,
      tensor: `${name} (length ${got.length} ≠ ${ref.data.length})`,
      worstError: Number.POSITIVE_INFINITY,
      tolerance: bound,
      index: -1,
      got: Number.NaN,
      expected: Number.NaN,
    });
    return;
  }
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const e = ref.data[i];
    const g = got[i];
    const err = Number.isNaN(e)
      ? Number.isNaN(g)
        ? 0
        : Number.POSITIVE_INFINITY
      : e === g
        ? 0
        : Math.abs(g - e);
    if (!(err <= worst)) {
      worst = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err;
      at = i;
    }
  }
  if (worst > bound)
    mismatches.push({
      step,
      tensor: name,
      worstError: worst,
      tolerance: bound,
      index: at,
      got: got[at],
      expected: ref.data[at],
    });
}

function pickOutput(out: HeadOutput, key: string): ArrayLike<number> | undefined {
  if (key === 'logits') return out.logits;
  if (key === 'loss') return [out.loss];
  if (key === 'cos') return out.cos;
  if (key.startsWith('parts.')) {
    const v = out.parts[key.slice(6)];
    return typeof v === 'number' ? [v] : v;
  }
  return undefined;
}

/** Initial state: our head's defaults, overridden by what the fixture says held before step 0. */
function applyInitialState(head: Head, m: AnchorMapping, fixture: Fixture): void {
  head.initState(fixture.setup.C);
  const state = { ...head.getState() };
  for (const [anchorName, ours] of Object.entries(m.state)) {
    const t = fixture.steps[0].stateBefore[anchorName];
    if (t) state[ours] = t.data[0];
  }
  head.setState(state);
}

/** Run one fixture; never throws for a failing comparison (it is reported in the result). */
export function runFixture(fixture: Fixture, options: RunOptions = {}): FixtureResult {
  const impl = options.impl ?? referenceImpl;
  const tol = options.tolerance ?? 1e-9;
  const mismatches: Mismatch[] = [];
  let compared = 0;
  const file = fixture.path;
  try {
    const m = fromAnchor(fixture.head, fixture.anchor.tag, fixture.anchor.class, fixture.params);
    const head = createHead(m.head, m.params, { rng: createRng(0) });
    applyInitialState(head, m, fixture);
    const lr = fixture.setup.optimizer.lr;
    // Learnable tensors under our names, carried from step to step by our own SGD.
    let params: Record<string, Float64Array> = {};
    for (const [anchorName, ours] of Object.entries(m.tensors))
      params[ours] = fixture.steps[0].inputs[anchorName].data.slice();

    fixture.steps.forEach((step, k) => {
      const ref64 = step.outputs.float64;
      const { W, ...extras } = params;
      const out = impl(head, { X: step.inputs.X.data, labels: step.inputs.labels.data, W, extras });
      for (const name of Object.keys(ref64)) {
        // Every reference output must be compared; the returned tensor's shape is the only bookkeeping one.
        if (!(name in m.outputs) && name !== 'returned_shape') {
          mismatches.push({
            step: k,
            tensor: `outputs.${name} (no mapping)`,
            worstError: Number.POSITIVE_INFINITY,
            tolerance: tol,
            index: -1,
            got: Number.NaN,
            expected: Number.NaN,
          });
        }
      }
      for (const [anchorName, ours] of Object.entries(m.outputs)) {
        const got = pickOutput(out, ours);
        if (ref64[anchorName] && got) {
          compare(mismatches, k, `outputs.${anchorName}`, got, ref64[anchorName], tol);
          compared++;
        }
      }
      for (const [anchorName, ours] of Object.entries({ X: 'X', ...m.tensors })) {
        const ref = step.grads.float64[anchorName];
        if (!ref) continue;
        compare(mismatches, k, `grads.${anchorName}`, out.grads[ours] ?? [], ref, tol);
        compared++;
      }
      const after = step.stateAfter.float64;
      const forwardParams: Record<string, Float64Array> = { ...params };
      for (const [anchorName, ours] of Object.entries(m.tensors)) {
        const changed = out.paramsAfterForward[ours];
        if (changed) forwardParams[ours] = changed;
        if (after.afterForward[anchorName]) {
          compare(
            mismatches,
            k,
            `params_after_forward.${anchorName}`,
            forwardParams[ours],
            after.afterForward[anchorName],
            tol,
          );
          compared++;
        }
      }
      const state = head.getState();
      for (const [anchorName, ours] of Object.entries(m.state)) {
        if (after.buffers[anchorName]) {
          compare(mismatches, k, `state.${anchorName}`, [state[ours]], after.buffers[anchorName], tol);
          compared++;
        }
      }
      // Plain SGD (momentum 0, no weight decay) from the parameters as they stood after forward.
      const next: Record<string, Float64Array> = {};
      for (const [anchorName, ours] of Object.entries(m.tensors)) {
        const g = out.grads[ours];
        next[ours] = forwardParams[ours].map((v, i) => v - lr * g[i]);
        if (after.afterSgd[anchorName]) {
          compare(
            mismatches,
            k,
            `params_after_sgd.${anchorName}`,
            next[ours],
            after.afterSgd[anchorName],
            tol,
          );
          compared++;
        }
      }
      params = next;
    });
  } catch (err) {
    const message = err instanceof FaceVerLossError ? err.message : `${(err as Error).stack ?? err}`;
    return { file, passed: false, mismatches, error: message, compared };
  }
  return { file, passed: mismatches.length === 0, mismatches, compared };
}

/** Fixture files of a directory (every `*.json` except `index.json`), sorted. */
export function fixtureFiles(dir: string): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir);
  } catch {
    throw new InvalidArgumentError('dir', 'a readable directory of golden fixtures', dir);
  }
  return names
    .filter((n) => n.endsWith('.json') && n !== 'index.json')
    .sort()
    .map((n) => join(dir, n));
}

/** Run every fixture of a directory. */
export function runGoldenDir(dir: string, options: RunOptions = {}): FixtureResult[] {
  return fixtureFiles(dir).map((path) => {
    try {
      return runFixture(loadFixture(path), options);
    } catch (err) {
      return { file: path, passed: false, mismatches: [], error: (err as Error).message, compared: 0 };
    }
  });
}

/** One line per failure: file, tensor, worst error. */
export function formatFailures(results: FixtureResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const name = r.file.split('/').pop();
    if (r.error) lines.push(`FAIL ${name}: ${r.error.split('\n')[0]}`);
    for (const m of r.mismatches) {
      lines.push(
        `FAIL ${name} step ${m.step} ${m.tensor}: worst |error| ${m.worstError.toExponential(3)} > ${m.tolerance.toExponential(3)} at [${m.index}] (got ${m.got}, expected ${m.expected})`,
      );
    }
  }
  return lines;
}
