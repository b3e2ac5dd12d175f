/** Cosine similarity and L2 normalisation of embeddings. */
import { InvalidArgumentError, NonFiniteError, ShapeMismatchError } from '../errors.js';

/** An embedding vector. */
export type Embedding = ArrayLike<number>;

/**
 * Cosine similarity of two embeddings of the same length. Throws when either has zero norm or a
 * non-finite entry, since the similarity is then undefined. `name` labels the arguments in errors.
 */
export function cosineSimilarity(a: Embedding, b: Embedding, name = 'embeddings'): number {
  if (a.length !== b.length) {
    throw new ShapeMismatchError(
      name,
      `two vectors of the same length`,
      `lengths ${a.length} and ${b.length}`,
    );
  }
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const z = b[i];
    dot += x * z;
    aa += x * x;
    bb += z * z;
  }
  if (!Number.isFinite(dot + aa + bb)) throw new NonFiniteError(name, 'a vector entry');
  if (aa === 0 || bb === 0) throw new InvalidArgumentError(name, 'non-zero vectors', 'a zero vector');
  return dot / Math.sqrt(aa * bb);
}

/**
 * Returns `v / ‖v‖₂` as a new Float32Array. Throws for a zero or non-finite vector; `name` labels it
 * in errors.
 */
export function l2Normalize(v: Embedding, name = 'embedding'): Float32Array {
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += v[i] * v[i];
  if (!Number.isFinite(sq)) throw new NonFiniteError(name, 'a vector entry');
  if (sq === 0) throw new InvalidArgumentError(name, 'a non-zero vector', 'a zero vector');
  const inv = 1 / Math.sqrt(sq);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * inv;
  return out;
}

/**
 * Cosine similarity of each pair `(embeddings[first[i]], embeddings[second[i]])`, e.g. for an
 * embeddings table and the index pairs of a pairs file. Computed in float64 as
 * `a·b / (‖a‖‖b‖)`, with each embedding's norm computed once even when it appears in many pairs.
 */
export function pairSimilarities(
  embeddings: readonly Embedding[],
  first: ArrayLike<number>,
  second: ArrayLike<number>,
): Float64Array {
  if (first.length !== second.length) {
    throw new ShapeMismatchError(
      'second',
      `length ${first.length} (the length of first)`,
      `length ${second.length}`,
    );
  }
  const count = embeddings.length;
  const dim = count > 0 ? embeddings[0].length : 0;
  const norms = new Float64Array(count).fill(-1); // −1: not computed yet
  const norm = (i: number, arg: string, p: number): number => {
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      throw new InvalidArgumentError(`${arg}[${p}]`, `an index into embeddings (0…${count - 1})`, i);
    }
    if (norms[i] < 0) {
      const e = embeddings[i];
      if (e.length !== dim)
        throw new ShapeMismatchError(`embeddings[${i}]`, `length ${dim}`, `length ${e.length}`);
      let sq = 0;
      for (let d = 0; d < dim; d++) sq += e[d] * e[d];
      if (!Number.isFinite(sq)) throw new NonFiniteError(`embeddings[${i}]`, 'a vector entry');
      if (sq === 0) throw new InvalidArgumentError(`embeddings[${i}]`, 'a non-zero vector', 'a zero vector');
      norms[i] = Math.sqrt(sq);
    }
    return norms[i];
  };
  const out = new Float64Array(first.length);
  for (let p = 0; p < first.length; p++) {
    const i = first[p];
    const j = second[p];
    const scale = norm(i, 'first', p) * norm(j, 'second', p);
    const a = embeddings[i];
    const b = embeddings[j];
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += a[d] * b[d];
    out[p] = dot / scale;
  }
  return out;
}
