/**
 * Closed-set identification: each probe is compared with every gallery embedding by cosine
 * similarity, gallery identities are ranked by their best similarity, and the rank of the probe's
 * true identity feeds the CMC curve.
 */
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { type Embedding, l2Normalize } from './cosine.js';

/** An identity label: any string or number; equal labels are the same person. */
export type IdentityLabel = string | number;

/** Gallery and probe embeddings with their identities. */
export interface IdentificationInput {
  readonly gallery: readonly Embedding[];
  readonly galleryLabels: readonly IdentityLabel[];
  readonly probes: readonly Embedding[];
  readonly probeLabels: readonly IdentityLabel[];
}

/** Result of {@link identify}. */
export interface IdentificationResult {
  /** Fraction of probes whose identity is ranked first. */
  readonly rank1: number;
  /** Fraction of probes whose identity is among the first five (or all, if fewer identities). */
  readonly rank5: number;
  /** `cmc[r]` = fraction of probes whose identity is ranked r+1 or better; length = gallery identities. */
  readonly cmc: Float64Array;
  /** Rank (1-based) of each probe's true identity. */
  readonly ranks: Uint32Array;
  readonly probes: number;
  readonly identities: number;
}

/**
 * Rank-1, rank-5 and the CMC curve. For a probe, each gallery identity scores its best cosine
 * similarity over its gallery embeddings; the probe's rank is 1 + the number of other identities
 * scoring at least as high as its true identity (ties count against the probe, so constant
 * embeddings never look perfect). Every probe identity must occur in the gallery.
 */
export function identify(input: IdentificationInput): IdentificationResult {
  const { gallery, galleryLabels, probes, probeLabels } = input;
  if (gallery.length === 0) throw new InvalidArgumentError('gallery', 'at least one embedding', gallery);
  if (probes.length === 0) throw new InvalidArgumentError('probes', 'at least one embedding', probes);
  if (galleryLabels.length !== gallery.length) {
    throw new ShapeMismatchError(
      'galleryLabels',
      `length ${gallery.length}`,
      `length ${galleryLabels.length}`,
    );
  }
  if (probeLabels.length !== probes.length) {
    throw new ShapeMismatchError('probeLabels', `length ${probes.length}`, `length ${probeLabels.length}`);
  }
  const dim = gallery[0].length;
  const G = gallery.length;
  const unitGallery = new Float32Array(G * dim);
  const identityIndex = new Map<IdentityLabel, number>();
  const identityOf = new Uint32Array(G);
  for (let g = 0; g < G; g++) {
    if (gallery[g].length !== dim)
      throw new ShapeMismatchError(`gallery[${g}]`, `length ${dim}`, `length ${gallery[g].length}`);
    unitGallery.set(l2Normalize(gallery[g], `gallery[${g}]`), g * dim);
    let id = identityIndex.get(galleryLabels[g]);
    if (id === undefined) {
      id = identityIndex.size;
      identityIndex.set(galleryLabels[g], id);
    }
    identityOf[g] = id;
  }
  const I = identityIndex.size;
  const best = new Float64Array(I);
  const ranks = new Uint32Array(probes.length);
  const histogram = new Float64Array(I + 1);
  for (let p = 0; p < probes.length; p++) {
    if (probes[p].length !== dim)
      throw new ShapeMismatchError(`probes[${p}]`, `length ${dim}`, `length ${probes[p].length}`);
    const truth = identityIndex.get(probeLabels[p]);
    if (truth === undefined) {
      throw new InvalidArgumentError(
        `probeLabels[${p}]`,
        'an identity present in the gallery',
        probeLabels[p],
      );
    }
    const q = l2Normalize(probes[p], `probes[${p}]`);
    best.fill(Number.NEGATIVE_INFINITY);
    for (let g = 0; g < G; g++) {
      let dot = 0;
      const o = g * dim;
      for (let d = 0; d < dim; d++) dot += q[d] * unitGallery[o + d];
      const id = identityOf[g];
      if (dot > best[id]) best[id] = dot;
    }
    let rank = 1;
    const target = best[truth];
    for (let i = 0; i < I; i++) if (i !== truth && best[i] >= target) rank++;
    ranks[p] = rank;
    histogram[rank]++;
  }
  const cmc = new Float64Array(I);
  let cumulative = 0;
  for (let r = 1; r <= I; r++) {
    cumulative += histogram[r];
    cmc[r - 1] = cumulative / probes.length;
  }
  return { rank1: cmc[0], rank5: cmc[Math.min(5, I) - 1], cmc, ranks, probes: probes.length, identities: I };
}
