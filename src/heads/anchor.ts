/**
 * How a head names the reference implementations ("anchors") it reproduces exactly: its `anchors` field
 * maps a reference class, keyed `tag:Class` (`cavaface:ArcFace`, `insightface:CosFace`), to the
 * translation of that class's constructor arguments into the head's parameters and names. The
 * conformance runner (`src/golden/anchors.ts`) looks the class up across the registry.
 */
import { UnsupportedConfigError } from '../errors.js';

/** Constructor arguments of a reference class, by their own names. */
export type AnchorParams = Record<string, unknown>;

/** One reference class as this head: parameters, and the reference's names for tensors, outputs, state. */
export interface AnchorTranslation {
  params: Record<string, unknown>;
  /** Reference learnable name → our extras name (`W` means the class matrix); default `{ W: 'W' }`. */
  tensors?: Record<string, string>;
  /** Reference output name → our output (`logits`, `loss`, `cos`, `parts.<name>`); default logits and loss. */
  outputs?: Record<string, string>;
  /** Reference state name → our state field; default none. */
  state?: Record<string, string>;
}

/**
 * Translate a reference class's arguments, or `undefined` when this head does not cover those arguments
 * (NormFace covers the CosFace classes only at m = 0).
 */
export type AnchorTranslator = (p: AnchorParams) => AnchorTranslation | undefined;

/** A head's reference classes, keyed `tag:Class`. */
export type HeadAnchors = Readonly<Record<string, AnchorTranslator>>;

/** A numeric argument, or its default in the reference code; a missing required one is refused. */
export function argNumber(p: AnchorParams, key: string, fallback?: number): number {
  const v = p[key];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  throw new UnsupportedConfigError(`anchor parameter '${key}' is missing or not a number`);
}

/** A boolean argument, or its default in the reference code. */
export const argFlag = (p: AnchorParams, key: string, fallback = false): boolean =>
  typeof p[key] === 'boolean' ? (p[key] as boolean) : fallback;

/** Outputs of FaceVerLoss classes with a focal loss: logits, loss and both loss terms. */
export const FOCAL_OUTPUTS = {
  logits: 'logits',
  loss: 'loss',
  ce_loss: 'parts.ce',
  focal_loss: 'parts.focal',
};
/** Outputs of insightface's margin classes: logits, loss and the clamped input cosines. */
export const INSIGHTFACE_OUTPUTS = { logits: 'logits', loss: 'loss', cos_in: 'cos' };

/** A cosine-margin reference class read as scale, additive cosine margin and our flags. */
export interface CosineAnchor {
  scale: number;
  margin: number;
  flags: Record<string, unknown>;
  outputs?: Record<string, string>;
}

/** The reference classes with an additive cosine margin (CosFace, AM-Softmax), by their argument names. */
const COSINE_CLASSES: Record<string, (p: AnchorParams) => CosineAnchor> = {
  'cavaface-cosface:CosFace': (p) => cavafaceCosFace(p),
  'cavaface:CosFace': (p) => cavafaceCosFace(p),
  'cavaface-am_softmax:Am_softmax': (p) => cavafaceAmSoftmax(p),
  'cavaface:Am_softmax': (p) => cavafaceAmSoftmax(p),
  'facexzoo:AM_Softmax': (p) => ({
    scale: argNumber(p, 'scale', 32),
    margin: argNumber(p, 'margin', 0.35),
    flags: {},
  }),
  'faceverloss:AMSoftmax': (p) => ({
    scale: argNumber(p, 'scale'),
    margin: argNumber(p, 'margin'),
    flags: { clamp: null, weightNorm: 'overwrite', loss: 'focal' },
    outputs: FOCAL_OUTPUTS,
  }),
  'insightface:CosFace': (p) => ({
    scale: argNumber(p, 's', 64),
    margin: argNumber(p, 'm', 0.4),
    flags: { loss: 'distce' },
    outputs: INSIGHTFACE_OUTPUTS,
  }),
};

function cavafaceCosFace(p: AnchorParams): CosineAnchor {
  return { scale: argNumber(p, 's'), margin: argNumber(p, 'm'), flags: { clamp: null } };
}

function cavafaceAmSoftmax(p: AnchorParams): CosineAnchor {
  return {
    scale: argNumber(p, 's', 30),
    margin: argNumber(p, 'm', 0.35),
    flags: { normalizeEmbeddings: false },
  };
}

/**
 * Every cosine-margin reference class, translated by `translate` (the heads with an additive cosine
 * margin, and NormFace at m = 0, share these readings of the arguments).
 */
export function cosineAnchors(translate: (c: CosineAnchor) => AnchorTranslation | undefined): HeadAnchors {
  return Object.fromEntries(
    Object.entries(COSINE_CLASSES).map(([key, read]) => [key, (p: AnchorParams) => translate(read(p))]),
  );
}
