/**
 * The shared file reader: lines streamed in small chunks give exactly what splitting the whole text
 * gives (lines, and UTF-8 characters, cut across chunks), and the caps and file-type checks name the file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptFileError, FileTooLargeError } from '../src/errors.js';
import { forEachLine } from '../src/eval/read-file.js';
import { forEachFileLine, formatBytes, readRegularFile, readRegularFileAsync } from '../src/regular-file.js';

const dir = mkdtempSync(join(tmpdir(), 'fvl-regular-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const limits = { what: 'a test file', maxBytes: 1 << 20, maxLineLength: 1000 };

function linesOfFile(path: string, chunkBytes: number): [string, number][] {
  const out: [string, number][] = [];
  forEachFileLine(path, { ...limits, chunkBytes }, (line, n) => out.push([line, n]));
  return out;
}

describe('forEachFileLine', () => {
  const text = 'héllo,1\r\n\r\nwörld ✓,2\n\nlast line without newline — 日本';
  const path = join(dir, 'lines.txt');
  writeFileSync(path, `\ufeff${text}`);

  it('gives the lines of the whole text, whatever the chunk size', () => {
    const expected: [string, number][] = [];
    forEachLine(text, (line, n) => expected.push([line, n]));
    for (const chunk of [1, 2, 3, 5, 7, 64, 1 << 20]) expect(linesOfFile(path, chunk)).toEqual(expected);
  });

  it('visits a final empty line after a trailing newline, as forEachLine does', () => {
    const p = join(dir, 'trailing.txt');
    writeFileSync(p, 'a\nb\n');
    expect(linesOfFile(p, 2)).toEqual([
      ['a', 1],
      ['b', 2],
      ['', 3],
    ]);
  });

  it('refuses a line longer than the cap, naming the file and the line', () => {
    const p = join(dir, 'long.txt');
    writeFileSync(p, `ok\n${'x'.repeat(5000)}\n`);
    expect(() => linesOfFile(p, 64)).toThrow(CorruptFileError);
    expect(() => linesOfFile(p, 64)).toThrow(/long\.txt: line 2: longer than 1000 characters/);
  });
});

describe('regular files only, within the cap', () => {
  it('reads a regular file whole, synchronously and asynchronously', async () => {
    const p = join(dir, 'bytes.bin');
    writeFileSync(p, Uint8Array.of(1, 2, 3));
    expect([...readRegularFile(p, limits)]).toEqual([1, 2, 3]);
    expect([...(await readRegularFileAsync(p, limits))]).toEqual([1, 2, 3]);
  });

  it('refuses a file over the cap with a FileTooLargeError naming the file and the cap', async () => {
    const p = join(dir, 'big.bin');
    writeFileSync(p, new Uint8Array(3000));
    const small = { what: 'a test file', maxBytes: 2048 };
    expect(() => readRegularFile(p, small)).toThrow(FileTooLargeError);
    expect(() => readRegularFile(p, small)).toThrow(
      /big\.bin: is 2\.9 KiB, more than the 2 KiB accepted for a test file/,
    );
    await expect(readRegularFileAsync(p, small)).rejects.toThrow(FileTooLargeError);
    try {
      readRegularFile(p, small);
    } catch (err) {
      expect(err).toMatchObject({ code: 'FILE_TOO_LARGE', limit: 2048, path: p });
      expect(err).toBeInstanceOf(CorruptFileError);
    }
  });

  it('refuses folders, pipes and devices by their type, before reading', async (ctx) => {
    expect(() => readRegularFile(dir, limits)).toThrow(
      /is a folder, expected a regular file \(a test file\)/,
    );
    if (process.platform === 'win32') ctx.skip('named pipes and /dev are POSIX');
    const pipe = join(dir, 'pipe');
    execFileSync('mkfifo', [pipe]);
    // With no writer, opening the pipe would block: the type check must come first.
    expect(() => readRegularFile(pipe, limits)).toThrow(/pipe: is a named pipe \(FIFO\)/);
    await expect(readRegularFileAsync(pipe, limits)).rejects.toThrow(/is a named pipe/);
    expect(() => linesOfFile('/dev/zero', 64)).toThrow(/\/dev\/zero: is a character device/);
  });

  it('names a missing file with its error code', () => {
    expect(() => readRegularFile(join(dir, 'nope'), limits)).toThrow(/nope: cannot read the file \(ENOENT\)/);
  });

  it('formats sizes for messages', () => {
    expect([formatBytes(9), formatBytes(2048), formatBytes(700 * 2 ** 20), formatBytes(3 * 2 ** 30)]).toEqual(
      ['9 bytes', '2 KiB', '700 MiB', '3 GiB'],
    );
  });
});
