/**
 * TAR at low FAR over every pair of held-out images: the face-verification papers rank heads by the
 * true accept rate at a fixed, small false accept rate (IJB-B/C report TAR@FAR = 1e-4 … 1e-6). A
 * margin tightens each class and widens the gaps between classes, which shows at low FAR long before
 * it moves the best-threshold accuracy of a small balanced pair sample. Every pair is used, so the
 * estimate is not a sample of a sample: 1,600 images give 1.28 M pairs, about 128 k of them genuine.
 */
import { farLabel, tarAtFar } from '../eval/index.js';
import { createRng } from '../rng.js';
import type { Embedded } from './evaluate.js';

/** The FARs the held-out evaluation reports. */
export const HELDOUT_FAR_TARGETS: readonly number[] = [1e-2, 1e-3];

/**
 * Images beyond this are sampled (seeded) down to it: all pairs of 3,000 images are 4.5 M scores
 * (36 MB of doubles), a bound that keeps a per-epoch evaluation within a second.
 */
export const ALL_PAIRS_MAX_IMAGES = 3000;

/** TAR at one FAR, or undefined when the impostor pairs are too few to resolve that FAR. */
export interface HeldOutTar {
  far: number;
  tar: number | undefined;
}

/** Unit rows of the embeddings (zero rows stay zero: their cosine with anything is 0). */
function unitRows(e: Embedded, rows: Uint32Array): Float64Array {
  const out = new Float64Array(rows.length * e.dim);
  for (let r = 0; r < rows.length; r++) {
    const src = rows[r] * e.dim;
    let norm = 0;
    for (let k = 0; k < e.dim; k++) norm += e.embeddings[src + k] ** 2;
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let k = 0; k < e.dim; k++) out[r * e.dim + k] = e.embeddings[src + k] * inv;
  }
  return out;
}

/** The images used: all of them, or a seeded sample of `maxImages` in their original order. */
function chooseRows(n: number, maxImages: number, seed: number): Uint32Array {
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  if (n <= maxImages) return all;
  const rng = createRng(seed);
  for (let i = 0; i < maxImages; i++) {
    const j = i + rng.int(n - i);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.subarray(0, maxImages).sort();
}

/**
 * TAR at each of `targets` over every pair (i < j) of the held-out embeddings, by cosine similarity.
 * Returns undefined TARs when there are no genuine or no impostor pairs.
 */
export function allPairsTar(
  e: Embedded,
  targets: readonly number[] = HELDOUT_FAR_TARGETS,
  options: { maxImages?: number; seed?: number } = {},
): HeldOutTar[] {
  const rows = chooseRows(e.labels.length, options.maxImages ?? ALL_PAIRS_MAX_IMAGES, options.seed ?? 0);
  const n = rows.length;
  const unit = unitRows(e, rows);
  const count = (n * (n - 1)) / 2;
  const scores = new Float64Array(count);
  const same = new Uint8Array(count);
  let p = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < e.dim; k++) dot += unit[i * e.dim + k] * unit[j * e.dim + k];
      scores[p] = dot;
      same[p++] = e.labels[rows[i]] === e.labels[rows[j]] ? 1 : 0;
    }
  }
  let genuine = 0;
  for (let q = 0; q < count; q++) genuine += same[q];
  if (genuine === 0 || genuine === count) return targets.map((far) => ({ far, tar: undefined }));
  const found = tarAtFar({ scores, labels: same }, targets);
  return targets.map((far) => ({ far, tar: found.find((f) => f.far === far)?.tar }));
}

/** "TAR@FAR 1e-2 93.10%  1e-3 51.94%" (a dash where the FAR could not be resolved). */
export function formatTar(tars: readonly HeldOutTar[]): string {
  const cells = tars.map(
    (t) => `${farLabel(t.far)} ${t.tar === undefined ? '–' : `${(100 * t.tar).toFixed(2)}%`}`,
  );
  return `TAR@FAR ${cells.join('  ')}`;
}
