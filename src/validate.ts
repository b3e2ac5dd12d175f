/**
 * Input checks shared by every public entry point. Each throws a typed error naming the argument.
 */
import { InvalidArgumentError, NonFiniteError, ShapeMismatchError } from './errors.js';

/** Copy array-like numbers into a Float64Array, rejecting non-numbers and non-finite values. */
export function toFiniteFloat64(name: string, value: unknown, length?: number): Float64Array {
  if (!(Array.isArray(value) || ArrayBuffer.isView(value)) || value instanceof DataView) {
    throw new InvalidArgumentError(name, 'an array or typed array of numbers', value);
  }
  const arr = value as ArrayLike<unknown>;
  if (length !== undefined && arr.length !== length) {
    throw new ShapeMismatchError(name, `${length} values`, `${arr.length}`);
  }
  const out = new Float64Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (typeof v !== 'number') throw new InvalidArgumentError(`${name}[${i}]`, 'a number', v);
    if (!Number.isFinite(v)) throw new NonFiniteError(name, `index ${i}`);
    out[i] = v;
  }
  return out;
}

/** Integer class labels in [0, classes). */
export function toLabels(name: string, value: unknown, classes: number): Int32Array {
  if (!(Array.isArray(value) || ArrayBuffer.isView(value)) || value instanceof DataView) {
    throw new InvalidArgumentError(name, 'an array or typed array of integer class indices', value);
  }
  const arr = value as ArrayLike<unknown>;
  const out = new Int32Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= classes) {
      throw new InvalidArgumentError(`${name}[${i}]`, `an integer class index in [0, ${classes})`, v);
    }
    out[i] = n;
  }
  return out;
}

/** A positive integer (dimension, count). */
export function positiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InvalidArgumentError(name, 'a positive integer', value);
  }
  return value;
}
