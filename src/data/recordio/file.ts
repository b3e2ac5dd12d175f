/**
 * Read access to a RecordIO file: random access by key through its `.idx`, or a sequential scan
 * when there is no index. Every read allocates its own buffers, so reads may run concurrently.
 */
import type { FileHandle } from 'node:fs/promises';
import { CorruptFileError, InvalidArgumentError } from '../../errors.js';
import { MiB, openRegularHandle, readRegularFileAsync } from '../../regular-file.js';
import { type ByteSource, MAX_RECORD_BYTES, RECORDIO_MAGIC, readFramedRecord } from './framing.js';
import { parseRecordIndex, type RecordIndex } from './index-file.js';

/** Read-ahead of a random read when the extent of the record is not known from the index. */
const RANDOM_READ_AHEAD = 16 << 10;
/** Largest .idx read: about 20 bytes a record, so room for 50 million records. */
const IDX_MAX_BYTES = 1024 * MiB;
/** Window of a sequential scan. */
const SCAN_WINDOW = 4 << 20;
/**
 * Read-ahead of a pass over record heads in file order: several small records share one read, and a
 * large record costs one read of this size instead of its whole payload.
 */
const HEAD_READ_AHEAD = 64 << 10;

/** A read-ahead window over a file handle; a new window buffer per refill keeps old views valid. */
class Window implements ByteSource {
  private start = 0;
  private data = new Uint8Array(0);
  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly path: string,
    private readonly readAhead: number,
  ) {}

  async bytes(offset: number, length: number): Promise<Uint8Array> {
    if (offset < this.start || offset + length > this.start + this.data.length) {
      const want = Math.min(Math.max(length, this.readAhead), this.size - offset);
      const buffer = new Uint8Array(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await this.handle.read(buffer, got, want - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got < length) {
        throw new CorruptFileError(
          this.path,
          `short read at byte offset ${offset + got} (the file shrank while open)`,
        );
      }
      this.start = offset;
      this.data = buffer.subarray(0, got);
    }
    return this.data.subarray(offset - this.start, offset - this.start + length);
  }
}

/** An open RecordIO file. */
export class RecordIOFile {
  private readonly positionOfKey: Map<number, number> | undefined;
  private readonly extent: Float64Array;

  private constructor(
    private readonly handle: FileHandle,
    /** Path of the `.rec` file. */
    readonly path: string,
    /** File size in bytes. */
    readonly size: number,
    /** Keys and offsets (from the `.idx`, or from a scan: keys 0…n−1). */
    readonly index: RecordIndex,
  ) {
    const { keys, offsets } = index;
    let dense = true;
    for (let i = 0; i < keys.length && dense; i++) dense = keys[i] === i;
    if (!dense) {
      this.positionOfKey = new Map();
      for (let i = 0; i < keys.length; i++) this.positionOfKey.set(keys[i], i);
    }
    // A record ends where the next one (by offset) begins; reading exactly that much is one syscall.
    const sorted = Float64Array.from(offsets).sort();
    this.extent = new Float64Array(offsets.length);
    for (let i = 0; i < offsets.length; i++) {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid] <= offsets[i]) lo = mid + 1;
        else hi = mid;
      }
      this.extent[i] = (lo < sorted.length ? sorted[lo] : size) - offsets[i];
    }
  }

  /**
   * Opens `recPath` with its index: `idxPath` (default: the same name with `.idx`) when it exists, else
   * a sequential scan that numbers records 0, 1, … (what MXRecordIO does). An index entry pointing
   * past the end of the `.rec` raises `CorruptFileError` naming the offset (the file is truncated).
   */
  static async open(recPath: string, idxPath?: string): Promise<RecordIOFile> {
    if (typeof recPath !== 'string' || recPath.length === 0) {
      throw new InvalidArgumentError('recPath', 'a path to a .rec file', recPath);
    }
    // Regular files only (a folder, pipe or device is refused before reading); no size cap on the
    // records, which are read in windows (insightface sets reach hundreds of GiB).
    const { handle, size } = await openRegularHandle(recPath, {
      what: 'a RecordIO .rec file',
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    try {
      const idx = idxPath ?? `${recPath.replace(/\.rec$/, '')}.idx`;
      let text: Uint8Array | undefined;
      try {
        text = await readRegularFileAsync(idx, { what: 'a RecordIO .idx index', maxBytes: IDX_MAX_BYTES });
      } catch (error) {
        // Without an explicit index a missing (or unusable) default one means: scan the records.
        if (idxPath !== undefined) throw error;
      }
      const index = text !== undefined ? parseRecordIndex(text, idx) : await scan(handle, size, recPath);
      for (let i = 0; i < index.offsets.length; i++) {
        if (index.offsets[i] + 8 > size) {
          throw new CorruptFileError(
            recPath,
            `truncated: index entry ${index.keys[i]} points at byte offset ${index.offsets[i]} but the file ends at ${size}`,
          );
        }
      }
      return new RecordIOFile(handle, recPath, size, index);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Number of records in the index. */
  get count(): number {
    return this.index.keys.length;
  }

  /** Whether `key` is in the index. */
  has(key: number): boolean {
    return this.positionOf(key) !== undefined;
  }

  /** Byte offset of the record with `key`. */
  offsetOf(key: number): number {
    const position = this.positionOf(key);
    if (position === undefined)
      throw new InvalidArgumentError('key', `a key of the index of ${this.path}`, key);
    return this.index.offsets[position];
  }

  private positionOf(key: number): number | undefined {
    if (this.positionOfKey !== undefined) return this.positionOfKey.get(key);
    return Number.isInteger(key) && key >= 0 && key < this.index.keys.length ? key : undefined;
  }

  /** Reads the record with `key` (the framed bytes joined; the IR header still in front). */
  async read(key: number): Promise<Uint8Array> {
    const position = this.positionOf(key);
    if (position === undefined)
      throw new InvalidArgumentError('key', `a key of the index of ${this.path}`, key);
    const extent = this.extent[position];
    // A sparse index can leave a large gap after a record; never read ahead more than a scan window.
    const readAhead = extent >= 8 ? Math.min(extent, SCAN_WINDOW) : RANDOM_READ_AHEAD;
    const window = new Window(this.handle, this.size, this.path, readAhead);
    return (await readFramedRecord(window, this.index.offsets[position])).data;
  }

  /**
   * The first `length` bytes of the record with `key` (all of it when it is shorter), without reading
   * the rest: enough for an image header when the payload is not wanted.
   */
  async readHead(key: number, length: number): Promise<Uint8Array> {
    const position = this.positionOf(key);
    if (position === undefined)
      throw new InvalidArgumentError('key', `a key of the index of ${this.path}`, key);
    if (!Number.isSafeInteger(length) || length < 0)
      throw new InvalidArgumentError('length', 'a non-negative integer', length);
    const readAhead = Math.min(
      this.extent[position] >= 8 ? this.extent[position] : RANDOM_READ_AHEAD,
      8 + length,
    );
    const window = new Window(this.handle, this.size, this.path, Math.max(8, readAhead));
    return readFramedHead(window, this.index.offsets[position], length);
  }

  /**
   * The first `length` bytes of each record in `keys`, visited in file order through one read-ahead
   * window (one pass over the file's heads, not its payloads); `index` is the key's position in `keys`.
   */
  async *heads(
    keys: ArrayLike<number>,
    length: number,
  ): AsyncGenerator<{ index: number; key: number; offset: number; head: Uint8Array }> {
    if (!Number.isSafeInteger(length) || length < 0)
      throw new InvalidArgumentError('length', 'a non-negative integer', length);
    const offsets = new Float64Array(keys.length);
    for (let i = 0; i < keys.length; i++) offsets[i] = this.offsetOf(keys[i]);
    // Typed arrays keep a pass over millions of records small.
    const order = new Uint32Array(keys.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => offsets[a] - offsets[b]);
    const window = new Window(this.handle, this.size, this.path, HEAD_READ_AHEAD);
    for (const index of order) {
      const offset = offsets[index];
      yield { index, key: keys[index], offset, head: await readFramedHead(window, offset, length) };
    }
  }

  /** Every record in file order, read through a large window (for streaming a whole file). */
  async *records(): AsyncGenerator<{ offset: number; data: Uint8Array }> {
    const window = new Window(this.handle, this.size, this.path, SCAN_WINDOW);
    let offset = 0;
    while (offset < this.size) {
      const { data, next } = await readFramedRecord(window, offset);
      yield { offset, data };
      offset = next;
    }
  }

  /** Closes the file. */
  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function scan(handle: FileHandle, size: number, path: string): Promise<RecordIndex> {
  const window = new Window(handle, size, path, SCAN_WINDOW);
  const offsets: number[] = [];
  let offset = 0;
  while (offset < size) {
    offsets.push(offset);
    offset = (await readFramedRecord(window, offset)).next;
  }
  return { keys: Float64Array.from(offsets, (_, i) => i), offsets: Float64Array.from(offsets) };
}

/**
 * The first `length` bytes of the record at `offset`, with the same checks as `readFramedRecord` on the
 * parts it visits; later parts of a split record are read only while the head reaches into them.
 */
async function readFramedHead(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  const magic = new Uint8Array([0x0a, 0x23, 0xd7, 0xce]);
  let got = 0;
  let pos = offset;
  for (let first = true; ; first = false) {
    if (pos + 8 > source.size) {
      throw new CorruptFileError(
        source.path,
        `truncated: the record at byte offset ${offset} needs a part header at byte offset ${pos} but the file ends at ${source.size}`,
      );
    }
    const view = new DataView((await source.bytes(pos, 8)).slice().buffer);
    const found = view.getUint32(0, true);
    if (found !== RECORDIO_MAGIC) {
      throw new CorruptFileError(
        source.path,
        `no RecordIO magic at byte offset ${pos} (found 0x${found.toString(16).padStart(8, '0')})`,
      );
    }
    const word = view.getUint32(4, true);
    const cflag = word >>> 29;
    const partLength = word & MAX_RECORD_BYTES;
    if ((first && cflag !== 0 && cflag !== 1) || (!first && cflag !== 2 && cflag !== 3)) {
      throw new CorruptFileError(
        source.path,
        `continuation flag ${cflag} out of order at byte offset ${pos} (record at byte offset ${offset})`,
      );
    }
    if (pos + 8 + ((partLength + 3) & ~3) > source.size) {
      throw new CorruptFileError(
        source.path,
        `truncated: the part at byte offset ${pos} declares ${partLength} bytes but the file ends at ${source.size}`,
      );
    }
    if (!first) {
      // The magic word the writer cut out between parts belongs to the record.
      const take = Math.min(4, length - got);
      out.set(magic.subarray(0, take), got);
      got += take;
    }
    const take = Math.min(partLength, length - got);
    if (take > 0) out.set(await source.bytes(pos + 8, take), got);
    got += take;
    if (got === length || cflag === 0 || cflag === 3) break;
    pos += 8 + ((partLength + 3) & ~3);
  }
  return out.subarray(0, got);
}
