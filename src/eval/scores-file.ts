/**
 * Reader for score files: CSV with a header naming the columns `score` and `label` (any order,
 * extra columns ignored), one pair per line; score = similarity (higher means same identity),
 * label 1 = same identity, 0 = different. No quoting; blank lines are ignored.
 */
import { CorruptFileError } from '../errors.js';
import { forEachLine, parseDecimal, quote, readText } from './read-file.js';

/** Scores and labels read from a file, in file order. */
export interface ScoreFile {
  readonly scores: Float64Array;
  readonly labels: Uint8Array;
}

/** Reads a score CSV file; errors name the path and line. */
export function readScoresFile(path: string): ScoreFile {
  return parseScoresCsv(readText(path), path);
}

/** Parses score CSV text (see the module comment); `source` names the file in errors. */
export function parseScoresCsv(text: string, source: string): ScoreFile {
  let scoreCol = -1;
  let labelCol = -1;
  let needed = 0;
  let haveHeader = false;
  let scores = new Float64Array(1024);
  let labels = new Uint8Array(1024);
  let n = 0;
  let positives = 0;
  const fields: string[] = [];

  forEachLine(text, (line, lineNumber) => {
    if (line.trim() === '') return;
    if (!haveHeader) {
      const names = line.split(',').map((h) => h.trim().toLowerCase());
      scoreCol = names.indexOf('score');
      labelCol = names.indexOf('label');
      if (scoreCol < 0 || labelCol < 0) {
        throw new CorruptFileError(
          source,
          `line ${lineNumber}: the header must name the columns "score" and "label", got ${quote(line)}`,
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
      const comma = line.indexOf(',', start);
      if (comma === -1) {
        fields.push(line.slice(start));
        break;
      }
      fields.push(line.slice(start, comma));
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
  });

  if (!haveHeader)
    throw new CorruptFileError(source, 'line 1: empty file, expected the header "score,label"');
  requireBothClasses(source, positives, n - positives);
  return { scores: scores.slice(0, n), labels: labels.slice(0, n) };
}

/** Every verification metric needs same-identity and different-identity pairs. */
export function requireBothClasses(source: string, positives: number, negatives: number): void {
  if (positives === 0)
    throw new CorruptFileError(source, 'no same-identity pairs (label 1); both classes are needed');
  if (negatives === 0) {
    throw new CorruptFileError(source, 'no different-identity pairs (label 0); both classes are needed');
  }
}
