/**
 * Reader for embedding files: one embedding per line, `name,v1,v2,…,vD`. Fields may be separated by
 * commas, tabs or spaces (names therefore contain none of them); blank lines and lines starting
 * with `#` are ignored; every line must have the same dimension D. A trailing image extension on
 * the name (`.jpg`, `.jpeg`, `.png`, `.bmp`) is dropped, so `Abel_Pacheco/Abel_Pacheco_0001.jpg`
 * and `Abel_Pacheco/Abel_Pacheco_0001` name the same image.
 */
import { CorruptFileError } from '../errors.js';
import { forEachFileLine, MiB } from '../regular-file.js';
import {
  forEachLine,
  type LineParser,
  lineLimits,
  parseDecimal,
  quote,
  type ReadOptions,
  withoutBom,
} from './read-file.js';

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

/**
 * Default size cap of an embeddings file: values are stored as float32 (4 bytes against about 10 bytes
 * of text each), so 2 GiB of text needs under 1 GiB of memory.
 */
export const EMBEDDINGS_MAX_BYTES = 2048 * MiB;

/** Reads an embeddings file line by line; errors name the path and line. */
export function readEmbeddingsFile(path: string, options: ReadOptions = {}): EmbeddingTable {
  const parser = embeddingsParser(path);
  forEachFileLine(path, lineLimits('an embeddings file', EMBEDDINGS_MAX_BYTES, options), parser.line);
  return parser.finish();
}

/** Parses embeddings text (see the module comment); `source` names the file in errors. */
export function parseEmbeddings(text: string, source: string): EmbeddingTable {
  const parser = embeddingsParser(source);
  forEachLine(withoutBom(text), parser.line);
  return parser.finish();
}

function embeddingsParser(source: string): LineParser<EmbeddingTable> {
  const names: string[] = [];
  const vectors: Float32Array[] = [];
  const index = new Map<string, number>();
  let dim = -1;
  const line = (raw: string, lineNumber: number): void => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/[\s,]+/);
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
      // Checked here, where the file and line are known: as float32, 1e53 would become Infinity and
      // only fail later, in a metric that cannot say where it came from.
      if (!Number.isFinite(Math.fround(x))) {
        throw new CorruptFileError(
          source,
          `line ${lineNumber}, column ${c + 2}: ${quote(fields[c + 1])} is outside the float32 range (|v| ≤ 3.4e38)`,
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
  };
  const finish = (): EmbeddingTable => {
    if (names.length === 0) throw new CorruptFileError(source, 'no embeddings found');
    return { dim, names, vectors, index };
  };
  return { line, finish };
}
