/**
 * Element types of PyTorch storages and `.npy` arrays, and the conversion of raw little-endian bytes
 * (at any alignment) to typed arrays. Half and bfloat16 values are widened to float32, exactly.
 */

/** Element types read from checkpoints and `.npy` files. */
export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

/** A decoded array: floats as Float32Array/Float64Array (halves widened), int64 as BigInt64Array. */
export type ElementArray =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** Bytes per element. */
export const ITEM_SIZE: Readonly<Record<DType, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** IEEE 754 half to float (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** An empty array of `count` elements of the type that holds `dtype`. */
export function allocate(dtype: DType, count: number): ElementArray {
  switch (dtype) {
    case 'float64':
      return new Float64Array(count);
    case 'float32':
    case 'float16':
    case 'bfloat16':
      return new Float32Array(count);
    case 'int64':
      return new BigInt64Array(count);
    case 'int32':
      return new Int32Array(count);
    case 'int16':
      return new Int16Array(count);
    case 'int8':
      return new Int8Array(count);
    default:
      return new Uint8Array(count);
  }
}

/**
 * Copies the elements of `bytes` (little-endian `dtype`s) whose element indices are produced by
 * `index(i)` for i in 0..count−1 into a new array.
 */
export function gather(
  bytes: Uint8Array,
  dtype: DType,
  count: number,
  index: (i: number) => number,
): ElementArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = allocate(dtype, count);
  const size = ITEM_SIZE[dtype];
  const read = reader(view, dtype);
  if (out instanceof BigInt64Array) {
    for (let i = 0; i < count; i++) out[i] = view.getBigInt64(index(i) * size, true);
  } else {
    for (let i = 0; i < count; i++) (out as Float32Array)[i] = read(index(i) * size);
  }
  return out;
}

function reader(view: DataView, dtype: DType): (at: number) => number {
  switch (dtype) {
    case 'float32':
      return (at) => view.getFloat32(at, true);
    case 'float64':
      return (at) => view.getFloat64(at, true);
    case 'float16':
      return (at) => halfToFloat(view.getUint16(at, true));
    case 'bfloat16': {
      // The high half of a float32: shift into place and reinterpret.
      const scratch = new DataView(new ArrayBuffer(4));
      return (at) => {
        scratch.setUint32(0, view.getUint16(at, true) << 16, true);
        return scratch.getFloat32(0, true);
      };
    }
    case 'int32':
      return (at) => view.getInt32(at, true);
    case 'int16':
      return (at) => view.getInt16(at, true);
    case 'int8':
      return (at) => view.getInt8(at);
    case 'int64':
      return (at) => Number(view.getBigInt64(at, true));
    default:
      return (at) => view.getUint8(at);
  }
}
