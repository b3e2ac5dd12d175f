/**
 * The TF.js path as a conformance `Implementation`: each step runs {@link tfHeadStep} in fp32 under
 * `tf.variableGrads` and returns fp64 copies of the results, so the golden runner can compare them
 * with the float64 references.
 */
import * as tf from '@tensorflow/tfjs';
import type { Head, HeadInputs, HeadOutput } from '../heads/define.js';
import { tfHeadStep } from './head-step.js';

/**
 * Tolerance of the fp32 TF.js path against the float64 references: |got − ref| ≤ 1e-4·max(1, max|ref|)
 * per tensor (the runner's rule), the same for every row.
 *
 * fp32 rounds each value to ~6e-8 relative; sums over D and C, the exp/log of the loss, scales up to 64
 * and three chained SGD steps grow that to ~1e-5 of max|ref| on ordinary rows (every dev fixture
 * without edge rows passes at 2e-5), so 1e-4 leaves margin without hiding a wrong formula (those differ
 * by the size of a margin, ≥ 1e-2).
 *
 * Rows whose target cosine lies within 1e-6 of ±1 (the fixtures' edge rows, ±0.9999995) would need a
 * far looser bound if θ and sin θ came from the fp32 cosine: 1 − cos² keeps only ~6% of its value there,
 * and the margin derivatives grow as 1/sin θ (errors of 2–10% were measured that way). The TF.js path
 * takes the target's θ from the raw rows with Kahan's formula instead (`targetTrig` in geometry.ts),
 * which keeps those rows within the same 1e-4: the worst case, QAMFace's edge rows, uses 0.78 of it.
 */
export const TFJS_TOLERANCE = 1e-4;

let counter = 0;

/** Run `f` and dispose every tensor it created (`tf.tidy` only accepts tensor-valued results). */
function tidyValues<T>(f: () => T): T {
  tf.engine().startScope();
  try {
    return f();
  } finally {
    tf.engine().endScope();
  }
}

function toFloat64(t: tf.Tensor): Float64Array {
  return Float64Array.from(t.dataSync() as Float32Array);
}

/** fp32 TF.js forward and backward of a head, in the `Implementation` shape of the golden runner. */
export function tfjsImplementation(head: Head, inputs: HeadInputs): HeadOutput {
  const checked = head.checkInputs(inputs);
  const { B, D, C, labels } = checked;
  const K = head.subCenters;
  const tag = `faceverloss_golden_${counter++}`;
  // A variable shares its initial tensor's data; the initial tensor itself must still be released.
  const variable = (values: Float64Array, shape: number[], name: string): tf.Variable => {
    const initial = tf.tensor(Float32Array.from(values), shape);
    const v = tf.variable(initial, true, `${tag}_${name}`);
    initial.dispose();
    return v;
  };
  const vars: Record<string, tf.Variable> = {
    X: variable(checked.X, [B, D], 'X'),
    W: variable(checked.W, [C * K, D], 'W'),
  };
  const learnables = head.learnables(C, D);
  for (const [name, values] of Object.entries(checked.extras))
    vars[name] = variable(values, learnables[name].shape, name);
  try {
    return tidyValues(() => {
      let kept: ReturnType<typeof tfHeadStep> | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const step = tfHeadStep(
          head,
          {
            X: vars.X as unknown as tf.Tensor2D,
            W: vars.W as unknown as tf.Tensor2D,
            labels,
            extras: Object.fromEntries(Object.entries(vars).filter(([k]) => k !== 'X' && k !== 'W')),
          },
          true,
        );
        kept = step;
        tf.keep(step.logits);
        tf.keep(step.cos);
        for (const t of Object.values(step.parts)) tf.keep(t);
        for (const t of Object.values(step.paramsAfterForward)) tf.keep(t);
        return step.loss;
      }, Object.values(vars));
      const step = kept!;
      const outGrads: Record<string, Float64Array> = {};
      for (const [name, v] of Object.entries(vars)) {
        const g = grads[v.name];
        outGrads[name] = g ? toFloat64(g) : new Float64Array(v.size);
      }
      const parts: Record<string, number | Float64Array> = {};
      for (const [name, t] of Object.entries(step.parts))
        parts[name] = t.rank === 0 ? t.dataSync()[0] : toFloat64(t);
      const paramsAfterForward: Record<string, Float64Array> = {};
      for (const [name, t] of Object.entries(step.paramsAfterForward))
        paramsAfterForward[name] = toFloat64(t);
      const result = {
        logits: toFloat64(step.logits),
        loss: value.dataSync()[0],
        parts,
        grads: outGrads,
        paramsAfterForward,
        cos: toFloat64(step.cos),
      };
      // Kept tensors outlive every scope, so they are released here once read back.
      tf.dispose([
        step.logits,
        step.cos,
        ...Object.values(step.parts),
        ...Object.values(step.paramsAfterForward),
      ]);
      return result;
    });
  } finally {
    for (const v of Object.values(vars)) v.dispose();
  }
}
