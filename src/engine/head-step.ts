/**
 * The native backend of the head step (src/heads/step.ts): a whole {@link Head} step with the margin
 * softmax on the native engine (fp32), the same contract and state handling as `Head.forward`.
 *
 * Heads whose update or margin reads the cosines (AdaCos, CurricularFace, ElasticFace+) get them from
 * a native cosine pass, only when they read them; the O(B·D) and O(C·D) parts of the geometry come from
 * the fp64 inputs. Extra terms (MagFace's g(a), AdaM's regulariser, DiscFace's discrepancy) and heads
 * without a margin (Center Loss) use the heads' fp64 forms: they cost O(B·D).
 */
import type { ExtraTerms, Head, HeadContext, HeadInputs, HeadMargin, HeadOutput } from '../heads/define.js';
import { fp64ComputeOutput, fp64StepOutput } from '../heads/reference-step.js';
import { checkTraining, planHeadStep, runHeadStep, type StepBackend } from '../heads/step.js';
import { divideRows, lazyGeometry, NORMALIZE_EPS, rowNorms } from '../margin/geometry.js';
import type { MarginSoftmaxResult } from '../margin/reference.js';
import type { GeometrySpec } from '../margin/spec.js';
import {
  cosinesNative,
  marginSoftmaxNative,
  marginSoftmaxNativeAsync,
  type NativeMarginArgs,
  type NativeMarginResult,
} from './margin.js';

/** Options of {@link nativeHeadForward}. */
export interface NativeHeadOptions {
  /** Training mode applies margins and updates state (default true). */
  training?: boolean;
}

/** Target cosines x̂_i·ŵ_{y_i} before the clamp in fp64 (max over sub-centres): O(B·K·D). */
function targetCosines(
  spec: GeometrySpec,
  X: Float64Array,
  W: Float64Array,
  labels: Int32Array,
  D: number,
): Float64Array {
  const B = labels.length;
  const K = spec.subCenters;
  const out = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    let xx = 0;
    for (let d = 0; d < D; d++) xx += X[i * D + d] ** 2;
    const kx = spec.normalizeX ? 1 / Math.max(Math.sqrt(xx), NORMALIZE_EPS) : 1;
    let best = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) {
      const o = (labels[i] * K + k) * D;
      let dot = 0;
      let ww = 0;
      for (let d = 0; d < D; d++) {
        dot += X[i * D + d] * W[o + d];
        ww += W[o + d] ** 2;
      }
      const kw = spec.normalizeW === 'none' ? 1 : 1 / Math.max(Math.sqrt(ww), NORMALIZE_EPS);
      best = Math.max(best, dot * kx * kw);
    }
    out[i] = best;
  }
  return out;
}

/** The native step's margin-softmax result, as the fp64 result a definition's extra terms read. */
interface NativeStepResult {
  out: MarginSoftmaxResult;
  cos: Float64Array;
}

/** The native engine as a step backend; `marginSoftmaxAsync` runs the operator on a worker thread. */
function nativeBackend(
  head: Head,
  inputs: HeadInputs,
): StepBackend<NativeStepResult, ExtraTerms, HeadOutput> & {
  marginSoftmaxAsync: (ctx: HeadContext, margin: HeadMargin) => Promise<NativeStepResult>;
} {
  let replaced: Record<string, Float64Array> = {};
  let native: { X: Float32Array; W: Float32Array; targetCos: Float64Array } | undefined;
  const args = (ctx: HeadContext, margin: HeadMargin): NativeMarginArgs => {
    const { bias, ...spec } = margin;
    const n = native!;
    return {
      X: n.X,
      W: n.W,
      labels: ctx.labels,
      B: ctx.B,
      D: ctx.D,
      geometry: ctx.geo.spec,
      margin: spec,
      bias: bias ? Float32Array.from(bias) : undefined,
      targetCos: n.targetCos,
      wantLogits: true,
      wantCos: true,
    };
  };
  const result = (ctx: HeadContext, r: NativeMarginResult): NativeStepResult => {
    const dX = Float64Array.from(r.dX);
    const dW = Float64Array.from(r.dW as Float32Array);
    const out: MarginSoftmaxResult = {
      logits: Float64Array.from(r.logits as Float32Array),
      loss: r.loss,
      parts: r.parts,
      dLogits: new Float64Array(0),
      dCos: new Float64Array(0),
      dM2: r.dM2,
      dM3: r.dM3,
      dScale: r.dScale,
      dNorm: r.dNorm,
      dBias: r.dBias ? Float64Array.from(r.dBias) : undefined,
      rowMargin: r.rowMargin,
      geometry: ctx.geo,
      dX,
      dW,
    };
    return { out, cos: Float64Array.from(r.cos as Float32Array) };
  };
  return {
    frame: () => head.checkInputs(inputs),
    replaceExtras: (r) => {
      replaced = r;
    },
    // Heads without a margin (Center Loss) are O(B·D) and run on the fp64 side.
    compute: (ctx) => fp64ComputeOutput(head, ctx, replaced),
    geometry: ({ X, W, labels, B, D, C }, spec) => {
      const X32 = Float32Array.from(X);
      const W32 = Float32Array.from(W);
      const targetCos = targetCosines(spec, X, W, labels, D);
      native = { X: X32, W: W32, targetCos };
      let cosines: Float64Array | undefined;
      // Clamped and raw cosines agree except outside the clamp, which no update reads.
      const cos = () => {
        if (cosines) return cosines;
        const r = cosinesNative({ X: X32, W: W32, labels, B, D, geometry: spec });
        cosines = Float64Array.from(r.cos as Float32Array);
        const c = spec.clamp;
        for (let i = 0; i < B; i++) {
          const t = targetCos[i];
          cosines[i * C + labels[i]] = c === null ? t : Math.min(c, Math.max(-c, t));
        }
        return cosines;
      };
      const geo = lazyGeometry(spec, B, D, C, {
        xNorm: () => rowNorms(X, B, D),
        xHat: () => (spec.normalizeX ? divideRows(X, geo.xNorm, D) : X.slice()),
        wNorm: () => rowNorms(W, W.length / D, D),
        wHat: () => (spec.normalizeW === 'none' ? W.slice() : divideRows(W, geo.wNorm, D)),
        cosRaw: cos,
        cos,
        argSub: () => new Int32Array(B * C),
      });
      return geo;
    },
    marginSoftmax: (ctx, margin) => result(ctx, marginSoftmaxNative(args(ctx, margin))),
    marginSoftmaxAsync: async (ctx, margin) => result(ctx, await marginSoftmaxNativeAsync(args(ctx, margin))),
    extraTerms: (ctx, r) => head.definition.extraTerms?.(ctx, r.out),
    output: (ctx, r, extra) => fp64StepOutput(ctx, r.out, r.cos, extra, replaced),
  };
}

/**
 * One forward/backward of `head` with the margin softmax on the native engine: the same contract and
 * state handling as `Head.forward`, fp32 arithmetic in the operator (results returned as fp64 arrays).
 */
export function nativeHeadForward(
  head: Head,
  inputs: HeadInputs,
  options: NativeHeadOptions = {},
): HeadOutput {
  const training = options.training ?? true;
  checkTraining(training);
  return runHeadStep(head, nativeBackend(head, inputs), training);
}

/** As {@link nativeHeadForward}, with the operator on a worker thread (the event loop keeps running). */
export async function nativeHeadForwardAsync(
  head: Head,
  inputs: HeadInputs,
  options: NativeHeadOptions = {},
): Promise<HeadOutput> {
  const training = options.training ?? true;
  checkTraining(training);
  const backend = nativeBackend(head, inputs);
  const plan = planHeadStep(head, backend, training);
  if (plan.done) return plan.output;
  return plan.finish(await backend.marginSoftmaxAsync(plan.ctx, plan.margin));
}

/**
 * Tolerance of the native fp32 operator against the float64 references: |got − ref| ≤ 1e-4·max(1,
 * max|ref|) per tensor, for every row alike (the runner's rule, the same bound as the TF.js path).
 *
 * fp32 products over D and C, the exp/log of the loss, scales up to 64 and three chained SGD steps keep
 * ordinary rows near 1e-5 of max|ref|. Rows whose target cosine lies within 1e-6 of ±1 would need more
 * if θ came from the fp32 cosine (1 − cos² keeps ~6% of its value there, and rounding X and W to fp32
 * alone moves an unnormalised cosine by ~1e-7). The head steps therefore hand the operator each row's
 * target cosine computed in fp64 from the fp64 inputs (O(B·K·D)); the operator takes θ and sin θ from
 * it, and recomputes the rare negatives within 1e-3 of ±1 under the linear and quadratic angle maps in
 * double. Those rows then meet the same bound (measured worst over the 184 dev fixtures: about a third
 * of it; every fixture but two passes at 3e-5).
 */
export const NATIVE_TOLERANCE = 1e-4;

/** The native operator in the golden runner's `Implementation` shape: one training-mode step. */
export const nativeImplementation = (head: Head, inputs: HeadInputs): HeadOutput =>
  nativeHeadForward(head, inputs, { training: true });
