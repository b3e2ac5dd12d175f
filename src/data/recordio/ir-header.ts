/**
 * The image-record header of MXNet's `mx.recordio.pack` / `unpack` (struct format `IfQQ`, 24 bytes,
 * little-endian): `flag` uint32, `label` float32, `id` uint64, `id2` uint64. When `flag > 0` the
 * label is a vector: `label` is written as 0 and `flag` float32 values follow the header.
 */
import { CorruptFileError, InvalidArgumentError } from '../../errors.js';

/** Size of the fixed part of the header in bytes. */
export const IR_HEADER_SIZE = 24;

/** A decoded header. `label` is a number when `flag` is 0, else the `flag` float32 labels. */
export interface IRHeader {
  readonly flag: number;
  readonly label: number | Float32Array;
  /** Read as a JS number: exact below 2^53, which every real record id is. */
  readonly id: number;
  readonly id2: number;
}

/** The header plus the bytes after it (the encoded image, or nothing for metadata records). */
export interface UnpackedRecord {
  readonly header: IRHeader;
  readonly payload: Uint8Array;
}

function uint64(name: string, value: number): bigint {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new InvalidArgumentError(name, 'a non-negative safe integer', value);
  return BigInt(value);
}

/**
 * Packs a header and payload like `mx.recordio.pack`: a scalar label gives `flag = 0`; a vector label
 * gives `flag = length`, `label = 0` and the vector after the header.
 */
export function packIRHeader(
  header: { label: number | ArrayLike<number>; id?: number; id2?: number },
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const vector = typeof header.label === 'number' ? undefined : Float32Array.from(header.label);
  if (vector === undefined && !Number.isFinite(header.label)) {
    throw new InvalidArgumentError('header.label', 'a finite number or an array of numbers', header.label);
  }
  const extra = vector === undefined ? 0 : vector.length * 4;
  const out = new Uint8Array(IR_HEADER_SIZE + extra + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, vector === undefined ? 0 : vector.length, true);
  view.setFloat32(4, vector === undefined ? (header.label as number) : 0, true);
  view.setBigUint64(8, uint64('header.id', header.id ?? 0), true);
  view.setBigUint64(16, uint64('header.id2', header.id2 ?? 0), true);
  if (vector !== undefined) {
    for (let i = 0; i < vector.length; i++) view.setFloat32(IR_HEADER_SIZE + 4 * i, vector[i], true);
  }
  out.set(payload, IR_HEADER_SIZE + extra);
  return out;
}

/**
 * Unpacks a record like `mx.recordio.unpack`. `where` names the record in errors (e.g.
 * `train.rec@1234`); a record too short for its header raises `CorruptFileError`.
 */
export function unpackIRHeader(record: Uint8Array, path: string, offset: number): UnpackedRecord {
  if (record.length < IR_HEADER_SIZE) {
    throw new CorruptFileError(
      path,
      `record at byte offset ${offset} has ${record.length} bytes, less than the ${IR_HEADER_SIZE}-byte image header`,
    );
  }
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const flag = view.getUint32(0, true);
  const scalar = view.getFloat32(4, true);
  const id = Number(view.getBigUint64(8, true));
  const id2 = Number(view.getBigUint64(16, true));
  if (flag === 0)
    return { header: { flag, label: scalar, id, id2 }, payload: record.subarray(IR_HEADER_SIZE) };
  const end = IR_HEADER_SIZE + 4 * flag;
  if (record.length < end) {
    throw new CorruptFileError(
      path,
      `record at byte offset ${offset} declares ${flag} labels but has only ${record.length - IR_HEADER_SIZE} bytes after its header`,
    );
  }
  const label = new Float32Array(flag);
  for (let i = 0; i < flag; i++) label[i] = view.getFloat32(IR_HEADER_SIZE + 4 * i, true);
  return { header: { flag, label, id, id2 }, payload: record.subarray(end) };
}
