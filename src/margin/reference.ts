/**
 * The fp64 reference implementation of the generic margin-softmax operator: forward (cosines, logits,
 * loss) and analytic backward (dL/dX, dL/dW, dL/dbias, dL/d per-row margins and scales).
 *
 * It is the oracle the TF.js and native paths are tested against, so it favours plain loops that read
 * like the formulas over speed.
 */
import { InvalidArgumentError, NonFiniteError, ShapeMismatchError } from '../errors.js';
import { positiveInt } from '../validate.js';
import { computeGeometry, type Geometry, geometryBackward } from './geometry.js';
import { evaluateLoss } from './loss.js';
import type { GeometrySpec, HardThreshold, MarginSpec, RowParam } from './spec.js';
import { angularTarget, plainValue, rawAngular, sphereTarget, type TargetValue } from './target.js';

/** Output of the margin stage (everything after the cosines). */
export interface MarginOutput {
  /** Scaled logits, B×C: what the loss is computed on. */
  logits: Float64Array;
  loss: number;
  parts: Record<string, number | Float64Array>;
  /** dL/dlogits, B×C. */
  dLogits: Float64Array;
  /** dL/dcos w.r.t. the clamped cosines, B×C. */
  dCos: Float64Array;
  /** dL/dm2, dL/dm3 and dL/ds per row (zero where the parameter is a shared constant). */
  dM2: Float64Array;
  dM3: Float64Array;
  dScale: Float64Array;
  /** dL/d‖x_i‖ through margins and scales that depend on the embedding norm. */
  dNorm: Float64Array;
  /** dL/dbias when a bias was given. */
  dBias?: Float64Array;
  /** Per-row target margin actually used (NPCFace's adaptive margin), for inspection. */
  rowMargin?: Float64Array;
}

function rowValue(p: RowParam, i: number): number {
  return typeof p === 'number' ? p : p.value[i];
}

/** Raw threshold for hard negatives: cos(m1·θy + m2) − m3 without fallback. */
function hardThreshold(spec: MarginSpec, gt: number, t: HardThreshold): number {
  return rawAngular(spec.angleMap, gt, t.m1, t.m2, t.m3).value;
}

/**
 * Apply the margin to clamped cosines and evaluate the loss and its gradient w.r.t. the cosines.
 * `bias` (plain linear classifier) is added to the logits after scaling.
 */
export function applyMargin(
  cos: Float64Array,
  labels: Int32Array,
  B: number,
  C: number,
  spec: MarginSpec,
  bias?: Float64Array,
): MarginOutput {
  const logits = new Float64Array(B * C);
  // Pre-scale values and their derivatives w.r.t. cos (detached factors excluded).
  const values = new Float64Array(B * C);
  const dValue = new Float64Array(B * C);
  const targets: TargetValue[] = new Array(B);
  const hard = new Uint8Array(B * C);
  const hardCount = new Int32Array(B);
  const rowMargin = new Float64Array(B);
  const neg = spec.negatives;
  const target = spec.target;

  for (let i = 0; i < B; i++) {
    const y = labels[i];
    const gt = cos[i * C + y];
    const o = i * C;

    // 1. Hard negatives (MV-Softmax, CurricularFace, NPCFace) are judged against the raw margin target.
    if (neg.kind === 'hard-linear' || neg.kind === 'curricular') {
      const tau = hardThreshold(spec, gt, neg.threshold);
      for (let j = 0; j < C; j++) {
        if (j !== y && cos[o + j] > tau) {
          hard[o + j] = 1;
          hardCount[i]++;
        }
      }
    }

    // 2. Target margin of this row (NPCFace derives it from the row's hard negatives).
    let m2 = target.kind === 'angular' ? rowValue(target.m2, i) : 0;
    const m3 = target.kind === 'angular' ? rowValue(target.m3, i) : 0;
    if (neg.kind === 'hard-linear' && neg.adaptive) {
      const ad = neg.adaptive;
      let sum = 0;
      for (let j = 0; j < C; j++) {
        if (!hard[o + j]) continue;
        sum += ad.source === 'modified' ? neg.a * cos[o + j] + neg.b : cos[o + j];
      }
      m2 = ad.m0 + (hardCount[i] > 0 ? (ad.m1 * sum) / hardCount[i] : 0);
    }
    rowMargin[i] = m2;

    // 3. Target transform φ.
    let tv: TargetValue;
    if (target.kind === 'angular') tv = angularTarget(target, spec.angleMap, gt, m2, m3);
    else if (target.kind === 'sphere') tv = sphereTarget(target, gt);
    else {
      const ap = Math.max(1 + target.m - gt, 0);
      tv = { value: ap * (gt - (1 - target.m)), dCos: ap, dM2: 0, dM3: 0 };
    }
    targets[i] = tv;

    // 4. Negatives.
    for (let j = 0; j < C; j++) {
      const n = o + j;
      if (j === y) {
        values[n] = tv.value;
        dValue[n] = tv.dCos;
        continue;
      }
      const c = cos[n];
      const plain = plainValue(spec.angleMap, c);
      let v = plain.value;
      let d = plain.dCos;
      switch (neg.kind) {
        case 'plain':
          break;
        case 'hard-linear':
          if (hard[n]) {
            v = neg.a * c + neg.b;
            d = neg.a;
          }
          break;
        case 'curricular':
          if (hard[n]) {
            v = c * (neg.t + c);
            d = neg.t + 2 * c;
          }
          break;
        case 'arcneg': {
          const r = neg.alpha * Math.exp(-((c - tv.value) ** 2) / neg.sigma);
          v = r * c + r - 1;
          d = r;
          break;
        }
        case 'circle': {
          const an = Math.max(c + neg.m, 0);
          v = an * (c - neg.m);
          d = an;
          break;
        }
        case 'filter':
          if (c > neg.above) {
            v = 0;
            d = 0;
          }
          break;
      }
      values[n] = v;
      dValue[n] = d;
    }

    const s = rowValue(spec.scale, i);
    for (let j = 0; j < C; j++) logits[o + j] = s * values[o + j] + (bias ? bias[j] : 0);
  }

  // 5. Loss and its gradient.
  const lossOut = evaluateLoss(spec.loss, logits, labels, B, C);
  const G = lossOut.dLogits;

  // 6. Backward to the cosines and the per-row parameters.
  const dCos = new Float64Array(B * C);
  const dM2 = new Float64Array(B);
  const dM3 = new Float64Array(B);
  const dScale = new Float64Array(B);
  const straight = spec.gradient === 'straight-through';
  for (let i = 0; i < B; i++) {
    const y = labels[i];
    const o = i * C;
    const s = rowValue(spec.scale, i);
    let ds = 0;
    for (let j = 0; j < C; j++) {
      const n = o + j;
      ds += G[n] * values[n];
      // Straight-through (insightface): the target's margin is invisible to the gradient.
      const d = straight && j === y ? plainValue(spec.angleMap, cos[n]).dCos : dValue[n];
      dCos[n] = G[n] * s * d;
    }
    dScale[i] = ds;
    const gy = G[o + y] * s;
    dM2[i] = straight ? 0 : gy * targets[i].dM2;
    dM3[i] = straight ? 0 : gy * targets[i].dM3;
    // NPCFace with a differentiable adaptive margin: m_i = m0 + m1·mean(a·cos + b) over hard negatives.
    if (neg.kind === 'hard-linear' && neg.adaptive?.gradient && hardCount[i] > 0) {
      const k = (neg.adaptive.m1 * (neg.adaptive.source === 'modified' ? neg.a : 1)) / hardCount[i];
      for (let j = 0; j < C; j++) if (hard[o + j]) dCos[o + j] += dM2[i] * k;
    }
  }

  // 7. Margins and scales that depend on ‖x‖ pass their gradient on to the norm.
  const dNorm = new Float64Array(B);
  const chain = (p: RowParam, grad: Float64Array) => {
    if (typeof p === 'number' || !p.dNorm) return;
    for (let i = 0; i < B; i++) dNorm[i] += grad[i] * p.dNorm[i];
  };
  if (target.kind === 'angular') {
    chain(target.m2, dM2);
    chain(target.m3, dM3);
  }
  chain(spec.scale, dScale);

  let dBias: Float64Array | undefined;
  if (bias) {
    dBias = new Float64Array(C);
    for (let i = 0; i < B; i++) for (let j = 0; j < C; j++) dBias[j] += G[i * C + j];
  }
  return {
    logits,
    loss: lossOut.loss,
    parts: lossOut.parts,
    dLogits: G,
    dCos,
    dM2,
    dM3,
    dScale,
    dNorm,
    dBias,
    rowMargin,
  };
}

/** Full operator result: the margin stage plus gradients w.r.t. X and W. */
export interface MarginSoftmaxResult extends MarginOutput {
  geometry: Geometry;
  dX: Float64Array;
  dW: Float64Array;
}

/** Add dL/d‖x_i‖ · x_i/‖x_i‖ to dX. */
export function addNormGradient(
  dX: Float64Array,
  X: Float64Array,
  xNorm: Float64Array,
  dNorm: Float64Array,
  D: number,
): void {
  for (let i = 0; i < dNorm.length; i++) {
    if (dNorm[i] === 0 || xNorm[i] === 0) continue;
    const k = dNorm[i] / xNorm[i];
    for (let d = 0; d < D; d++) dX[i * D + d] += k * X[i * D + d];
  }
}

/** The generic margin-softmax operator, forward and backward, in fp64. */
export function marginSoftmax(args: {
  X: Float64Array;
  W: Float64Array;
  labels: Int32Array;
  B: number;
  D: number;
  geometry: GeometrySpec;
  margin: MarginSpec;
  bias?: Float64Array;
}): MarginSoftmaxResult {
  checkOperatorArgs(args);
  const geo = computeGeometry(args.X, args.W, args.B, args.D, args.geometry);
  return marginSoftmaxOnGeometry(geo, args.X, args.labels, args.margin, args.bias);
}

/**
 * Shapes, labels and finiteness of the operator's arguments: a label out of range or a NaN input would
 * otherwise come back as a NaN loss rather than an error.
 */
function checkOperatorArgs(args: Parameters<typeof marginSoftmax>[0]): void {
  const { X, W, labels, geometry } = args;
  const B = positiveInt('B', args.B);
  const D = positiveInt('D', args.D);
  const K = positiveInt('geometry.subCenters', geometry.subCenters);
  if (X.length !== B * D) throw new ShapeMismatchError('X', `B·D = ${B * D} values`, `${X.length}`);
  if (W.length === 0 || W.length % (D * K) !== 0)
    throw new ShapeMismatchError(
      'W',
      `C·${K}×${D} values (classes × sub-centres × dimension)`,
      `${W.length}`,
    );
  const C = W.length / (D * K);
  if (labels.length !== B) throw new ShapeMismatchError('labels', `B = ${B} labels`, `${labels.length}`);
  for (let i = 0; i < B; i++) {
    if (!(Number.isInteger(labels[i]) && labels[i] >= 0 && labels[i] < C))
      throw new InvalidArgumentError(`labels[${i}]`, `an integer class index in [0, ${C})`, labels[i]);
  }
  for (const [name, a] of [
    ['X', X],
    ['W', W],
    ['bias', args.bias ?? new Float64Array(0)],
  ] as const) {
    for (let k = 0; k < a.length; k++)
      if (!Number.isFinite(a[k])) throw new NonFiniteError(name, `index ${k}`);
  }
  if (args.bias && args.bias.length !== C)
    throw new ShapeMismatchError('bias', `C = ${C} values`, `${args.bias.length}`);
  // A NaN scale or margin would come back as NaN logits and loss rather than an error.
  checkSpecFinite(args.margin, 'margin');
  checkSpecFinite(geometry.clamp, 'geometry.clamp');
}

/** Every number in a spec (scale, margins, thresholds, per-row values) must be finite. */
function checkSpecFinite(value: unknown, path: string): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidArgumentError(path, 'a finite number', value);
  } else if (value instanceof Float64Array) {
    for (let k = 0; k < value.length; k++)
      if (!Number.isFinite(value[k])) throw new NonFiniteError(path, `index ${k}`);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) checkSpecFinite(v, `${path}.${key}`);
  }
}

/** As {@link marginSoftmax}, for callers that computed the geometry first (AdaCos, CurricularFace). */
export function marginSoftmaxOnGeometry(
  geo: Geometry,
  X: Float64Array,
  labels: Int32Array,
  margin: MarginSpec,
  bias?: Float64Array,
): MarginSoftmaxResult {
  const out = applyMargin(geo.cos, labels, geo.B, geo.C, margin, bias);
  const { dX, dW } = geometryBackward(geo, out.dCos);
  addNormGradient(dX, X, geo.xNorm, out.dNorm, geo.D);
  return { ...out, geometry: geo, dX, dW };
}
