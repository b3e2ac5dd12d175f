/**
 * Reference implementations ("anchors") expressed as our heads and flags.
 *
 * `fromAnchor` translates an anchor class's constructor arguments into a head name and parameters, so
 * that our head computes exactly what that class computes. It is how the conformance runner builds
 * heads from a fixture, and how a user reproduces a particular codebase's behaviour. Each head lists the
 * classes it reproduces, with their argument translation, in its own `anchors` field.
 */
import { UnsupportedConfigError } from '../errors.js';
import type { AnchorParams, AnchorTranslation, AnchorTranslator } from '../heads/anchor.js';
import { headDefinition, headNames } from '../heads/registry.js';

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

function mapping(head: string, t: AnchorTranslation): AnchorMapping {
  return {
    head,
    params: t.params,
    tensors: t.tensors ?? { W: 'W' },
    outputs: t.outputs ?? { logits: 'logits', loss: 'loss' },
    state: t.state ?? {},
  };
}

/** The registered heads that translate a reference class (an alias sharing a translation counts once). */
function translatorsOf(key: string): { head: string; translate: AnchorTranslator }[] {
  const seen = new Set<AnchorTranslator>();
  const found: { head: string; translate: AnchorTranslator }[] = [];
  for (const head of headNames) {
    const translate = headDefinition(head).anchors?.[key];
    if (translate === undefined || seen.has(translate)) continue;
    seen.add(translate);
    found.push({ head, translate });
  }
  return found;
}

/**
 * Translate an anchor (by its tag, e.g. `cavaface`, `facexzoo`, `insightface`, `faceverloss`, and class
 * name) and its constructor arguments into our head and parameters.
 * `head` is the family the anchor class is used for: a class reproduced by several heads (the CosFace
 * classes also give NormFace at m = 0) is translated by that head first; otherwise by the one head
 * that covers these arguments.
 */
export function fromAnchor(head: string, tag: string, cls: string, p: AnchorParams): AnchorMapping {
  const key = `${tag}:${cls}`;
  const own = headNames.includes(head) ? headDefinition(head).anchors?.[key]?.(p) : undefined;
  if (own) return mapping(head, own);
  const covering = translatorsOf(key).flatMap(({ head: h, translate }) => {
    const t = translate(p);
    return t ? [mapping(h, t)] : [];
  });
  if (covering.length === 1) return covering[0];
  if (covering.length > 1)
    throw new UnsupportedConfigError(
      `reference class ${cls} (${tag}) is reproduced by ${covering.map((m) => m.head).join(', ')}: name one as the head`,
    );
  throw new UnsupportedConfigError(`no mapping for reference class ${cls} (${tag}) of head ${head}`);
}
