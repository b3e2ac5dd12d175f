/**
 * Partial FC (An et al., ICCVW 2021 / CVPR 2022): with millions of identities, each step uses only a
 * sampled fraction r of the class weights. Every class present in the batch is kept (its positive is
 * needed); the rest of the sample is drawn uniformly from the other classes. A step then costs
 * O(B·D·rC) instead of O(B·D·C), and unsampled weights get no gradient that step.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Rng } from '../rng.js';
import type { Head, HeadInputs, HeadOutput } from './define.js';

/** The sampled classes and the batch labels re-indexed into them. */
export interface ClassSample {
  /** Sampled class indices, ascending (length ⌈r·C⌉, or more when the batch holds more classes). */
  classes: Int32Array;
  /** labels[i] re-indexed: position of the label in `classes`. */
  labels: Int32Array;
}

/**
 * Sample ⌈rate·C⌉ classes, always including every label of the batch, in ascending order
 * (insightface keeps positives by giving them the highest random key and taking the top k).
 */
export function sampleClasses(labels: Int32Array, C: number, rate: number, rng: Rng): ClassSample {
  if (!(rate > 0 && rate <= 1)) throw new InvalidArgumentError('rate', 'a sample rate in (0, 1]', rate);
  const positive = new Uint8Array(C);
  for (const y of labels) {
    if (!(y >= 0 && y < C)) throw new InvalidArgumentError('labels', `class indices in [0, ${C})`, y);
    positive[y] = 1;
  }
  let nPositive = 0;
  for (const p of positive) nPositive += p;
  const want = Math.max(nPositive, Math.min(C, Math.ceil(rate * C)));
  const chosen = positive.slice();
  // Partial Fisher–Yates over the negatives: O(C) memory, O(want) random draws.
  const negatives = Int32Array.from({ length: C - nPositive });
  let n = 0;
  for (let c = 0; c < C; c++) if (!positive[c]) negatives[n++] = c;
  for (let k = 0; k < want - nPositive; k++) {
    const j = k + rng.int(negatives.length - k);
    const t = negatives[k];
    negatives[k] = negatives[j];
    negatives[j] = t;
    chosen[negatives[k]] = 1;
  }
  const classes = new Int32Array(want);
  const position = new Int32Array(C).fill(-1);
  let m = 0;
  for (let c = 0; c < C; c++) {
    if (!chosen[c]) continue;
    position[c] = m;
    classes[m++] = c;
  }
  return { classes, labels: Int32Array.from(labels, (y) => position[y]) };
}

/**
 * One forward/backward of `head` on a Partial FC sample of the classes. Gradients for W (and any
 * per-class extras of shape [C] or [C, …]) are scattered back to full size; unsampled rows are zero.
 */
export function partialForward(
  head: Head,
  inputs: HeadInputs & { W: Float64Array; labels: Int32Array },
  D: number,
  rate: number,
  rng: Rng,
): HeadOutput & { sample: ClassSample } {
  const K = head.subCenters;
  const rowsPerClass = K * D;
  const C = inputs.W.length / rowsPerClass;
  if (!Number.isInteger(C)) throw new InvalidArgumentError('W', `C·${K}×${D} values`, inputs.W.length);
  const sample = sampleClasses(inputs.labels, C, rate, rng);
  const gatherRows = (full: ArrayLike<number>, width: number): Float64Array => {
    const out = new Float64Array(sample.classes.length * width);
    sample.classes.forEach((c, k) => {
      for (let d = 0; d < width; d++) out[k * width + d] = full[c * width + d];
    });
    return out;
  };
  // Unsampled rows get a zero gradient.
  const scatterRows = (part: Float64Array, width: number): Float64Array => {
    const out = new Float64Array(C * width);
    sample.classes.forEach((c, k) => {
      for (let d = 0; d < width; d++) out[c * width + d] = part[k * width + d];
    });
    return out;
  };
  // Extras whose first dimension is the class (AdaM margins, per-class displacements) are sampled too.
  const shapes = head.learnables(C, D);
  const extras: Record<string, Float64Array> = {};
  const perClass = new Map<string, number>();
  for (const [name, value] of Object.entries(inputs.extras ?? {})) {
    const shape = shapes[name]?.shape;
    if (shape && shape[0] === C) {
      const width = shape.slice(1).reduce((a, b) => a * b, 1);
      perClass.set(name, width);
      extras[name] = gatherRows(value, width);
    } else extras[name] = Float64Array.from(value);
  }
  const out = head.forward({
    X: inputs.X,
    labels: sample.labels,
    W: gatherRows(inputs.W, rowsPerClass),
    extras,
  });
  const grads: Record<string, Float64Array> = { ...out.grads, W: scatterRows(out.grads.W, rowsPerClass) };
  for (const [name, width] of perClass) grads[name] = scatterRows(out.grads[name], width);
  const paramsAfterForward: Record<string, Float64Array> = { ...out.paramsAfterForward };
  if (out.paramsAfterForward.W) {
    const W = Float64Array.from(inputs.W);
    sample.classes.forEach((c, k) => {
      W.set(out.paramsAfterForward.W.subarray(k * rowsPerClass, (k + 1) * rowsPerClass), c * rowsPerClass);
    });
    paramsAfterForward.W = W;
  }
  return { ...out, grads, paramsAfterForward, sample };
}
