/**
 * Random cases for the margin-softmax operator: a random head with random (valid) parameters, random
 * shapes and random finite inputs; and the checks the fuzz suites run on them — the fp64 oracle is finite,
 * and the fp32 implementations (TF.js, native) agree with it.
 */
import fc from 'fast-check';
import { FaceVerLossError, UnsupportedConfigError } from '../../src/errors.js';
import {
  createHead,
  type Head,
  type HeadInputs,
  type HeadOutput,
  headDefinition,
  headNames,
  resolveParams,
} from '../../src/heads/index.js';
import { computeGeometry } from '../../src/margin/geometry.js';
import type { MarginSpec, RowParam } from '../../src/margin/spec.js';
import { createRng } from '../../src/rng.js';

/** One generated case: everything needed to rebuild the same head and inputs. */
export interface OperatorCase {
  head: string;
  /** Parameter changes tried on top of the defaults (those the schema rejects are dropped). */
  tweaks: Record<string, unknown>;
  B: number;
  D: number;
  /** Classes; raised to the head's minimum. */
  C: number;
  /** Seed of the inputs and of the head's random source. */
  seed: number;
  /** log10 of the spread of embedding norms (heads such as MagFace and AdaFace depend on them). */
  normSpread: number;
  /**
   * When set, each row's target class gets a rival: the next class's weight is the target weight
   * turned by about 10^tie radians, so both have nearly the same cosine. Near ties give gradients that
   * are small differences of large terms — where rounding shows (see {@link tiedOperatorCase}). Absent
   * in plain random cases.
   */
  tie?: number;
}

const TWEAKABLE: Record<string, fc.Arbitrary<unknown>> = {
  scale: fc.double({ min: 1, max: 128, noNaN: true }),
  margin: fc.double({ min: 0, max: 0.8, noNaN: true }),
  m2: fc.double({ min: 0, max: 0.6, noNaN: true }),
  m3: fc.double({ min: 0, max: 0.4, noNaN: true }),
  t: fc.double({ min: 0, max: 1.5, noNaN: true }),
  fallback: fc.constantFrom('thmm', 'easy', 'none', 'am', 'clip', 'above-margin'),
  loss: fc.constantFrom('ce', 'focal', 'distce'),
  normalizeEmbeddings: fc.boolean(),
  weightNorm: fc.constantFrom('functional', 'overwrite'),
  gradient: fc.constantFrom('full', 'straight-through'),
};

/** Arbitrary operator cases over every registered head. */
export const operatorCase: fc.Arbitrary<OperatorCase> = fc.record({
  head: fc.constantFrom(...headNames),
  tweaks: fc.record(TWEAKABLE, { requiredKeys: [] }),
  B: fc.integer({ min: 1, max: 6 }),
  D: fc.integer({ min: 1, max: 8 }),
  C: fc.integer({ min: 1, max: 8 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  normSpread: fc.double({ min: 0, max: 2.5, noNaN: true }),
});

/**
 * Heads whose logits go through θ = acos(cos) and a linear or quadratic map (AirFace, QAMFace). Their
 * slope s·g′(θ)/sin θ turns the 2⁻²⁴ rounding of each fp32 cosine into logit errors that a near tie
 * cannot absorb: on near-tied rows TF.js and the native kernel both miss 1e-3 of max|ref| now and then
 * (about 1 case in 500 of {@link tiedOperatorCase}, at scales ≥ 30), a limit of fp32 inputs, not of
 * either implementation — see docs/fuzzing.md. Plain random cases still cover them.
 */
export const ANGLE_MAPPED_HEADS: readonly string[] = ['airface', 'qamface'];

/**
 * Cases with a near-tied target and rival class (see {@link OperatorCase.tie}) and often large scales,
 * where an fp32 implementation must keep Σ softmax = 1 to the last bits: the region where the native
 * kernel once lost QAMFace's gradient to 7e-3 (and ArcFace's, CosFace's… to 2e-3).
 */
export const tiedOperatorCase: fc.Arbitrary<OperatorCase> = fc.record({
  head: fc.constantFrom(...headNames.filter((h) => !ANGLE_MAPPED_HEADS.includes(h))),
  // Margins are often zero here: the rival then ties the target's logit too, not only its cosine.
  tweaks: fc.record(
    {
      ...TWEAKABLE,
      margin: fc.oneof(fc.constant(0), TWEAKABLE.margin),
      m2: fc.oneof(fc.constant(0), TWEAKABLE.m2),
      m3: fc.oneof(fc.constant(0), TWEAKABLE.m3),
    },
    { requiredKeys: [] },
  ),
  B: fc.integer({ min: 1, max: 4 }),
  D: fc.integer({ min: 2, max: 8 }),
  C: fc.integer({ min: 2, max: 8 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  normSpread: fc.double({ min: 0, max: 1, noNaN: true }),
  tie: fc.double({ min: -7, max: -1, noNaN: true }),
});

/** The head's parameters: defaults plus every tweak the head's schema accepts on its own. */
export function paramsOf(c: OperatorCase): Record<string, unknown> {
  const defaults = resolveParams(c.head, {});
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(c.tweaks)) {
    if (!(key in defaults)) continue;
    try {
      resolveParams(c.head, { ...params, [key]: value });
      params[key] = value;
    } catch (err) {
      if (!(err instanceof FaceVerLossError)) throw err;
    }
  }
  return params;
}

/** A fresh head for the case (same parameters and random source every time). */
export function headOf(c: OperatorCase): Head {
  return createHead(c.head, paramsOf(c), { rng: createRng(c.seed) });
}

/** Classes the case uses (at least the head's minimum). */
export function classesOf(c: OperatorCase): number {
  return Math.max(c.C, headDefinition(c.head).minClasses ?? 1);
}

/**
 * Finite inputs for the case, rounded to float32 so the fp32 implementations see exactly what the
 * oracle sees (the comparison then measures arithmetic, not input rounding).
 */
export function inputsOf(c: OperatorCase, head: Head): HeadInputs & { X: Float64Array; W: Float64Array } {
  const rng = createRng(c.seed ^ 0x5bd1e995);
  const C = classesOf(c);
  const { B, D } = c;
  const K = head.subCenters;
  // Heads told not to normalise embeddings expect unit ones: their cosines are plain dot products.
  const unit = !head.definition.compute && !head.definition.geometry(head.params).normalizeX;
  const X = new Float64Array(B * D);
  for (let i = 0; i < B; i++) {
    const spread = unit ? 1 : 10 ** (c.normSpread * (2 * rng.next() - 1));
    const norm = spread * (head.name === 'magface' && !unit ? 30 : 1);
    let n2 = 0;
    const row = Array.from({ length: D }, () => rng.normal());
    for (const v of row) n2 += v * v;
    const scale = norm / Math.sqrt(n2 || 1);
    for (let d = 0; d < D; d++) X[i * D + d] = Math.fround(row[d] * scale);
  }
  const W = Float64Array.from({ length: C * K * D }, () => Math.fround(rng.normal()));
  const labels = Int32Array.from({ length: B }, () => rng.int(C));
  if (c.tie !== undefined && C > 1) addRivals(W, labels, B, D, K, C, 10 ** c.tie, rng);
  const extras: Record<string, Float64Array> = {};
  for (const [name, spec] of Object.entries(head.learnables(C, D)))
    extras[name] = spec.init(rng).map((v) => Math.fround(v));
  return { X, W, labels, extras };
}

/**
 * For each row i, sets the weight of class (yᵢ + 1) mod C (first sub-centre) to the target weight turned
 * by about `turn` radians in a random direction, rounded to float32: nearly the same cosine and, on the
 * same side of x̂ᵢ, nearly the same d cos/dX, so dL/dX is a small difference of large terms. Later rows
 * overwrite earlier rivals that share a class.
 */
function addRivals(
  W: Float64Array,
  labels: Int32Array,
  B: number,
  D: number,
  K: number,
  C: number,
  turn: number,
  rng: { normal(): number },
): void {
  for (let i = 0; i < B; i++) {
    const w = W.slice(labels[i] * K * D, labels[i] * K * D + D);
    const ww = Math.hypot(...w) || 1;
    const noise = Array.from({ length: D }, () => rng.normal());
    const nn = Math.hypot(...noise) || 1;
    const rival = w.map((v, d) => v + turn * ww * (noise[d] / nn));
    const rr = Math.hypot(...rival) || 1;
    const at = ((labels[i] + 1) % C) * K * D;
    for (let d = 0; d < D; d++) W[at + d] = Math.fround((rival[d] * ww) / rr);
  }
}

const rowValue = (p: RowParam, i: number): number => (typeof p === 'number' ? p : p.value[i]);

/**
 * The smallest distance, in cosine units, from any cosine of the case to a point where the head's
 * margin switches branch (fallback thresholds, hard-negative thresholds, clamps), and whether some
 * target cosine lies within 1e-6 of ±1. Rows there legitimately differ between fp32 and fp64.
 */
export function branchDistance(c: OperatorCase): { distance: number; nearOne: boolean } {
  const head = headOf(c);
  const def = head.definition;
  const inputs = inputsOf(c, head);
  const checked = head.checkInputs(inputs);
  const { B, D, C, X, W, labels } = checked;
  if (def.compute) return { distance: Number.POSITIVE_INFINITY, nearOne: false };
  if (def.initialState) head.initState(C);
  const prepared = def.prepareExtras?.(head.params, checked.extras) ?? {};
  const extras = { ...checked.extras, ...prepared };
  const geo = computeGeometry(X, W, B, D, def.geometry(head.params));
  let ctx = {
    p: head.params,
    state: head.state,
    training: true,
    B,
    D,
    C,
    X,
    W,
    labels,
    extras,
    geo,
    rng: head.random,
  };
  if (def.update) ctx = { ...ctx, state: def.update(ctx) };
  const spec: MarginSpec = def.margin(ctx);
  let distance = Number.POSITIVE_INFINITY;
  let nearOne = false;
  const near = (value: number, point: number) => {
    if (Number.isFinite(point)) distance = Math.min(distance, Math.abs(value - point));
  };
  const clamp = geo.spec.clamp;
  for (let i = 0; i < B; i++) {
    const y = labels[i];
    const cy = geo.cos[i * C + y];
    if (Math.abs(Math.abs(cy) - 1) < 1e-6) nearOne = true;
    const theta = Math.acos(Math.min(1, Math.max(-1, cy)));
    for (let j = 0; j < C; j++) {
      const cij = geo.cos[i * C + j];
      if (clamp !== null) {
        near(cij, clamp);
        near(cij, -clamp);
      }
      if (j === y) continue;
      const neg = spec.negatives;
      if (neg.kind === 'hard-linear' || neg.kind === 'curricular') {
        const { m1, m2, m3 } = neg.threshold;
        near(cij, Math.cos(m1 * theta + m2) - m3);
      } else if (neg.kind === 'circle') near(cij, -neg.m);
      else if (neg.kind === 'filter') near(cij, neg.above);
    }
    const t = spec.target;
    if (t.kind !== 'angular') continue;
    const m2 = rowValue(t.m2, i);
    const m3 = rowValue(t.m3, i);
    if (t.fallback === 'easy') near(cy, 0);
    else if (t.fallback === 'above-margin') near(cy, m3);
    else if (t.fallback === 'thmm' || t.fallback === 'am') {
      const limit = (Math.PI - m2) / t.m1;
      if (limit < Math.PI) near(cy, Math.cos(limit));
    } else if (t.fallback === 'clip') {
      const eps = t.clipEps ?? 1e-3;
      for (const angle of [eps, Math.PI - eps]) {
        const at = (angle - m2) / t.m1;
        if (at >= 0 && at <= Math.PI) near(cy, Math.cos(at));
      }
    }
  }
  return { distance, nearOne };
}

/** Every number in the parts of an output that must be finite (CircleLoss's `pair` may be −∞ when C = 1). */
export function outputFinite(out: HeadOutput): string | undefined {
  if (!Number.isFinite(out.loss)) return `loss ${out.loss}`;
  const arrays: Record<string, Float64Array> = { logits: out.logits, cos: out.cos };
  for (const [k, g] of Object.entries(out.grads)) arrays[`grads.${k}`] = g;
  for (const [k, p] of Object.entries(out.paramsAfterForward)) arrays[`paramsAfterForward.${k}`] = p;
  for (const [name, a] of Object.entries(arrays))
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return `${name}[${i}] = ${a[i]}`;
  return undefined;
}

/** Worst error of `got` against `ref`, as a fraction of max(max|ref|, floor). */
export function relativeError(got: ArrayLike<number>, ref: ArrayLike<number>, floor: number): number {
  if (got.length !== ref.length) return Number.POSITIVE_INFINITY;
  let scale = floor;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]));
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(got[i] - ref[i]);
    if (!(e <= worst)) worst = e; // NaN propagates as the worst error
  }
  return worst / scale;
}

/** Result of comparing an fp32 implementation with the oracle on one case. */
export type Agreement =
  | { kind: 'agree'; worst: number; tensor: string }
  | { kind: 'skipped'; reason: string }
  | { kind: 'disagree'; message: string };

/** An fp32 implementation in the golden runner's shape. */
export type Fp32Implementation = (head: Head, inputs: HeadInputs) => HeadOutput;

/** fp32 tolerance: a fraction of max|ref| (with max|ref| floored at 1e-2 for near-zero gradients). */
export const FP32_RELATIVE = 1e-3;
const SCALE_FLOOR = 1e-2;

/**
 * Runs the oracle and `impl` on the same case and compares loss, logits, cosines, gradients, replaced
 * parameters and state. A NaN/Inf in the fp32 output where the oracle is finite always disagrees; rows
 * near |cos| = 1 or within 1e-4 of a branch threshold are skipped for the numeric comparison.
 */
export function compareWithOracle(c: OperatorCase, impl: Fp32Implementation): Agreement {
  const refHead = headOf(c);
  const inputs = inputsOf(c, refHead);
  const ref = refHead.forward(inputs);
  const bad = outputFinite(ref);
  if (bad !== undefined) return { kind: 'disagree', message: `oracle not finite: ${bad}` };
  const head = headOf(c);
  let got: HeadOutput;
  try {
    got = impl(head, inputs);
  } catch (err) {
    if (err instanceof UnsupportedConfigError) return { kind: 'skipped', reason: 'unsupported' };
    return { kind: 'disagree', message: `threw ${String(err)}` };
  }
  const notFinite = outputFinite(got);
  if (notFinite !== undefined) return { kind: 'disagree', message: `fp32 output not finite: ${notFinite}` };
  const { distance, nearOne } = branchDistance(c);
  if (nearOne) return { kind: 'skipped', reason: 'target |cos| within 1e-6 of 1' };
  if (distance < 1e-4) return { kind: 'skipped', reason: 'cosine within 1e-4 of a branch threshold' };
  const pairs: [string, ArrayLike<number>, ArrayLike<number>][] = [
    ['loss', [got.loss], [ref.loss]],
    ['logits', got.logits, ref.logits],
    ['cos', got.cos, ref.cos],
  ];
  for (const [k, g] of Object.entries(ref.grads)) pairs.push([`grads.${k}`, got.grads[k] ?? [], g]);
  for (const [k, p] of Object.entries(ref.paramsAfterForward))
    pairs.push([`paramsAfterForward.${k}`, got.paramsAfterForward[k] ?? [], p]);
  const refState = refHead.getState();
  const gotState = head.getState();
  for (const k of Object.keys(refState)) pairs.push([`state.${k}`, [gotState[k]], [refState[k]]]);
  let worst = 0;
  let tensor = 'loss';
  for (const [name, g, r] of pairs) {
    const e = relativeError(g, r, SCALE_FLOOR);
    if (!(e <= FP32_RELATIVE))
      return {
        kind: 'disagree',
        message: `${name}: error ${e.toExponential(3)} of max|ref| > ${FP32_RELATIVE}`,
      };
    if (e > worst) {
      worst = e;
      tensor = name;
    }
  }
  return { kind: 'agree', worst, tensor };
}

/** Describes a case compactly for a failure message. */
export function describeCase(c: OperatorCase): string {
  return JSON.stringify({ ...c, params: paramsOf(c), C: classesOf(c) });
}
