/**
 * Reading input files without surprises, shared by every reader (scores, pairs, embeddings, `.bin`,
 * images):
 * - regular files only: a named pipe, a device (`/dev/zero`, `/dev/urandom`), a socket or a folder is
 *   refused from its `stat`, before a byte is read, so a reader can never block on a pipe or read an
 *   endless device until memory runs out;
 * - a size cap per kind of file, refused with a {@link FileTooLargeError} naming the file and the cap
 *   instead of V8's `Cannot create a string longer than …` or an abort when memory runs out;
 * - text read line by line in fixed chunks, so no string ever holds a whole file (V8 strings stop at
 *   about 512 MiB) and a line without end is refused at the line cap.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { CorruptFileError, FileTooLargeError, InvalidArgumentError } from './errors.js';

/** One mebibyte, for the caps below. */
export const MiB = 1024 * 1024;

/** What a reader accepts: the kind of file (for messages) and its size cap. */
export interface FileLimits {
  /** The kind of file expected, with its article, e.g. `a score CSV`; messages say "expected a score CSV". */
  readonly what: string;
  /** Largest accepted size in bytes. */
  readonly maxBytes: number;
}

/** {@link FileLimits} for text read line by line. */
export interface LineLimits extends FileLimits {
  /** Longest accepted line, in characters (a file of zero bytes without newlines stops here). */
  readonly maxLineLength: number;
  /** Bytes read per call (tests make it small to cut lines and UTF-8 characters across chunks). */
  readonly chunkBytes?: number;
}

/** `1.5 GiB`, `700 MiB`, `12 KiB`, `9 bytes`. */
export function formatBytes(n: number): string {
  const units: [number, string][] = [
    [1024 * MiB, 'GiB'],
    [MiB, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [size, unit] of units) {
    if (n >= size) return `${Number((n / size).toFixed(1))} ${unit}`;
  }
  return `${n} bytes`;
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

function cannotRead(path: string, err: unknown): CorruptFileError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return new CorruptFileError(path, `cannot read the file (${code ?? 'unreadable'})`);
}

function checkStats(path: string, stats: Stats, limits: FileLimits): void {
  if (!stats.isFile()) {
    throw new CorruptFileError(path, `is ${kindOf(stats)}, expected a regular file (${limits.what})`);
  }
  if (stats.size > limits.maxBytes) throw tooLarge(path, stats.size, limits);
}

function tooLarge(path: string, size: number, limits: FileLimits): FileTooLargeError {
  return new FileTooLargeError(
    path,
    `is ${formatBytes(size)}, more than the ${formatBytes(limits.maxBytes)} accepted for ${limits.what}`,
    limits.maxBytes,
  );
}

// Without O_NONBLOCK, opening a named pipe waits for a writer. Windows has no such flag (nor FIFOs).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Opens `path` for reading once `stat` shows a regular file within the cap; the open descriptor is
 * checked again with `fstat`, so a file swapped for a pipe in between is still refused (and, opened
 * non-blocking, cannot block). The caller closes the descriptor.
 */
export function openRegularFile(path: string, limits: FileLimits): { fd: number; size: number } {
  if (typeof path !== 'string' || path === '')
    throw new InvalidArgumentError('path', `the path of ${limits.what}`, path);
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (err) {
    throw cannotRead(path, err);
  }
  checkStats(path, stats, limits);
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw cannotRead(path, err);
  }
  try {
    const opened = fstatSync(fd);
    checkStats(path, opened, limits);
    return { fd, size: opened.size };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function readChunk(path: string, fd: number, into: Buffer, offset: number, length: number): number {
  try {
    return readSync(fd, into, offset, length, null);
  } catch (err) {
    throw cannotRead(path, err);
  }
}

/** Reads a whole regular file of at most `limits.maxBytes` bytes. */
export function readRegularFile(path: string, limits: FileLimits): Buffer {
  const { fd, size } = openRegularFile(path, limits);
  try {
    let bytes: Buffer;
    try {
      bytes = Buffer.allocUnsafe(size);
    } catch {
      // Under a memory limit the allocation itself fails: say so for this file rather than abort.
      throw new FileTooLargeError(path, `is ${formatBytes(size)}, more than this process can allocate`, size);
    }
    let filled = 0;
    while (filled < size) {
      const n = readChunk(path, fd, bytes, filled, size - filled);
      if (n === 0) break; // the file shrank since fstat: return what is there
      filled += n;
    }
    return filled === size ? bytes : bytes.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

/**
 * {@link openRegularFile} without blocking the event loop: `stat` before opening, `fstat` on the open
 * handle. The caller closes the handle.
 */
export async function openRegularHandle(
  path: string,
  limits: FileLimits,
): Promise<{ handle: FileHandle; size: number }> {
  if (typeof path !== 'string' || path === '')
    throw new InvalidArgumentError('path', `the path of ${limits.what}`, path);
  try {
    checkStats(path, await stat(path), limits);
  } catch (err) {
    throw err instanceof CorruptFileError ? err : cannotRead(path, err);
  }
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (err) {
    throw cannotRead(path, err);
  }
  try {
    const opened = await handle.stat();
    checkStats(path, opened, limits);
    return { handle, size: opened.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** {@link readRegularFile} without blocking the event loop (images read while training runs). */
export async function readRegularFileAsync(path: string, limits: FileLimits): Promise<Buffer> {
  const { handle, size } = await openRegularHandle(path, limits);
  try {
    const bytes = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(bytes, filled, size - filled, null));
      } catch (err) {
        throw cannotRead(path, err);
      }
      if (n === 0) break; // the file shrank since fstat: return what is there
      filled += n;
    }
    return filled === size ? bytes : bytes.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/**
 * Calls `visit(line, lineNumber)` for every line of a UTF-8 text file, read in chunks (1-based numbers;
 * `\n` or `\r\n` endings, the `\r` removed; a leading byte-order mark dropped; the text after the last
 * newline is a line too, possibly empty — as `forEachLine` in src/eval/read-file.ts does for a string).
 */
export function forEachFileLine(
  path: string,
  limits: LineLimits,
  visit: (line: string, lineNumber: number) => void,
): void {
  const { fd } = openRegularFile(path, limits);
  try {
    const decoder = new StringDecoder('utf8');
    const chunk = Buffer.allocUnsafe(limits.chunkBytes ?? 4 * MiB);
    let pending = '';
    let lineNumber = 0;
    let total = 0;
    let atStart = true;
    for (;;) {
      const n = readChunk(path, fd, chunk, 0, chunk.length);
      total += n;
      // The file may grow after fstat; the cap holds for what is actually read.
      if (total > limits.maxBytes) throw tooLarge(path, total, limits);
      let text = n === 0 ? decoder.end() : decoder.write(chunk.subarray(0, n));
      if (atStart && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        atStart = false;
      }
      const buffered = pending + text;
      let start = 0;
      for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n', start)) {
        lineNumber++;
        if (end - start > limits.maxLineLength) throw tooLong(lineNumber);
        visit(lineOf(buffered, start, end), lineNumber);
        start = end + 1;
      }
      pending = buffered.slice(start);
      if (pending.length > limits.maxLineLength) throw tooLong(lineNumber + 1);
      if (n === 0) break;
    }
    visit(lineOf(pending, 0, pending.length), lineNumber + 1);
  } finally {
    closeSync(fd);
  }

  function tooLong(lineNumber: number): CorruptFileError {
    return new CorruptFileError(
      path,
      `line ${lineNumber}: longer than ${limits.maxLineLength} characters, expected the lines of ${limits.what}`,
    );
  }
}

/** `text[start, end)` without a trailing `\r`. */
function lineOf(text: string, start: number, end: number): string {
  const stop = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
  return text.slice(start, stop);
}
