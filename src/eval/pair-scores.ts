/** Scores for a list of image pairs from an embeddings table. */
import { CorruptFileError } from '../errors.js';
import { pairSimilarities } from './cosine.js';
import type { EmbeddingTable } from './embeddings-file.js';
import type { ImagePair } from './pairs-file.js';

/** Where the pairs and embeddings came from, for error messages. */
export interface PairSources {
  readonly pairs: string;
  readonly embeddings: string;
}

/**
 * Cosine similarity of each pair's embeddings, with label 1 for same-identity pairs. An identifier
 * is looked up as written (`name/name_0001`) and then by its file name alone (`name_0001`), for
 * tables keyed without the directory.
 */
export function scorePairs(
  pairs: readonly ImagePair[],
  table: EmbeddingTable,
  sources: PairSources = { pairs: 'pairs', embeddings: 'embeddings' },
): { scores: Float64Array; labels: Uint8Array } {
  const first = new Uint32Array(pairs.length);
  const second = new Uint32Array(pairs.length);
  const labels = new Uint8Array(pairs.length);
  const checked = new Uint8Array(table.vectors.length);
  const find = (id: string, line: number): number => {
    let at = table.index.get(id);
    if (at === undefined) at = table.index.get(id.slice(id.lastIndexOf('/') + 1));
    if (at === undefined) {
      throw new CorruptFileError(
        sources.pairs,
        `line ${line}: no embedding for "${id}" in ${sources.embeddings}`,
      );
    }
    // A zero vector has no direction: report it against the file rather than as a bad argument.
    if (!checked[at]) {
      if (table.vectors[at].every((v) => v === 0)) {
        throw new CorruptFileError(sources.embeddings, `the embedding of "${table.names[at]}" is all zeros`);
      }
      checked[at] = 1;
    }
    return at;
  };
  pairs.forEach((p, i) => {
    first[i] = find(p.first, p.line);
    second[i] = find(p.second, p.line);
    labels[i] = p.same ? 1 : 0;
  });
  return { scores: pairSimilarities(table.vectors, first, second), labels };
}
