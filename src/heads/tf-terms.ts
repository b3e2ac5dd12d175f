/**
 * The TF.js form of what a head adds to the margin softmax (learnable per-row margins, extra loss terms,
 * a loss that is not a margin at all). A head file writes these next to its fp64 forms, against the
 * `tf` namespace and the few guarded ops it is handed: the heads load without TF.js, and only the TF.js
 * backend of the step (src/tf) calls them. Gradients follow by autograd through the same tensors the
 * margin uses.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { GeometrySpec } from '../margin/spec.js';

/** Tensors of one geometry pass (src/tf/geometry.ts computes them). */
export interface TfGeometry {
  spec: GeometrySpec;
  /** ‖x_i‖, [B]. */
  xNorm: tfjs.Tensor1D;
  /** Embeddings as used in the dot product, B×D. */
  xHat: tfjs.Tensor2D;
  /** Weights as used in the dot product, C·K×D. */
  wHat: tfjs.Tensor2D;
  /** Cosines before the clamp, B×C. */
  cosRaw: tfjs.Tensor2D;
  /** Cosines after the clamp, B×C. */
  cos: tfjs.Tensor2D;
}

/** Ops with guarded gradients that head terms use (src/tf/ops.ts). */
export interface TfOps {
  /** ‖x_i‖ per row, with a zero gradient at a zero row. */
  rowNorm(x: tfjs.Tensor2D): tfjs.Tensor1D;
  /** Rows of a C×D table picked by one-hot rows (B×C), as a product. */
  selectRows(oneHot: tfjs.Tensor2D, table: tfjs.Tensor2D): tfjs.Tensor2D;
}

/** What a head's TF.js terms see. */
export interface TfTermContext<P = unknown> {
  /** The TF.js namespace to build ops with. */
  tf: typeof tfjs;
  ops: TfOps;
  p: P;
  training: boolean;
  B: number;
  D: number;
  C: number;
  X: tfjs.Tensor2D;
  W: tfjs.Tensor2D;
  /** Learnable extras by name (after any in-forward replacement). */
  extras: Record<string, tfjs.Tensor>;
  /** One-hot labels, B×C. */
  oneHot: tfjs.Tensor2D;
  geo: TfGeometry;
}

/** Extra scalar loss and named values to report. */
export interface TfExtraTerms {
  loss: tfjs.Scalar;
  parts: Record<string, tfjs.Tensor>;
}

/** The TF.js pieces of one head that its declarative margin cannot express. */
export interface TfHeadTerms<P = unknown> {
  /** Per-row parameters that depend on learnable tensors (the definition's values carry no gradient). */
  rowParams?: (ctx: TfTermContext<P>) => { m2?: tfjs.Tensor1D; m3?: tfjs.Tensor1D };
  /** Terms added to the margin loss: the TF.js form of the definition's `extraTerms`. */
  extraLoss?: (ctx: TfTermContext<P>) => TfExtraTerms;
  /** The TF.js form of the definition's `compute` (a head whose loss is not a margin softmax). */
  compute?: (ctx: Omit<TfTermContext<P>, 'geo'>) => TfExtraTerms;
}
