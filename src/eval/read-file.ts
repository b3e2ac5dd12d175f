/**
 * File reading shared by the evaluation readers: regular files only, within a size cap per format, text
 * streamed line by line (see src/regular-file.ts); every failure becomes a {@link CorruptFileError}
 * naming the file.
 */
import { type LineLimits, MiB } from '../regular-file.js';

/** Options every file reader takes. */
export interface ReadOptions {
  /** Largest accepted file size in bytes (each reader has a default; raise it for huge sets). */
  readonly maxBytes?: number;
}

/** A parser fed one line at a time, from a string or from a file stream (same results either way). */
export interface LineParser<T> {
  line(line: string, lineNumber: number): void;
  finish(): T;
}

/** Lines of a reader: long enough for a 10,000-dimensional embedding written with 17 digits. */
const MAX_LINE = 1 * MiB;

/** The caps of one text format, with the caller's size cap when given. */
export function lineLimits(what: string, defaultMaxBytes: number, options: ReadOptions = {}): LineLimits {
  return { what, maxBytes: options.maxBytes ?? defaultMaxBytes, maxLineLength: MAX_LINE };
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

/** Text handed to a parser directly starts like a file: a leading byte-order mark is dropped. */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
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
