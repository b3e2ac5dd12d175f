/**
 * A registered head as the geometry and margin of the model-parallel step, or a typed refusal. Heads
 * whose margin is a fixed transform of the target logit run sharded: Softmax, NormFace, CosFace,
 * ArcFace, Combined (and any configuration of them that keeps one row per class). Heads that carry
 * state updated from the whole batch's cosines (CurricularFace's t, AdaCos's s, SphereFace's λ
 * schedule, AdaFace's norm statistics), per-row margins (MagFace, ElasticFace), extra loss terms
 * (MagFace, DiscFace, AdaM-Softmax, Center Loss), hard-negative transforms (MV-Softmax, NPCFace,
 * ArcNegFace, CircleLoss), other angle maps (AirFace, QAMFace) or sub-centres are refused.
 */
import { UnsupportedConfigError } from '../errors.js';
import type { Head, HeadContext, HeadState } from '../heads/define.js';
import type { GeometrySpec, MarginSpec } from '../margin/spec.js';
import { createRng } from '../rng.js';
import { checkShardable } from './sharded-kernel.js';

class ReadsBatch extends Error {}

/** The head's geometry and margin for {@link shardedMarginStep}; throws UnsupportedConfigError otherwise. */
export function shardedHeadSpec(head: Head, classes: number): { geometry: GeometrySpec; margin: MarginSpec } {
  const def = head.definition;
  const refuse = (why: string): never => {
    throw new UnsupportedConfigError(`head '${head.name}' cannot run model-parallel: ${why}`);
  };
  if (def.compute) refuse('it has no margin softmax');
  if (def.update) refuse('it carries state that changes from step to step');
  if (def.extraTerms) refuse('it adds loss terms beyond the margin softmax');
  if (Object.keys(head.learnables(classes, 1)).length > 0) refuse('it learns tensors besides W');
  if (head.subCenters !== 1) refuse('it has sub-centres');
  head.initState(classes);
  const geometry = def.geometry(head.params);
  const reads = (): never => {
    throw new ReadsBatch();
  };
  const geo = {
    spec: geometry,
    get xNorm() {
      return reads();
    },
    get xHat() {
      return reads();
    },
    get wNorm() {
      return reads();
    },
    get wHat() {
      return reads();
    },
    get cosRaw() {
      return reads();
    },
    get cos() {
      return reads();
    },
    get argSub() {
      return reads();
    },
  };
  const ctx = {
    p: head.params,
    state: head.state,
    training: true,
    B: 1,
    D: 1,
    C: classes,
    X: new Float64Array(0),
    W: new Float64Array(0),
    labels: new Int32Array(1),
    extras: {},
    geo,
    rng: createRng(0),
  } as unknown as HeadContext<unknown, HeadState>;
  let spec: ReturnType<typeof def.margin>;
  try {
    spec = def.margin(ctx as never);
  } catch (err) {
    if (err instanceof ReadsBatch) return refuse('its margin depends on the batch (norms or cosines)');
    throw err;
  }
  const { bias, ...margin } = spec;
  if (bias) refuse('it has a class bias');
  try {
    checkShardable(geometry, margin);
  } catch (err) {
    refuse((err as Error).message);
  }
  return { geometry, margin };
}
