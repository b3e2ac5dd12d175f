/**
 * The `.idx` companion of a RecordIO file, as written by `mx.recordio.MXIndexedRecordIO`: one line
 * `key<TAB>offset` per record, both decimal integers.
 */
import { CorruptFileError } from '../../errors.js';

/** Keys and byte offsets in file order of the `.idx` lines. */
export interface RecordIndex {
  readonly keys: Float64Array;
  readonly offsets: Float64Array;
}

const isSpace = (c: number) => c === 32 || c === 13 || c === 9;

/**
 * Parses `.idx` text. Blank lines are ignored; anything else that is not `key<TAB>offset` raises
 * `CorruptFileError` naming the line and its byte offset.
 */
export function parseRecordIndex(bytes: Uint8Array, path: string): RecordIndex {
  const keys: number[] = [];
  const offsets: number[] = [];
  let line = 1;
  let i = 0;
  const n = bytes.length;
  const bad = (start: number, problem: string): never => {
    throw new CorruptFileError(
      path,
      `line ${line} (byte offset ${start}): ${problem}, expected 'key<TAB>offset'`,
    );
  };
  while (i < n) {
    const start = i;
    let end = i;
    while (end < n && bytes[end] !== 10) end++;
    let a = start;
    let b = end;
    while (a < b && isSpace(bytes[a])) a++;
    while (b > a && isSpace(bytes[b - 1])) b--;
    if (a < b) {
      let key = 0;
      let digits = 0;
      while (a < b && bytes[a] >= 48 && bytes[a] <= 57) {
        key = key * 10 + (bytes[a++] - 48);
        digits++;
      }
      if (digits === 0 || a >= b || bytes[a] !== 9) bad(start, 'not a key followed by a tab');
      a++;
      let offset = 0;
      digits = 0;
      while (a < b && bytes[a] >= 48 && bytes[a] <= 57) {
        offset = offset * 10 + (bytes[a++] - 48);
        digits++;
      }
      if (digits === 0 || a !== b) bad(start, 'the offset is not a decimal integer');
      if (!Number.isSafeInteger(key) || !Number.isSafeInteger(offset)) bad(start, 'a number too large');
      keys.push(key);
      offsets.push(offset);
    }
    i = end + 1;
    line++;
  }
  return { keys: Float64Array.from(keys), offsets: Float64Array.from(offsets) };
}

/** Formats an index the way MXIndexedRecordIO writes it. */
export function formatRecordIndex(index: RecordIndex): string {
  let text = '';
  for (let i = 0; i < index.keys.length; i++) text += `${index.keys[i]}\t${index.offsets[i]}\n`;
  return text;
}
