/**
 * Starting parameters of every head for the live panels: ten digit classes in a plane. The library's
 * defaults are tuned for thousands of identities on 512-D embeddings (s = 64, m = 0.5); in two
 * dimensions ten classes sit 36° apart, so margins that large cannot all be met and s = 64 saturates
 * the softmax from the first step. Each head gets s = 16 and a margin of about a third of the spacing.
 * Parameters not listed keep the library's defaults.
 */
import { headNames, resolveParams } from '../../../src/heads/registry.js';

const PLANE_DEFAULTS: Record<string, Record<string, unknown>> = {
  normface: { scale: 16 },
  sphereface: { m: 2 },
  cosface: { scale: 16, margin: 0.2 },
  amsoftmax: { scale: 16, margin: 0.2 },
  arcface: { scale: 16, margin: 0.3 },
  'subcenter-arcface': { scale: 16, margin: 0.3, subCenters: 2 },
  combined: { scale: 16, m1: 1, m2: 0.2, m3: 0.1 },
  curricularface: { scale: 16, margin: 0.3 },
  mvsoftmax: { scale: 16, margin: 0.2 },
  circleloss: { scale: 32, margin: 0.25 },
  discface: { scale: 16, margin: 0.2 },
  npcface: { scale: 16, m0: 0.2, m1: 0.1 },
  magface: { scale: 16, lowerMargin: 0.2, upperMargin: 0.4 },
  adamsoftmax: { scale: 16, initLow: 0.1, initHigh: 0.2 },
  arcnegface: { scale: 16, margin: 0.3 },
  airface: { scale: 16, margin: 0.2 },
  qamface: { scale: 6, margin: 0.3 },
  adaface: { scale: 16, margin: 0.3 },
  elasticface: { scale: 16, margin: 0.3 },
};

/** Every registered head can be trained in a panel. */
export const TRAINABLE_HEADS: readonly string[] = headNames;

/** A head's starting parameters for ten classes in a plane, completed by its schema. */
export function trainingDefaults(name: string): Record<string, unknown> {
  return resolveParams(name, PLANE_DEFAULTS[name] ?? {}) as Record<string, unknown>;
}
