/**
 * Circle Loss (Sun et al., CVPR 2020), classification form: self-paced weights αp = [1 + m − sp]₊,
 * αn = [sn + m]₊ (constants in the gradient), logits γ·αp·(sp − (1 − m)) and γ·αn·(sn − m).
 */
import { z } from 'zod';
import { argNumber } from './anchor.js';
import { commonOptions, cosineGeometry } from './common.js';
import { defineHead } from './define.js';
import { single } from './picture.js';

/** Parameters of the Circle Loss head and their defaults (see docs/losses/circleloss.md). */
export const circlelossParams = z.strictObject({
  /** γ, the scale. */
  scale: z.number().positive().max(1e4).default(256),
  margin: z.number().min(0).max(1).default(0.25),
  /**
   * `pair`: mean softplus(lse(n) − p) as the paper and CircleLoss_Face (torch Softplus, linear past
   * `softplusThreshold`); `ce`: the same maths as cross-entropy over all logits (FaceX-Zoo).
   */
  form: z.enum(['pair', 'ce']).default('pair'),
  softplusThreshold: z.number().positive().default(20),
  ...commonOptions,
  clamp: commonOptions.clamp.default(null),
});
/** Circle Loss parameters after validation, defaults filled in. */
export type CircleLossParams = z.infer<typeof circlelossParams>;

/** The pair form of the reference classes that return the pair loss itself (no clamp). */
const pairCircle = (scale: number, margin: number) => ({ scale, margin, form: 'pair', clamp: null });

/** The Circle Loss head, registered as `'circleloss'`. */
export const circleloss = defineHead<CircleLossParams>({
  name: 'circleloss',
  summary: 'Circle Loss: self-paced re-weighting of positive and negative similarities.',
  schema: circlelossParams,
  geometry: (p) => cosineGeometry(p),
  margin: ({ p }) => ({
    angleMap: 'cos',
    target: { kind: 'circle', m: p.margin },
    negatives: { kind: 'circle', m: p.margin },
    scale: p.scale,
    loss: p.form === 'pair' ? { kind: 'softplus-pair', threshold: p.softplusThreshold } : { kind: 'ce' },
    gradient: 'full',
  }),
  smallScale: { panel: { scale: 32, margin: 0.25 } },
  formula: 'γ·αp·(cos θy − (1 − m)), αp = [1 + m − cos θy]₊;   γ·αn·(cos θj − m), αn = [cos θj + m]₊',
  picture: {
    formula: 'γ·αp·(cos θy − 1 + m) vs γ·αn·(cos θj − m);  αp = [1 + m − cos θy]₊, αn = [cos θj + m]₊',
    variants: single('margin'),
  },
  anchors: {
    'cavaface:CircleLoss': (p) => ({
      params: pairCircle(argNumber(p, 'gamma', 256), argNumber(p, 'm', 0.25)),
      outputs: { circle_output: 'parts.pair', loss: 'loss' },
    }),
    'circleloss_face:SparseCircleLoss': (p) => ({
      params: pairCircle(argNumber(p, 'gamma', 256), argNumber(p, 'm', 0.25)),
      outputs: { loss: 'loss' },
    }),
    'faceverloss:CircleLoss': (p) => ({
      params: pairCircle(argNumber(p, 'scale', 256), argNumber(p, 'margin', 0.25)),
      outputs: { loss: 'loss' },
    }),
    'facexzoo:CircleLoss': (p) => ({
      params: {
        scale: argNumber(p, 'gamma', 256),
        margin: argNumber(p, 'margin', 0.25),
        form: 'ce',
        clamp: 1,
      },
    }),
  },
});
