/**
 * The fp64 backend of the head step (the oracle `Head.forward` runs), and the fp64 assembly of a step's
 * output that the native backend shares: its extra terms are the same fp64 `extraTerms`.
 */
import { computeGeometry } from '../margin/geometry.js';
import { type MarginSoftmaxResult, marginSoftmaxOnGeometry } from '../margin/reference.js';
import type { ExtraTerms, Head, HeadContext, HeadInputs, HeadOutput, HeadState } from './define.js';
import type { StepBackend } from './step.js';

function addInto(target: Float64Array, source: Float64Array): void {
  for (let i = 0; i < target.length; i++) target[i] += source[i];
}

/**
 * A step's output from an fp64 margin-softmax result (`cos`: the clamped cosines it saw) and the
 * head's fp64 extra terms; `replaced` are the extras the definition replaced before use.
 */
export function fp64StepOutput<P, S extends HeadState>(
  ctx: HeadContext<P, S>,
  out: MarginSoftmaxResult,
  cos: Float64Array,
  extra: ExtraTerms | undefined,
  replaced: Record<string, Float64Array>,
): HeadOutput {
  const grads: Record<string, Float64Array> = { X: out.dX, W: out.dW };
  if (out.dBias) grads.bias = out.dBias;
  let loss = out.loss;
  const parts = { ...out.parts };
  if (extra) {
    loss += extra.loss;
    Object.assign(parts, extra.parts);
    if (extra.dX) addInto(grads.X, extra.dX);
    if (extra.dW) addInto(grads.W, extra.dW);
    for (const [k, g] of Object.entries(extra.dExtras ?? {})) {
      if (grads[k]) addInto(grads[k], g);
      else grads[k] = g;
    }
  }
  const paramsAfterForward: Record<string, Float64Array> = { ...replaced };
  if (ctx.geo.spec.normalizeW === 'overwrite') paramsAfterForward.W = ctx.geo.wHat;
  return { logits: out.logits, loss, parts, grads, paramsAfterForward, cos };
}

/** The output of a head without a margin (its fp64 `compute`), with the extras it replaced. */
export function fp64ComputeOutput<P, S extends HeadState>(
  head: Head<P, S>,
  ctx: Omit<HeadContext<P, S>, 'geo'>,
  replaced: Record<string, Float64Array>,
): HeadOutput {
  const out = head.definition.compute!(ctx);
  return { ...out, paramsAfterForward: { ...replaced, ...out.paramsAfterForward } };
}

/** The fp64 reference backend: geometry and margin softmax from src/margin/reference.ts. */
export function referenceBackend<P, S extends HeadState>(
  head: Head<P, S>,
  inputs: HeadInputs,
): StepBackend<MarginSoftmaxResult, ExtraTerms, HeadOutput, P, S> {
  let replaced: Record<string, Float64Array> = {};
  return {
    frame: () => head.checkInputs(inputs),
    replaceExtras: (r) => {
      replaced = r;
    },
    compute: (ctx) => fp64ComputeOutput(head, ctx, replaced),
    geometry: ({ X, W, B, D }, spec) => computeGeometry(X, W, B, D, spec),
    marginSoftmax: (ctx, margin) => marginSoftmaxOnGeometry(ctx.geo, ctx.X, ctx.labels, margin, margin.bias),
    extraTerms: (ctx, out) => head.definition.extraTerms?.(ctx, out),
    output: (ctx, out, extra) => fp64StepOutput(ctx, out, ctx.geo.cos, extra, replaced),
  };
}
