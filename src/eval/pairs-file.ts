/**
 * Reader for LFW-style pairs files (`pairs.txt`, `pairsDevTest.txt`).
 *
 * The first line is a header: either `folds pairsPerClassPerFold` (pairs.txt: `10 300`, then ten
 * blocks of 300 same pairs followed by 300 different pairs) or a single count N (the dev files:
 * N same pairs, then N different pairs). Then one pair per line, fields separated by tabs or spaces:
 * `name i j` is a same-identity pair, `name1 i name2 j` a different-identity pair. Image numbers are
 * 1-based, and image i of `name` is identified as `name/name_000i` (four digits), as in LFW.
 */
import { CorruptFileError } from '../errors.js';
import { forEachFileLine, MiB } from '../regular-file.js';
import {
  forEachLine,
  type LineParser,
  lineLimits,
  quote,
  type ReadOptions,
  withoutBom,
} from './read-file.js';
import { requireBothClasses } from './scores-file.js';

/** One pair of image identifiers. */
export interface ImagePair {
  readonly first: string;
  readonly second: string;
  /** True for a same-identity pair. */
  readonly same: boolean;
  /** 1-based line number in the pairs file (for error messages). */
  readonly line: number;
}

/** LFW image identifier: image `index` of `name` → `name/name_000index`. */
export function lfwImageId(name: string, index: number): string {
  return `${name}/${name}_${String(index).padStart(4, '0')}`;
}

/**
 * Default size cap of a pairs file: each pair becomes an object with two strings (about 200 bytes in
 * memory), so 512 MiB (some 20 million pairs) stays within a few GiB.
 */
export const PAIRS_MAX_BYTES = 512 * MiB;

/** Reads a pairs file line by line; errors name the path and line. */
export function readPairsFile(path: string, options: ReadOptions = {}): ImagePair[] {
  const parser = pairsParser(path);
  forEachFileLine(path, lineLimits('a pairs file', PAIRS_MAX_BYTES, options), parser.line);
  return parser.finish();
}

/** Parses pairs text (see the module comment); `source` names the file in errors. */
export function parsePairs(text: string, source: string): ImagePair[] {
  const parser = pairsParser(source);
  forEachLine(withoutBom(text), parser.line);
  return parser.finish();
}

function pairsParser(source: string): LineParser<ImagePair[]> {
  const pairs: ImagePair[] = [];
  let expected = -1;
  let headerLine = 0;
  let positives = 0;
  const line = (raw: string, lineNumber: number): void => {
    const trimmed = raw.trim();
    if (trimmed === '') return;
    const fields = trimmed.split(/\s+/);
    if (expected < 0) {
      const counts = fields.map(parseCount);
      if ((fields.length !== 1 && fields.length !== 2) || counts.some((c) => c === undefined)) {
        throw new CorruptFileError(
          source,
          `line ${lineNumber}: expected a header "folds pairsPerFold" or "count", got ${quote(raw)}`,
        );
      }
      // `10 300` means 10 folds × (300 same + 300 different); a single N means N same + N different.
      expected = fields.length === 2 ? 2 * counts[0]! * counts[1]! : 2 * counts[0]!;
      headerLine = lineNumber;
      return;
    }
    let pair: ImagePair;
    if (fields.length === 3) {
      const [name, i, j] = fields;
      pair = {
        first: lfwImageId(name, index(i, lineNumber)),
        second: lfwImageId(name, index(j, lineNumber)),
        same: true,
        line: lineNumber,
      };
      positives++;
    } else if (fields.length === 4) {
      const [a, i, b, j] = fields;
      pair = {
        first: lfwImageId(a, index(i, lineNumber)),
        second: lfwImageId(b, index(j, lineNumber)),
        same: false,
        line: lineNumber,
      };
    } else {
      throw new CorruptFileError(
        source,
        `line ${lineNumber}: expected "name i j" or "name1 i name2 j", got ${fields.length} fields`,
      );
    }
    // Stop at the first pair too many rather than read the rest of a huge file.
    if (pairs.length === expected) {
      throw new CorruptFileError(
        source,
        `line ${lineNumber}: the header (line ${headerLine}) announces ${expected} pairs, this is one more`,
      );
    }
    pairs.push(pair);
  };

  const finish = (): ImagePair[] => {
    if (expected < 0)
      throw new CorruptFileError(source, 'line 1: empty file, expected a header such as "10 300"');
    if (pairs.length !== expected) {
      throw new CorruptFileError(
        source,
        `line ${headerLine}: the header announces ${expected} pairs but the file has ${pairs.length}`,
      );
    }
    requireBothClasses(source, positives, pairs.length - positives);
    return pairs;
  };
  return { line, finish };

  function index(field: string, lineNumber: number): number {
    const v = parseCount(field);
    if (v === undefined || v === 0) {
      throw new CorruptFileError(
        source,
        `line ${lineNumber}: image number ${quote(field)} is not a positive integer`,
      );
    }
    return v;
  }
}

function parseCount(field: string): number | undefined {
  return /^\d{1,9}$/.test(field) ? Number(field) : undefined;
}
