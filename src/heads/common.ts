/**
 * Options shared by many heads: the places where reference implementations disagree without changing
 * the head's idea (clamp, how W is normalised, which loss wraps the logits).
 */
import { z } from 'zod';
import type { GeometrySpec, LossSpec } from '../margin/spec.js';

/** Loss wrapper: mean CE (default), insightface DistCrossEntropy, or FaceVerLoss's batch focal CE. */
export const lossOption = z.enum(['ce', 'distce', 'focal']).default('ce');
/** Focal exponent γ for `loss: 'focal'`. */
export const focalGammaOption = z.number().min(0).max(10).default(2);
/** Clamp bound for cosines, or `null` for none (cavaface CosFace/Combined/… do not clamp). */
export const clampOption = z.number().positive().max(1).nullable().default(1);
/**
 * How class weights are normalised: `functional` (gradient through the normalisation) or `overwrite`
 * (FaceVerLoss: W is replaced by its normalised copy in forward and differentiated as is).
 */
export const weightNormOption = z.enum(['functional', 'overwrite']).default('functional');
/** Whether the head normalises embeddings (cavaface Am_softmax/AirFace/QAMFace expect unit rows instead). */
export const normalizeEmbeddingsOption = z.boolean().default(true);
/** Gradient of an angular margin: exact (`full`) or insightface's `straight-through`. */
export const gradientOption = z.enum(['full', 'straight-through']).default('full');

/** The fields above, for spreading into a head's schema. */
export const commonOptions = {
  loss: lossOption,
  focalGamma: focalGammaOption,
  clamp: clampOption,
  weightNorm: weightNormOption,
  normalizeEmbeddings: normalizeEmbeddingsOption,
};

/** The common options after validation. */
export interface CommonOptions {
  loss: 'ce' | 'distce' | 'focal';
  focalGamma: number;
  clamp: number | null;
  weightNorm: 'functional' | 'overwrite';
  normalizeEmbeddings: boolean;
}

/** Geometry of a cosine head from the common options. */
export function cosineGeometry(p: CommonOptions, subCenters = 1): GeometrySpec {
  return { normalizeX: p.normalizeEmbeddings, normalizeW: p.weightNorm, subCenters, clamp: p.clamp };
}

/** Loss spec from the common options. */
export function lossSpec(p: CommonOptions): LossSpec {
  if (p.loss === 'focal') return { kind: 'focal', gamma: p.focalGamma };
  return { kind: p.loss };
}

/** Angular margins in radians: [0, π). */
export const angularMargin = z.number().min(0).lt(Math.PI);
/** Cosine margins: [0, 2]. */
export const cosineMargin = z.number().min(0).max(2);
/** Logit scales: positive and finite. */
export const scaleValue = z.number().positive().max(1e4);
