/**
 * NumPy `.npy` arrays: read float32, float64, float16 and int64 (little-endian, C order, format versions
 * 1 to 3); write float32 (version 1). Fortran order, big-endian data, object arrays and other types are
 * refused with a message naming the file and what is accepted. Writing to disk is the caller's (atomic)
 * job: {@link encodeNpy} returns the bytes.
 */
import { CorruptFileError, ShapeMismatchError } from '../errors.js';
import { MiB, readRegularFile } from '../regular-file.js';
import { type DType, type ElementArray, gather, ITEM_SIZE } from './dtype.js';

/** An array read from a `.npy` file (float16 widened to float32). */
export interface NpyArray {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: ElementArray;
}

/** Default size cap of a `.npy` file read whole. */
export const NPY_MAX_BYTES = 2048 * MiB;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const DESCRS: Readonly<Record<string, DType>> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<f2': 'float16',
  '<i8': 'int64',
};

/** Reads the `.npy` file at `path`. */
export function readNpy(path: string, options: { maxBytes?: number } = {}): NpyArray {
  const bytes = readRegularFile(path, { what: 'a .npy array', maxBytes: options.maxBytes ?? NPY_MAX_BYTES });
  return parseNpy(bytes, path);
}

/** Parses the bytes of a `.npy` file; `source` names it in errors. */
export function parseNpy(bytes: Uint8Array, source: string): NpyArray {
  const fail = (problem: string): never => {
    throw new CorruptFileError(source, `.npy: ${problem}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('missing the \\x93NUMPY magic string');
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`format version ${major} (expected 1 to 3)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength =
    major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : -1;
  const headerStart = major === 1 ? 10 : 12;
  if (headerLength < 0 || headerStart + headerLength > bytes.length) fail('truncated header');
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + headerStart, headerLength).toString(
    major === 3 ? 'utf8' : 'latin1',
  );
  const field = (name: string, pattern: string): string => {
    const m = new RegExp(`['"]${name}['"]\\s*:\\s*(${pattern})`).exec(header);
    if (m === null) fail(`header has no '${name}' (${JSON.stringify(header.trim())})`);
    return m![1];
  };
  const descr = field('descr', '\'[^\']*\'|"[^"]*"').slice(1, -1);
  const dtype = Object.hasOwn(DESCRS, descr) ? DESCRS[descr] : undefined;
  if (dtype === undefined) {
    fail(`element type '${descr}' is not supported (little-endian float32, float64, float16 or int64)`);
  }
  if (field('fortran_order', 'True|False') === 'True') {
    fail('Fortran-ordered arrays are not supported (save with np.ascontiguousarray)');
  }
  const shapeText = field('shape', '\\([^)]*\\)');
  const shape = shapeText
    .slice(1, -1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : fail(`bad shape ${shapeText}`)));
  const count = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count)) fail(`shape ${shapeText} is too large`);
  const start = headerStart + headerLength;
  const size = ITEM_SIZE[dtype!];
  if (bytes.length - start !== count * size) {
    fail(
      `shape ${shapeText} of ${descr} needs ${count * size} data bytes, the file holds ${bytes.length - start}`,
    );
  }
  const data = gather(bytes.subarray(start), dtype!, count, (i) => i);
  return { dtype: dtype!, shape, data };
}

/** The bytes of a float32 `.npy` file (format 1.0, C order) holding `data` with `shape`. */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new ShapeMismatchError('data', `${count} values for shape [${shape.join(', ')}]`, `${data.length}`);
  }
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // Magic, version, length, header and its newline end on a multiple of 64 bytes.
  header += ' '.repeat(63 - ((10 + header.length) % 64));
  header += '\n';
  const out = new Uint8Array(10 + header.length + 4 * count);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  const body = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < count; i++) body.setFloat32(4 * i, data[i], true);
  return out;
}
