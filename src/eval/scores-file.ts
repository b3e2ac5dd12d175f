/**
 * Reader for score files: CSV with a header naming the columns `score` and `label` (any order,
 * extra columns ignored), one pair per line; score = similarity (higher means same identity),
 * label 1 = same identity, 0 = different. No quoting; blank lines are ignored.
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

/** Scores and labels read from a file, in file order. */
export interface ScoreFile {
  readonly scores: Float64Array;
  readonly labels: Uint8Array;
}

/**
 * Default size cap of a score file: 4 GiB of text holds at least 400 million pairs, more than any public
 * benchmark (IJB-C 1:1 has 15.7 million), and their arrays stay within memory (9 bytes per pair).
 */
export const SCORES_MAX_BYTES = 4096 * MiB;

/** Reads a score CSV file line by line (never as one string); errors name the path and line. */
export function readScoresFile(path: string, options: ReadOptions = {}): ScoreFile {
  const parser = scoresParser(path);
  forEachFileLine(path, lineLimits('a score CSV', SCORES_MAX_BYTES, options), parser.line);
  return parser.finish();
}

/** Parses score CSV text (see the module comment); `source` names the file in errors. */
export function parseScoresCsv(text: string, source: string): ScoreFile {
  const parser = scoresParser(source);
  forEachLine(withoutBom(text), parser.line);
  return parser.finish();
}

function scoresParser(source: string): LineParser<ScoreFile> {
  let scoreCol = -1;
  let labelCol = -1;
  let needed = 0;
  let haveHeader = false;
  let scores = new Float64Array(1024);
  let labels = new Uint8Array(1024);
  let n = 0;
  let positives = 0;
  const fields: string[] = [];

  const line = (text: string, lineNumber: number): void => {
    if (text.trim() === '') return;
    if (!haveHeader) {
      const names = text.split(',').map((h) => h.trim().toLowerCase());
      scoreCol = names.indexOf('score');
      labelCol = names.indexOf('label');
      if (scoreCol < 0 || labelCol < 0) {
        throw new CorruptFileError(
          source,
          `line ${lineNumber}: the header must name the columns "score" and "label", got ${quote(text)}`,
        );
      }
      needed = Math.max(scoreCol, labelCol) + 1;
      haveHeader = true;
      return;
    }
    // Split only as far as the columns we need.
    fields.length = 0;
    let start = 0;
    while (fields.length < needed) {
      const comma = text.indexOf(',', start);
      if (comma === -1) {
        fields.push(text.slice(start));
        break;
      }
      fields.push(text.slice(start, comma));
      start = comma + 1;
    }
    if (fields.length < needed) {
      throw new CorruptFileError(
        source,
        `line ${lineNumber}: expected at least ${needed} columns, got ${fields.length}`,
      );
    }
    const score = parseDecimal(fields[scoreCol]);
    if (score === undefined) {
      throw new CorruptFileError(
        source,
        `line ${lineNumber}: score ${quote(fields[scoreCol])} is not a finite number`,
      );
    }
    const label = fields[labelCol].trim();
    if (label !== '0' && label !== '1') {
      throw new CorruptFileError(
        source,
        `line ${lineNumber}: label ${quote(fields[labelCol])} must be 0 or 1`,
      );
    }
    if (n === scores.length) {
      const grownScores = new Float64Array(n * 2);
      grownScores.set(scores);
      scores = grownScores;
      const grownLabels = new Uint8Array(n * 2);
      grownLabels.set(labels);
      labels = grownLabels;
    }
    scores[n] = score === 0 ? 0 : score;
    labels[n] = label === '1' ? 1 : 0;
    positives += labels[n];
    n++;
  };

  const finish = (): ScoreFile => {
    if (!haveHeader)
      throw new CorruptFileError(source, 'line 1: empty file, expected the header "score,label"');
    requireBothClasses(source, positives, n - positives);
    return { scores: scores.slice(0, n), labels: labels.slice(0, n) };
  };
  return { line, finish };
}

/** Every verification metric needs same-identity and different-identity pairs. */
export function requireBothClasses(source: string, positives: number, negatives: number): void {
  if (positives === 0)
    throw new CorruptFileError(source, 'no same-identity pairs (label 1); both classes are needed');
  if (negatives === 0) {
    throw new CorruptFileError(source, 'no different-identity pairs (label 0); both classes are needed');
  }
}
