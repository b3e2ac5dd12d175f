/** File reading shared by the evaluation readers: every failure becomes a {@link CorruptFileError}. */
import { readFileSync } from 'node:fs';
import { CorruptFileError } from '../errors.js';

/** Reads a whole file; a missing or unreadable file is reported with its path. */
export function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const reason =
      err instanceof Error && 'code' in err ? String((err as NodeJS.ErrnoException).code) : 'unreadable';
    throw new CorruptFileError(path, `cannot read the file (${reason})`);
  }
}

/** Reads a text file as UTF-8 (a leading byte-order mark is dropped). */
export function readText(path: string): string {
  const text = readBytes(path).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Calls `visit(line, lineNumber)` for every line of `text` (1-based numbers, `\r\n` or `\n` endings,
 * the `\r` removed).
 */
export function forEachLine(text: string, visit: (line: string, lineNumber: number) => void): void {
  let start = 0;
  let lineNumber = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    lineNumber++;
    const stop = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    visit(text.slice(start, stop), lineNumber);
    start = end + 1;
  }
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses a plain decimal number (`0.5`, `-1e-3`, `.25`); anything else, including hex, `NaN`,
 * `Infinity` and empty fields, gives `undefined`.
 */
export function parseDecimal(field: string): number | undefined {
  const f = field.trim();
  if (!DECIMAL.test(f)) return undefined;
  const v = Number(f);
  return Number.isFinite(v) ? v : undefined;
}

/** Shortens a field for an error message. */
export function quote(field: string): string {
  return JSON.stringify(field.length > 40 ? `${field.slice(0, 37)}...` : field);
}
