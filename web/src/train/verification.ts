/**
 * Verification on the held-out digits, as a face-verification benchmark scores it: every pair of the
 * first digits is a genuine pair (same digit) or an impostor pair, scored by the cosine of their
 * embeddings; the TAR at a low FAR comes from the library's own `tarAtFar`.
 */
import { tarAtFar } from '../../../src/eval/tar-at-far.js';

/**
 * The FAR the panels report the TAR at. Ten classes in a plane sit 36° apart, so neighbouring digits
 * always give some close impostor pairs: after 200 steps Softmax, ArcFace and CosFace reach a TAR of
 * 3–4 % at 1e-3 but 20–34 % at 1e-2, where the heads differ visibly.
 */
export const VERIFY_FAR = 1e-2;

/** Digits paired (250 give 31,125 pairs, about 28,000 impostors: enough to resolve 1e-3). */
export const VERIFY_DIGITS = 250;

/** TAR at `far` over all pairs of the first `count` rows of `embeddings` (count × dim, row-major). */
export function tarAtLowFar(
  embeddings: Float32Array,
  labels: Uint8Array,
  dim: number,
  count = VERIFY_DIGITS,
  far = VERIFY_FAR,
): number {
  const n = Math.min(count, labels.length);
  const unit = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += embeddings[i * dim + d] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < dim; d++) unit[i * dim + d] = embeddings[i * dim + d] / norm;
  }
  const pairs = (n * (n - 1)) / 2;
  const scores = new Float64Array(pairs);
  const same = new Uint8Array(pairs);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += unit[i * dim + d] * unit[j * dim + d];
      scores[k] = dot;
      same[k] = labels[i] === labels[j] ? 1 : 0;
      k++;
    }
  }
  return tarAtFar({ scores, labels: same }, [far])[0]?.tar ?? 0;
}
