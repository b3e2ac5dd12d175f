/**
 * MXNet / dmlc-core RecordIO framing. Each part is `magic` (0xced7230a), a length word whose upper 3
 * bits are the continuation flag `cflag` and lower 29 bits the part length, the part bytes, and zero
 * padding to a multiple of 4. A record containing the magic word at a 4-aligned position is split
 * there (the magic itself is not stored): parts carry cflag 1 (first), 2 (middle), 3 (last), and the
 * reader re-inserts the magic between them; an ordinary record is one part with cflag 0.
 */
import { CorruptFileError, InvalidArgumentError } from '../../errors.js';

/** The magic word that starts every part. */
export const RECORDIO_MAGIC = 0xced7230a;
/** Largest record dmlc-core accepts (the length field has 29 bits). */
export const MAX_RECORD_BYTES = (1 << 29) - 1;

const pad4 = (n: number) => (n + 3) & ~3;

/** Frames one record exactly as dmlc-core's `RecordIOWriter::WriteRecord` does. */
export function frameRecord(record: Uint8Array): Uint8Array {
  if (record.length > MAX_RECORD_BYTES) {
    throw new InvalidArgumentError('record', `at most ${MAX_RECORD_BYTES} bytes`, record.length);
  }
  // Split points: 4-aligned offsets whose 4 bytes equal the magic in little-endian order.
  const splits: number[] = [];
  const lowerAlign = record.length & ~3;
  for (let i = 0; i < lowerAlign; i += 4) {
    if (record[i] === 0x0a && record[i + 1] === 0x23 && record[i + 2] === 0xd7 && record[i + 3] === 0xce) {
      splits.push(i);
    }
  }
  // Parts: [0, s0), [s0+4, s1), …, [s_last+4, len); every part but the last is 4-aligned in length.
  const bounds: [number, number][] = [];
  let start = 0;
  for (const s of splits) {
    bounds.push([start, s]);
    start = s + 4;
  }
  bounds.push([start, record.length]);
  let total = 0;
  for (const [a, b] of bounds) total += 8 + pad4(b - a);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  bounds.forEach(([a, b], k) => {
    const last = k === bounds.length - 1;
    const cflag = bounds.length === 1 ? 0 : k === 0 ? 1 : last ? 3 : 2;
    view.setUint32(pos, RECORDIO_MAGIC, true);
    view.setUint32(pos + 4, ((cflag << 29) | (b - a)) >>> 0, true);
    out.set(record.subarray(a, b), pos + 8);
    pos += 8 + pad4(b - a);
  });
  return out;
}

/** Random or sequential reads of byte ranges from an open file, served from a read-ahead window. */
export interface ByteSource {
  /** File size in bytes. */
  readonly size: number;
  /** Path, for errors. */
  readonly path: string;
  /** Bytes [offset, offset+length); the caller has checked the range lies inside the file. */
  bytes(offset: number, length: number): Promise<Uint8Array>;
}

/** One record read from a file. */
export interface FramedRecord {
  /** The record bytes, parts joined with the magic re-inserted. */
  readonly data: Uint8Array;
  /** File offset just past the record (its padding included): where the next record starts. */
  readonly next: number;
}

/**
 * Reads the record that starts at `offset`. Raises `CorruptFileError` naming the byte offset when the
 * magic is missing, a continuation flag is out of order, or a part runs past the end of the file.
 */
export async function readFramedRecord(source: ByteSource, offset: number): Promise<FramedRecord> {
  const parts: Uint8Array[] = [];
  let pos = offset;
  for (;;) {
    if (pos + 8 > source.size) {
      throw new CorruptFileError(
        source.path,
        `truncated: the record at byte offset ${offset} needs a part header at byte offset ${pos} but the file ends at ${source.size}`,
      );
    }
    const head = await source.bytes(pos, 8);
    const view = new DataView(head.buffer, head.byteOffset, 8);
    const magic = view.getUint32(0, true);
    if (magic !== RECORDIO_MAGIC) {
      throw new CorruptFileError(
        source.path,
        `no RecordIO magic at byte offset ${pos} (found 0x${magic.toString(16).padStart(8, '0')})`,
      );
    }
    const word = view.getUint32(4, true);
    const cflag = word >>> 29;
    const length = word & MAX_RECORD_BYTES;
    const first = parts.length === 0;
    if ((first && cflag !== 0 && cflag !== 1) || (!first && cflag !== 2 && cflag !== 3) || cflag > 3) {
      throw new CorruptFileError(
        source.path,
        `continuation flag ${cflag} out of order at byte offset ${pos} (record at byte offset ${offset})`,
      );
    }
    if (pos + 8 + pad4(length) > source.size) {
      throw new CorruptFileError(
        source.path,
        `truncated: the part at byte offset ${pos} declares ${length} bytes but the file ends at ${source.size}`,
      );
    }
    parts.push(length === 0 ? new Uint8Array(0) : await source.bytes(pos + 8, length));
    pos += 8 + pad4(length);
    if (cflag === 0 || cflag === 3) break;
  }
  if (parts.length === 1) return { data: parts[0], next: pos };
  let total = 4 * (parts.length - 1);
  for (const p of parts) total += p.length;
  const data = new Uint8Array(total);
  const magic = new Uint8Array([0x0a, 0x23, 0xd7, 0xce]);
  let at = 0;
  parts.forEach((p, k) => {
    if (k > 0) {
      data.set(magic, at);
      at += 4;
    }
    data.set(p, at);
    at += p.length;
  });
  return { data, next: pos };
}
