/**
 * Sub-center ArcFace (Deng et al., ECCV 2020): K sub-centres per class; an embedding is compared with
 * the closest one (max cosine), so noisy samples can gather around a non-dominant sub-centre.
 */
import { z } from 'zod';
import { arcfaceParams } from './arcface.js';
import { cosineGeometry, lossSpec } from './common.js';
import { defineHead } from './define.js';

/** Parameters of the Sub-center ArcFace head and their defaults (see docs/losses/subcenter-arcface.md). */
export const subcenterParams = arcfaceParams.extend({
  subCenters: z.number().int().min(1).max(64).default(3),
});
/** Sub-center ArcFace parameters after validation, defaults filled in. */
export type SubCenterParams = z.infer<typeof subcenterParams>;

/** The Sub-center ArcFace head, registered as `'subcenter-arcface'`. */
export const subcenterArcface = defineHead<SubCenterParams>({
  name: 'subcenter-arcface',
  summary: 'Sub-center ArcFace: ArcFace on the max cosine over K sub-centres per class.',
  schema: subcenterParams,
  subCenters: (p) => p.subCenters,
  geometry: (p) => cosineGeometry(p, p.subCenters),
  margin: ({ p }) => ({
    angleMap: 'cos',
    target: {
      kind: 'angular',
      m1: 1,
      m2: p.margin,
      m3: 0,
      fallback: p.fallback,
      fallbackMargin: p.fallbackMargin,
    },
    negatives: { kind: 'plain' },
    scale: p.scale,
    loss: lossSpec(p),
    gradient: p.gradient,
  }),
});
