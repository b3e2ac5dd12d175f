/**
 * Sub-center ArcFace (Deng et al., ECCV 2020): K sub-centres per class; an embedding is compared with
 * the closest one (max cosine), so noisy samples can gather around a non-dominant sub-centre.
 */
import { z } from 'zod';
import { arcFallbackCaption, arcface, arcfaceParams } from './arcface.js';
import { cosineGeometry } from './common.js';
import { defineHead } from './define.js';
import { fmt, num } from './picture.js';

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
  // The margin is ArcFace's; only the geometry (max over sub-centres) differs.
  margin: arcface.margin,
  smallScale: { panel: { scale: 16, margin: 0.3, subCenters: 2 } },
  formula: 'target s·cos(θy + m) on the closest of K sub-centres,   others s·cos θj',
  picture: {
    formula: `${arcFallbackCaption}; cos θ is the max over the class's K sub-centres`,
    variants: (p) => [{ label: `m = ${fmt(num(p.margin))}, fallback ${String(p.fallback)}` }],
  },
});
