/**
 * The compact MNIST subset the page trains on: a small header, one label byte per digit, then the
 * 28×28 pixels of each digit as bytes (0–255), the whole file gzip-compressed.
 *
 * ```
 * bytes 0–3   "FVMN"
 * byte  4     format version (1)
 * byte  5     rows, byte 6 cols
 * byte  7     reserved (0)
 * bytes 8–11  digit count N (uint32, little-endian)
 * N bytes     labels 0–9
 * N·rows·cols pixels, digit after digit, row-major
 * ```
 */

const MAGIC = [0x46, 0x56, 0x4d, 0x4e];
const VERSION = 1;
const HEADER_BYTES = 12;

/** Decoded digits: `pixels` holds N·rows·cols bytes. */
export interface MnistSubset {
  count: number;
  rows: number;
  cols: number;
  labels: Uint8Array;
  pixels: Uint8Array;
}

/** Serialise digits (uncompressed; the caller gzips). */
export function encodeMnistSubset(subset: MnistSubset): Uint8Array {
  const size = subset.rows * subset.cols;
  const out = new Uint8Array(HEADER_BYTES + subset.count * (1 + size));
  out.set(MAGIC, 0);
  out[4] = VERSION;
  out[5] = subset.rows;
  out[6] = subset.cols;
  new DataView(out.buffer).setUint32(8, subset.count, true);
  out.set(subset.labels.subarray(0, subset.count), HEADER_BYTES);
  out.set(subset.pixels.subarray(0, subset.count * size), HEADER_BYTES + subset.count);
  return out;
}

/** Parse an uncompressed asset; throws on a wrong magic, version or length. */
export function decodeMnistSubset(bytes: Uint8Array): MnistSubset {
  if (bytes.length < HEADER_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error('MNIST asset: not a FVMN file');
  }
  if (bytes[4] !== VERSION) throw new Error(`MNIST asset: unsupported version ${bytes[4]}`);
  const rows = bytes[5];
  const cols = bytes[6];
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  const expected = HEADER_BYTES + count * (1 + rows * cols);
  if (bytes.length !== expected) {
    throw new Error(`MNIST asset: expected ${expected} bytes, got ${bytes.length}`);
  }
  const labels = bytes.slice(HEADER_BYTES, HEADER_BYTES + count);
  const pixels = bytes.slice(HEADER_BYTES + count);
  return { count, rows, cols, labels, pixels };
}
