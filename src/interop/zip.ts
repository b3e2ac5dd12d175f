/**
 * A minimal zip reader for PyTorch checkpoints: the central directory (with zip64 sizes and offsets),
 * stored entries as views into the file's bytes and deflated ones through `node:zlib`. `torch.save`
 * writes stored entries aligned to 64 bytes; deflate is read for archives repacked by other tools.
 * Encryption, multi-disk archives and other compression methods are refused.
 */
import { inflateRawSync } from 'node:zlib';
import { CorruptFileError } from '../errors.js';

/** One file in the archive. */
export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Offset of the entry's local header. */
  readonly headerOffset: number;
}

/** A zip archive held in memory. */
export interface ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /** The bytes of entry `name` (a view for stored entries, a new buffer for deflated ones). */
  read(name: string): Uint8Array;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** Largest deflated entry inflated (2 GiB, the checkpoint size cap). */
const MAX_INFLATED = 2 ** 31;

/** Whether `bytes` starts like a zip archive (a local file header). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4;
}

/** Opens the archive in `bytes`; `source` names the file in errors. */
export function openZip(bytes: Uint8Array, source: string): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (problem: string): never => {
    throw new CorruptFileError(source, `zip archive: ${problem}`);
  };
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => {
    const hi = view.getUint32(at + 4, true);
    if (hi >= 0x200000) fail('a size or offset does not fit in 53 bits');
    return hi * 2 ** 32 + view.getUint32(at, true);
  };
  const inside = (at: number, length: number, what: string) => {
    if (at < 0 || length < 0 || at + length > bytes.length) {
      fail(`${what} lies outside the file (bytes ${at}..${at + length} of ${bytes.length})`);
    }
  };

  // The end-of-central-directory record is in the last 64 KiB + 22 bytes (its comment is at most 64 KiB).
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (u32(at) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) fail('no end-of-central-directory record (not a zip file, or truncated)');
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0) fail('multi-disk archives are not supported');
  let count = u16(eocd + 10);
  let dirSize = u32(eocd + 12);
  let dirOffset = u32(eocd + 16);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || u32(locator) !== ZIP64_LOCATOR) fail('zip64 sizes without a zip64 locator');
    const record = u64(locator + 8);
    inside(record, 56, 'the zip64 end-of-central-directory record');
    if (u32(record) !== ZIP64_EOCD) fail('bad zip64 end-of-central-directory signature');
    count = u64(record + 32);
    dirSize = u64(record + 40);
    dirOffset = u64(record + 48);
  }
  inside(dirOffset, dirSize, 'the central directory');

  const entries = new Map<string, ZipEntry>();
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    inside(at, 46, `central directory entry ${i}`);
    if (u32(at) !== CENTRAL) fail(`central directory entry ${i}: bad signature`);
    const flags = u16(at + 8);
    const method = u16(at + 10);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let headerOffset = u32(at + 42);
    inside(at + 46, nameLength + extraLength + commentLength, `central directory entry ${i}`);
    const name = Buffer.from(bytes.buffer, bytes.byteOffset + at + 46, nameLength).toString('utf8');
    if (flags & 1) fail(`${name}: encrypted entries are not supported`);
    // The zip64 extra field holds, in order, whichever of the three values are saturated.
    for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength; ) {
      const id = u16(e);
      const length = u16(e + 2);
      if (id === 0x0001) {
        let p = e + 4;
        if (size === 0xffffffff) {
          size = u64(p);
          p += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(p);
          p += 8;
        }
        if (headerOffset === 0xffffffff) headerOffset = u64(p);
      }
      e += 4 + length;
    }
    entries.set(name, { name, method, compressedSize, size, headerOffset });
    at += 46 + nameLength + extraLength + commentLength;
  }

  return {
    entries,
    read(name: string): Uint8Array {
      const entry = entries.get(name);
      if (entry === undefined) return fail(`no entry named ${name}`);
      const h = entry.headerOffset;
      inside(h, 30, `the local header of ${name}`);
      if (u32(h) !== LOCAL) fail(`${name}: bad local header signature`);
      const start = h + 30 + u16(h + 26) + u16(h + 28);
      inside(start, entry.compressedSize, `the data of ${name}`);
      const raw = bytes.subarray(start, start + entry.compressedSize);
      let data: Uint8Array;
      if (entry.method === 0) data = raw;
      else if (entry.method === 8) {
        // Deflate expands at most ~1032:1; the directory's size bounds the output.
        if (entry.size > MAX_INFLATED)
          fail(`${name}: ${entry.size} bytes inflated (at most ${MAX_INFLATED} are read)`);
        try {
          data = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
        } catch (err) {
          return fail(`${name}: cannot inflate (${(err as Error).message})`);
        }
      } else return fail(`${name}: compression method ${entry.method} is not supported (stored or deflate)`);
      if (data.length !== entry.size) {
        fail(`${name}: holds ${data.length} bytes, the directory says ${entry.size}`);
      }
      return data;
    },
  };
}
