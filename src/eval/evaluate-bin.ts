/**
 * Verification on an insightface `.bin` set with a caller-supplied embedding function and flip
 * test-time augmentation, as insightface's `verification.py`: each image's embedding is
 * `normalize(emb(img) + emb(flip(img)))`, and pair i scores the cosine similarity of images 2i and
 * 2i+1.
 *
 * Decoding is left to the callback: it receives the encoded image bytes and whether to mirror them
 * horizontally, so this module needs no image library.
 */
import { InvalidArgumentError, NonFiniteError, ShapeMismatchError } from '../errors.js';
import type { VerificationBin } from './bin-file.js';
import { rankScores } from './ranked.js';
import { evaluateVerification, type VerificationOptions, type VerificationReport } from './verification.js';

/** Options passed to a {@link BinEmbedder} with each batch. */
export interface EmbedRequest {
  /** When true, embed the horizontally mirrored images. */
  readonly flip: boolean;
}

/**
 * Embeds a batch of encoded images (JPEG/PNG bytes): decode, mirror when `request.flip` is set,
 * run the model, and return one embedding per image, in order, all of the same length.
 */
export type BinEmbedder = (
  images: readonly Uint8Array[],
  request: EmbedRequest,
) => Promise<readonly ArrayLike<number>[]>;

/** Loads a trained run (a run directory or checkpoint path) as a {@link BinEmbedder}. */
export type ModelLoader = (run: string) => Promise<BinEmbedder>;

/** Options of {@link evaluateBin}. */
export interface EvaluateBinOptions extends VerificationOptions {
  /** Images per call of the embedder (default 64). */
  readonly batchSize?: number;
  /** Add the embedding of the mirrored image before normalising (default true, as insightface). */
  readonly flip?: boolean;
}

/** Result of {@link evaluateBin}. */
export interface BinEvaluation {
  readonly report: VerificationReport;
  /** Cosine similarity of each pair, in file order. */
  readonly scores: Float64Array;
  /** Embedding dimension returned by the embedder. */
  readonly dim: number;
}

/** Embeds every image of `bin` (with flip TTA unless disabled) and reports the verification metrics. */
export async function evaluateBin(
  bin: VerificationBin,
  embed: BinEmbedder,
  options: EvaluateBinOptions = {},
): Promise<BinEvaluation> {
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InvalidArgumentError('batchSize', 'a positive integer', batchSize);
  }
  if (typeof embed !== 'function') throw new InvalidArgumentError('embed', 'a function', embed);
  const { images, issame } = bin;
  if (images.length !== 2 * issame.length) {
    throw new ShapeMismatchError(
      'bin.images',
      `length ${2 * issame.length} (two per pair)`,
      `length ${images.length}`,
    );
  }
  const flip = options.flip ?? true;
  let dim = -1;
  let units = new Float32Array(0);

  for (let start = 0; start < images.length; start += batchSize) {
    const batch = images.slice(start, start + batchSize);
    const plain = await embed(batch, { flip: false });
    const mirrored = flip ? await embed(batch, { flip: true }) : undefined;
    for (const [result, name] of [
      [plain, 'embed(images, { flip: false })'],
      [mirrored, 'embed(images, { flip: true })'],
    ] as const) {
      if (result === undefined) continue;
      if (!Array.isArray(result) || result.length !== batch.length) {
        throw new ShapeMismatchError(
          name,
          `${batch.length} embeddings (one per image)`,
          describeResult(result),
        );
      }
    }
    if (dim < 0) {
      dim = plain[0].length;
      if (!(dim > 0)) throw new InvalidArgumentError('embed', 'embeddings with at least one value', dim);
      units = new Float32Array(images.length * dim);
    }
    for (let b = 0; b < batch.length; b++) {
      const image = start + b;
      const a = plain[b];
      const m = mirrored?.[b];
      if (a.length !== dim || (m !== undefined && m.length !== dim)) {
        throw new ShapeMismatchError(
          `embedding of image ${image}`,
          `length ${dim}`,
          `length ${m && m.length !== dim ? m.length : a.length}`,
        );
      }
      const o = image * dim;
      let sq = 0;
      for (let d = 0; d < dim; d++) {
        const v = m === undefined ? a[d] : a[d] + m[d];
        units[o + d] = v;
        sq += v * v;
      }
      if (!Number.isFinite(sq)) throw new NonFiniteError('embed', `the embedding of image ${image}`);
      if (sq === 0)
        throw new InvalidArgumentError(`embedding of image ${image}`, 'a non-zero vector', 'all zeros');
      const inv = 1 / Math.sqrt(sq);
      for (let d = 0; d < dim; d++) units[o + d] *= inv;
    }
  }

  const scores = new Float64Array(issame.length);
  for (let p = 0; p < issame.length; p++) {
    const a = 2 * p * dim;
    const b = a + dim;
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += units[a + d] * units[b + d];
    scores[p] = dot;
  }
  const report = evaluateVerification(rankScores(scores, issame), options);
  return { report, scores, dim };
}

function describeResult(result: unknown): string {
  return Array.isArray(result) ? `${result.length} embeddings` : typeof result;
}
