/**
 * Reference implementations ("anchors") expressed as our heads and flags.
 *
 * `fromAnchor` translates an anchor class's constructor arguments into a head name and parameters, so
 * that our head computes exactly what that class computes. It is how the conformance runner builds
 * heads from a fixture, and how a user reproduces a particular codebase's behaviour.
 */
import { UnsupportedConfigError } from '../errors.js';

/** How to build our head for an anchor, and how the anchor's tensor and output names map to ours. */
export interface AnchorMapping {
  head: string;
  params: Record<string, unknown>;
  /** Anchor learnable name → our extras name (`W` means the class matrix). */
  tensors: Record<string, string>;
  /** Anchor output name → our output: `logits`, `loss`, `cos`, or `parts.<name>`. */
  outputs: Record<string, string>;
  /** Anchor state name → our state field. */
  state: Record<string, string>;
}

/** Constructor arguments of a reference class, by their own names. */
export type Params = Record<string, unknown>;

const num = (p: Params, key: string, fallback?: number): number => {
  const v = p[key];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  throw new UnsupportedConfigError(`anchor parameter '${key}' is missing or not a number`);
};
const bool = (p: Params, key: string, fallback = false): boolean =>
  typeof p[key] === 'boolean' ? (p[key] as boolean) : fallback;

const CE_OUTPUTS = { logits: 'logits', loss: 'loss' };
const FOCAL_OUTPUTS = { logits: 'logits', loss: 'loss', ce_loss: 'parts.ce', focal_loss: 'parts.focal' };
const INSIGHTFACE_OUTPUTS = { logits: 'logits', loss: 'loss', cos_in: 'cos' };

function mapping(head: string, params: Params, extra: Partial<AnchorMapping> = {}): AnchorMapping {
  return { head, params, tensors: { W: 'W' }, outputs: CE_OUTPUTS, state: {}, ...extra };
}

/**
 * Translate an anchor (by its tag, e.g. `cavaface`, `facexzoo`, `insightface`, `faceverloss`, and class
 * name) and its constructor arguments into our head and parameters.
 * `head` is the family (`arcface`, `amsoftmax`, …) the anchor class is used for.
 */
export function fromAnchor(head: string, tag: string, cls: string, p: Params): AnchorMapping {
  const key = `${tag}:${cls}`;
  switch (key) {
    case 'cavaface:Softmax':
      return mapping('softmax', { bias: true }, { tensors: { W: 'W', bias: 'bias' } });

    // ----- cosine heads with an additive margin (NormFace is the m = 0 case) -----
    case 'cavaface-cosface:CosFace':
    case 'cavaface:CosFace':
      return cosineHead(head, num(p, 's'), num(p, 'm'), { clamp: null });
    case 'cavaface-am_softmax:Am_softmax':
    case 'cavaface:Am_softmax':
      return cosineHead(head, num(p, 's', 30), num(p, 'm', 0.35), { normalizeEmbeddings: false });
    case 'facexzoo:AM_Softmax':
      return cosineHead(head, num(p, 'scale', 32), num(p, 'margin', 0.35), {});
    case 'faceverloss:AMSoftmax':
      return {
        ...cosineHead(head, num(p, 'scale'), num(p, 'margin'), {
          clamp: null,
          weightNorm: 'overwrite',
          loss: 'focal',
        }),
        outputs: FOCAL_OUTPUTS,
      };
    case 'insightface:CosFace':
      return {
        ...cosineHead(head, num(p, 's', 64), num(p, 'm', 0.4), { loss: 'distce' }),
        outputs: INSIGHTFACE_OUTPUTS,
      };

    // ----- ArcFace and the combined margin -----
    case 'cavaface:ArcFace':
      return mapping('arcface', { scale: num(p, 's', 64), margin: num(p, 'm', 0.5), fallback: 'thmm' });
    case 'facexzoo:ArcFace':
      return mapping('arcface', {
        scale: num(p, 'scale', 32),
        margin: num(p, 'margin_arc', 0.35),
        fallback: 'am',
        fallbackMargin: num(p, 'margin_am', 0),
      });
    case 'faceverloss:ArcFace':
      return mapping(
        'arcface',
        {
          scale: num(p, 'scale'),
          margin: num(p, 'margin'),
          fallback: bool(p, 'easy_margin') ? 'easy' : 'thmm',
          loss: 'focal',
        },
        { outputs: FOCAL_OUTPUTS },
      );
    case 'insightface:ArcFace':
      return mapping(
        'arcface',
        {
          scale: num(p, 's', 64),
          margin: num(p, 'margin', 0.5),
          fallback: 'none',
          gradient: 'straight-through',
          loss: 'distce',
        },
        { outputs: INSIGHTFACE_OUTPUTS },
      );
    case 'cavaface:Combined':
      return mapping('combined', {
        scale: num(p, 's', 64),
        m1: 1,
        m2: num(p, 'm2'),
        m3: num(p, 'm3'),
        fallback: bool(p, 'easy_margin') ? 'easy' : 'thmm',
        clamp: null,
      });
    case 'insightface:CombinedMarginLoss':
      return mapping(
        'combined',
        {
          scale: num(p, 's', 64),
          m1: num(p, 'm1'),
          m2: num(p, 'm2'),
          m3: num(p, 'm3'),
          branches: 'insightface',
          gradient: 'straight-through',
          interclassFilter: num(p, 'interclass_filtering_threshold', 0),
          loss: 'distce',
        },
        { outputs: INSIGHTFACE_OUTPUTS },
      );

    case 'cavaface:SphereFace':
      return mapping('sphereface', { m: num(p, 'm', 4) }, { state: { iter: 'iter', lamb: 'lambda' } });

    case 'cavaface:CurricularFace':
    case 'facexzoo:CurricularFace':
      return mapping(
        'curricularface',
        { scale: num(p, 's', 64), margin: num(p, 'm', 0.5) },
        { state: { t: 't' } },
      );

    case 'cavaface:SVXSoftmax':
      return mapping('mvsoftmax', {
        type: p.xtype === 'MV-AM' ? 'am' : 'arc',
        scale: num(p, 's', 32),
        margin: num(p, 'm', 0.35),
        t: num(p, 't', 0.2),
        fallback: bool(p, 'easy_margin') ? 'easy' : 'none',
      });
    case 'facexzoo:MV_Softmax': {
      const am = num(p, 'is_am', 1) === 1;
      return mapping('mvsoftmax', {
        type: am ? 'am' : 'arc',
        scale: num(p, 'scale', 32),
        margin: num(p, 'margin', 0.35),
        t: num(p, 'mv_weight', 1.12) - 1,
        fallback: am ? 'above-margin' : 'easy',
        clamp: null,
      });
    }

    case 'cavaface:CircleLoss':
      return mapping(
        'circleloss',
        { scale: num(p, 'gamma', 256), margin: num(p, 'm', 0.25), form: 'pair', clamp: null },
        { outputs: { circle_output: 'parts.pair', loss: 'loss' } },
      );
    case 'circleloss_face:SparseCircleLoss':
      return mapping(
        'circleloss',
        { scale: num(p, 'gamma', 256), margin: num(p, 'm', 0.25), form: 'pair', clamp: null },
        { outputs: { loss: 'loss' } },
      );
    case 'faceverloss:CircleLoss':
      return mapping(
        'circleloss',
        { scale: num(p, 'scale', 256), margin: num(p, 'margin', 0.25), form: 'pair', clamp: null },
        { outputs: { loss: 'loss' } },
      );
    case 'facexzoo:CircleLoss':
      return mapping('circleloss', {
        scale: num(p, 'gamma', 256),
        margin: num(p, 'margin', 0.25),
        form: 'ce',
        clamp: 1,
      });

    case 'faceverloss:DiscFace_AM':
      return mapping(
        'discface',
        {
          scale: num(p, 'scale'),
          margin: num(p, 'margin'),
          lambda: 0.4,
          displacement: 'per-class',
          maxNorm: 0.05,
          loss: 'focal',
          weightNorm: 'overwrite',
          clamp: null,
        },
        { tensors: { W: 'W', b: 'displacement' }, outputs: FOCAL_OUTPUTS },
      );

    case 'faceverloss:NPCFace':
      return mapping(
        'npcface',
        {
          scale: num(p, 's', 32),
          t: num(p, 't', 1.1),
          alpha: num(p, 'α', 0.25),
          m0: num(p, 'm0', 0.4),
          m1: num(p, 'm1', 0.2),
          marginSource: 'modified',
          marginGradient: true,
          loss: 'focal',
          weightNorm: 'overwrite',
        },
        { outputs: FOCAL_OUTPUTS },
      );
    case 'facexzoo:NPCFace':
      // FaceX-Zoo hard-codes m0 = 0.4, m1 = 0.2 and 1.1·cos + 0.2; its `margin` only selects hard negatives.
      return mapping('npcface', {
        scale: num(p, 'scale', 32),
        m0: 0.4,
        m1: 0.2,
        t: 1.1,
        alpha: 0.2,
        hardMargin: num(p, 'margin', 0.5),
        marginSource: 'raw',
        marginGradient: false,
      });

    case 'kaiyangzhou:CenterLoss':
      return mapping('centerloss', {}, { tensors: { centers: 'W' }, outputs: { loss: 'loss' } });

    case 'cavaface:AdaCos':
      return mapping('adacos', { clamp: null }, { state: { s: 's' } });
    case 'facexzoo:AdaCos':
      return mapping('adacos', {}, { state: { s: 's' } });

    case 'facexzoo:MagFace':
      return mapping(
        'magface',
        {
          scale: num(p, 'scale', 64),
          lowerNorm: num(p, 'l_a', 10),
          upperNorm: num(p, 'u_a', 110),
          lowerMargin: num(p, 'l_margin', 0.45),
          upperMargin: num(p, 'u_margin', 0.8),
          lambda: num(p, 'lamda', 20),
          fallback: 'am',
          fallbackMargin: num(p, 'margin_am', 0),
        },
        { outputs: { logits: 'logits', loss: 'loss', lamda_loss_g: 'parts.magnitude' } },
      );
    case 'facexzoo:Adam_Softmax':
      return mapping(
        'adamsoftmax',
        { scale: num(p, 'scale', 30), lambda: num(p, 'lamda', 70) },
        {
          tensors: { W: 'W', adam: 'margins' },
          outputs: { logits: 'logits', loss: 'loss', lamda_lm: 'parts.marginReg' },
        },
      );

    case 'cavaface:ArcNegFace':
      if (bool(p, 'easy_margin'))
        throw new UnsupportedConfigError(
          'cavaface ArcNegFace easy_margin=True is broken in the reference code',
        );
      return mapping('arcnegface', {
        scale: num(p, 'scale', 64),
        margin: num(p, 'margin', 0.5),
        clamp: null,
      });
    case 'facexzoo:ArcNegFace':
      return mapping('arcnegface', {
        scale: num(p, 'scale', 64),
        margin: num(p, 'margin', 0.5),
        clamp: null,
      });

    case 'cavaface:AirFace':
      return mapping('airface', {
        scale: num(p, 's', 64),
        margin: num(p, 'm', 0.45),
        normalizeEmbeddings: false,
      });
    case 'cavaface:QAMFace':
      return mapping('qamface', {
        scale: num(p, 's', 6),
        margin: num(p, 'm', 0.5),
        normalizeEmbeddings: false,
      });
  }
  throw new UnsupportedConfigError(`no mapping for reference class ${cls} (${tag}) of head ${head}`);
}

/** NormFace when the margin is 0 and the fixture is a NormFace one, else CosFace. */
function cosineHead(family: string, scale: number, margin: number, flags: Params): AnchorMapping {
  if (family === 'normface' && margin === 0) return mapping('normface', { scale, ...flags });
  return mapping('cosface', { scale, margin, ...flags });
}
