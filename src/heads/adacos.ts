/**
 * AdaCos (Zhang et al., CVPR 2019): no margin, and a scale that adapts itself each training step:
 * s ← ln(B_avg) / cos(min(π/4, θ_med)), B_avg the mean per-sample sum of e^(s·cos θj) over negatives,
 * θ_med the (lower) median target angle. Starts at √2·ln(C − 1).
 */
import { z } from 'zod';
import { commonOptions, cosineGeometry, lossSpec } from './common.js';
import { defineHead, type HeadState } from './define.js';

/** Parameters of the AdaCos head and their defaults (see docs/losses/adacos.md). */
export const adacosParams = z.strictObject({
  ...commonOptions,
});
/** AdaCos parameters after validation, defaults filled in. */
export type AdaCosParams = z.infer<typeof adacosParams>;

/** AdaCos state: updated in training mode only, saved with the model. */
export interface AdaCosState extends HeadState {
  s: number;
}

/** Lower median, as torch.median returns for an even count. */
function lowerMedian(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[(sorted.length - 1) >> 1];
}

/** The AdaCos head, registered as `'adacos'`. */
export const adacos = defineHead<AdaCosParams, AdaCosState>({
  name: 'adacos',
  summary: 'AdaCos: margin-free cosine softmax with an adaptive scale.',
  schema: adacosParams,
  // With one class there are no negatives: the initial scale √2·ln(C − 1) and the update ln(B_avg) are ln 0.
  minClasses: 2,
  geometry: (p) => cosineGeometry(p),
  initialState: (_p, C) => ({ s: Math.SQRT2 * Math.log(C - 1) }),
  update: ({ state, geo, labels }) => {
    const { B, C, cos } = geo;
    let sumExp = 0;
    const theta = new Float64Array(B);
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < C; j++) if (j !== labels[i]) sumExp += Math.exp(state.s * cos[i * C + j]);
      theta[i] = Math.acos(Math.min(1 - 1e-7, Math.max(-1 + 1e-7, cos[i * C + labels[i]])));
    }
    const bAvg = sumExp / B;
    return { s: Math.log(bAvg) / Math.cos(Math.min(Math.PI / 4, lowerMedian(theta))) };
  },
  margin: ({ p, state }) => ({
    angleMap: 'cos',
    target: { kind: 'angular', m1: 1, m2: 0, m3: 0, fallback: 'none' },
    negatives: { kind: 'plain' },
    scale: state.s,
    loss: lossSpec(p),
    gradient: 'full',
  }),
  formula: 's·cos θ with s adapted every step (here a state slider)',
  picture: {
    formula: 's·cos θy vs s·cos θj with an adaptive scale s (no margin)',
    variants: () => [{ label: 'no margin (s = √2·ln 999)', state: { s: Math.SQRT2 * Math.log(999) } }],
  },
  anchors: {
    'cavaface:AdaCos': () => ({ params: { clamp: null }, state: { s: 's' } }),
    'facexzoo:AdaCos': () => ({ params: {}, state: { s: 's' } }),
  },
});
