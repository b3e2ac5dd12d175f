/**
 * Held-out evaluation of a backbone: embed every held-out image (no margin, evaluation mode), then
 * verify balanced same/different pairs by cosine similarity (10-fold accuracy, AUC, EER), and every pair
 * for TAR at low FAR (see all-pairs.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { type Dataset, verificationPairs } from '../data/index.js';
import { evaluateVerification, pairSimilarities } from '../eval/index.js';
import { allPairsTar, type HeldOutTar } from './all-pairs.js';

/** Embeddings of a dataset, row-major N×D, with their labels. */
export interface Embedded {
  embeddings: Float32Array;
  labels: Int32Array;
  dim: number;
}

/** Embed every sample of `data` with `backbone` in batches. */
export async function embedDataset(
  backbone: tf.LayersModel,
  data: Dataset,
  batch: number,
): Promise<Embedded> {
  const size = data.size ?? 0;
  const dim = (backbone.outputs[0].shape[1] as number) ?? 0;
  const embeddings = new Float32Array(size * dim);
  const labels = new Int32Array(size);
  const { height, width, channels } = data.shape;
  let n = 0;
  for await (const b of data.batches({ batchSize: batch, shuffle: false, prefetch: 1 })) {
    const out = tf.tidy(() => {
      const x = tf.tensor4d(b.images, [b.size, height, width, channels]);
      return backbone.apply(x, { training: false }) as tf.Tensor;
    });
    embeddings.set(await out.data(), n * dim);
    out.dispose();
    labels.set(b.labels, n);
    n += b.size;
  }
  return { embeddings, labels, dim };
}

/** Verification metrics of held-out embeddings plus the pair scores (for scores.csv). */
export interface HeldOutVerification {
  accuracy: number;
  accuracyStd: number;
  auc: number;
  eer: number;
  pairs: number;
  /** TAR at HELDOUT_FAR_TARGETS over every held-out pair. */
  tarAtFar: HeldOutTar[];
  scores: Float64Array;
  same: Uint8Array;
}

/**
 * Balanced pairs (seeded) over the held-out labels, cosine similarity, 10-fold accuracy, AUC and EER;
 * TAR at low FAR over all pairs.
 */
export function verifyHeldOut(e: Embedded, pairs: number, seed: number): HeldOutVerification {
  const p = verificationPairs(e.labels, { pairs, seed });
  const rows = Array.from({ length: e.labels.length }, (_, i) =>
    e.embeddings.subarray(i * e.dim, (i + 1) * e.dim),
  );
  const scores = Float64Array.from(pairSimilarities(rows, p.first, p.second));
  const report = evaluateVerification({ scores, labels: p.same });
  return {
    accuracy: report.accuracy,
    accuracyStd: report.accuracyStd,
    auc: report.auc,
    eer: report.eer,
    pairs,
    tarAtFar: allPairsTar(e, undefined, { seed }),
    scores,
    same: p.same,
  };
}
