/**
 * Reader for embedding files: one embedding per line, `name,v1,v2,…,vD`. Fields may be separated by
 * commas, tabs or spaces (names therefore contain none of them); blank lines and lines starting
 * with `#` are ignored; every line must have the same dimension D. A trailing image extension on
 * the name (`.jpg`, `.jpeg`, `.png`, `.bmp`) is dropped, so `Abel_Pacheco/Abel_Pacheco_0001.jpg`
 * and `Abel_Pacheco/Abel_Pacheco_0001` name the same image.
 */
import { CorruptFileError } from '../errors.js';
import { forEachLine, parseDecimal, quote, readText } from './read-file.js';

/** Embeddings by image identifier. */
export interface EmbeddingTable {
  readonly dim: number;
  /** Identifiers in file order. */
  readonly names: readonly string[];
  /** Embeddings in file order. */
  readonly vectors: readonly Float32Array[];
  /** Identifier → position in {@link names}. */
  readonly index: ReadonlyMap<string, number>;
}

const IMAGE_EXTENSION = /\.(?:jpe?g|png|bmp)$/i;

/** Drops a trailing image extension from an identifier. */
export function imageId(name: string): string {
  return name.replace(IMAGE_EXTENSION, '');
}

/** Reads an embeddings file; errors name the path and line. */
export function readEmbeddingsFile(path: string): EmbeddingTable {
  return parseEmbeddings(readText(path), path);
}

/** Parses embeddings text (see the module comment); `source` names the file in errors. */
export function parseEmbeddings(text: string, source: string): EmbeddingTable {
  const names: string[] = [];
  const vectors: Float32Array[] = [];
  const index = new Map<string, number>();
  let dim = -1;
  forEachLine(text, (raw, lineNumber) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/[\s,]+/);
    const name = imageId(fields[0]);
    const d = fields.length - 1;
    if (d === 0) throw new CorruptFileError(source, `line ${lineNumber}: ${quote(fields[0])} has no values`);
    if (dim < 0) dim = d;
    else if (d !== dim) {
      throw new CorruptFileError(
        source,
        `line ${lineNumber}: expected ${dim} values (as the first line), got ${d}`,
      );
    }
    const v = new Float32Array(d);
    for (let c = 0; c < d; c++) {
      const x = parseDecimal(fields[c + 1]);
      if (x === undefined) {
        throw new CorruptFileError(
          source,
          `line ${lineNumber}, column ${c + 2}: ${quote(fields[c + 1])} is not a finite number`,
        );
      }
      v[c] = x;
    }
    const previous = index.get(name);
    if (previous !== undefined) {
      throw new CorruptFileError(
        source,
        `line ${lineNumber}: ${quote(name)} already appeared earlier in the file`,
      );
    }
    index.set(name, names.length);
    names.push(name);
    vectors.push(v);
  });
  if (names.length === 0) throw new CorruptFileError(source, 'no embeddings found');
  return { dim, names, vectors, index };
}
