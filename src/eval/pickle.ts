/**
 * A reader for the subset of Python's pickle format that holds plain data: lists, tuples, bytes,
 * strings, booleans, small integers and None, in protocols 2 to 5 (Python 2 `str` objects are read
 * as bytes, like `pickle.load(f, encoding='bytes')`). Nothing is ever executed: the only globals
 * accepted are the two Python 3 uses to pickle `bytes` under protocol 2 (`_codecs.encode` and
 * `builtins.bytes`), and they are interpreted here, not called.
 *
 * Bytes objects are returned as views into the input buffer, so reading a 60 MB verification set
 * copies no image data.
 */
import { CorruptFileError } from '../errors.js';

/** A value read from a pickle. Lists and tuples are both arrays. */
export type PickleValue = Uint8Array | string | boolean | number | null | PickleValue[];

/** Marker objects on the stack: never returned to callers. */
const MARK = Symbol('mark');
const CODECS_ENCODE = Symbol('_codecs.encode');
const BYTES_TYPE = Symbol('builtins.bytes');
type StackItem = PickleValue | typeof MARK | typeof CODECS_ENCODE | typeof BYTES_TYPE;

const OP = {
  PROTO: 0x80,
  FRAME: 0x95,
  STOP: 0x2e,
  MARK: 0x28,
  EMPTY_LIST: 0x5d,
  EMPTY_TUPLE: 0x29,
  APPEND: 0x61,
  APPENDS: 0x65,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  SHORT_BINBYTES: 0x43,
  BINBYTES: 0x42,
  BINBYTES8: 0x8e,
  BYTEARRAY8: 0x96,
  SHORT_BINSTRING: 0x55,
  BINSTRING: 0x54,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE: 0x58,
  BINUNICODE8: 0x8d,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  NONE: 0x4e,
  BININT1: 0x4b,
  BININT2: 0x4d,
  BININT: 0x4a,
  MEMOIZE: 0x94,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  GLOBAL: 0x63,
  REDUCE: 0x52,
} as const;

const NAMES = new Map<number, string>(Object.entries(OP).map(([name, code]) => [code, name]));

/**
 * Reads one pickled object from `bytes`. `source` names the file in errors, which give the byte
 * offset of the opcode that could not be read (truncation, an unsupported opcode, a bad stack).
 */
export function unpickle(bytes: Uint8Array, source: string): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, StackItem>();
  let pos = 0;
  let opStart = 0;
  let opName = '';

  const fail = (problem: string): never => {
    throw new CorruptFileError(source, `byte offset ${opStart}${opName ? ` (${opName})` : ''}: ${problem}`);
  };
  const need = (count: number): number => {
    if (count > bytes.length - pos) {
      fail(`truncated: needs ${count} more byte(s), the file ends at byte ${bytes.length}`);
    }
    const at = pos;
    pos += count;
    return at;
  };
  const u8 = (): number => bytes[need(1)];
  const u32 = (): number => view.getUint32(need(4), true);
  const u64 = (): number => {
    const at = need(8);
    const hi = view.getUint32(at + 4, true);
    if (hi >= 0x200000) fail('length does not fit in 53 bits');
    return hi * 2 ** 32 + view.getUint32(at, true);
  };
  const take = (count: number): Uint8Array => {
    const at = need(count);
    return bytes.subarray(at, at + count);
  };
  const pop = (): StackItem => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop()!;
  };
  const popToMark = (): StackItem[] => {
    const mark = stack.lastIndexOf(MARK);
    if (mark < 0) fail('no MARK on the stack');
    const items = stack.splice(mark);
    items.shift();
    return items;
  };
  const value = (item: StackItem): PickleValue => {
    if (typeof item === 'symbol') fail('a marker or global cannot be used as a value here');
    return item as PickleValue;
  };
  const list = (): PickleValue[] => {
    const target = stack[stack.length - 1];
    if (!Array.isArray(target)) fail('APPEND target is not a list');
    return target as PickleValue[];
  };
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const text = (raw: Uint8Array): string => {
    try {
      return utf8.decode(raw);
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const ascii = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated: unterminated line');
    const s = Buffer.from(bytes.buffer, bytes.byteOffset + pos, end - pos).toString('latin1');
    pos = end + 1;
    return s;
  };

  for (;;) {
    opStart = pos;
    opName = '';
    if (pos >= bytes.length) fail('truncated: no STOP opcode before the end of the file');
    const op = bytes[pos++];
    opName = NAMES.get(op) ?? '';
    switch (op) {
      case OP.PROTO: {
        const version = u8();
        if (version < 2 || version > 5) fail(`unsupported pickle protocol ${version} (expected 2 to 5)`);
        break;
      }
      case OP.FRAME:
        u64(); // frames only group opcodes for buffered reading; the whole file is in memory
        break;
      case OP.STOP: {
        if (stack.length !== 1) fail(`expected one object on the stack at STOP, found ${stack.length}`);
        return value(stack[0]);
      }
      case OP.MARK:
        stack.push(MARK);
        break;
      case OP.EMPTY_LIST:
        stack.push([]);
        break;
      case OP.EMPTY_TUPLE:
        stack.push([]);
        break;
      case OP.APPEND: {
        const item = value(pop());
        list().push(item);
        break;
      }
      case OP.APPENDS: {
        const items = popToMark().map(value);
        const target = list();
        for (const item of items) target.push(item);
        break;
      }
      case OP.TUPLE:
        stack.push(popToMark().map(value));
        break;
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const count = op - OP.TUPLE1 + 1;
        if (stack.length < count) fail('stack underflow');
        stack.push(stack.splice(stack.length - count).map(value));
        break;
      }
      case OP.SHORT_BINBYTES:
      case OP.SHORT_BINSTRING:
        stack.push(take(u8()));
        break;
      case OP.BINBYTES:
        stack.push(take(u32()));
        break;
      case OP.BINSTRING: {
        const length = view.getInt32(need(4), true);
        if (length < 0) fail('negative string length');
        stack.push(take(length));
        break;
      }
      case OP.BINBYTES8:
      case OP.BYTEARRAY8:
        stack.push(take(u64()));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(text(take(u8())));
        break;
      case OP.BINUNICODE:
        stack.push(text(take(u32())));
        break;
      case OP.BINUNICODE8:
        stack.push(text(take(u64())));
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.NONE:
        stack.push(null);
        break;
      case OP.BININT1:
        stack.push(u8());
        break;
      case OP.BININT2:
        stack.push(view.getUint16(need(2), true));
        break;
      case OP.BININT:
        stack.push(view.getInt32(need(4), true));
        break;
      case OP.MEMOIZE:
        if (stack.length === 0) fail('stack underflow');
        memo.set(memo.size, stack[stack.length - 1]);
        break;
      case OP.BINPUT:
      case OP.LONG_BINPUT: {
        const key = op === OP.BINPUT ? u8() : u32();
        if (stack.length === 0) fail('stack underflow');
        memo.set(key, stack[stack.length - 1]);
        break;
      }
      case OP.BINGET:
      case OP.LONG_BINGET: {
        const key = op === OP.BINGET ? u8() : u32();
        if (!memo.has(key)) fail(`memo key ${key} was never stored`);
        stack.push(memo.get(key)!);
        break;
      }
      case OP.GLOBAL: {
        const module = ascii();
        const name = ascii();
        if (module === '_codecs' && name === 'encode') stack.push(CODECS_ENCODE);
        else if ((module === '__builtin__' || module === 'builtins') && name === 'bytes')
          stack.push(BYTES_TYPE);
        else fail(`refusing the global ${module}.${name}: only plain data is supported`);
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const callable = pop();
        stack.push(reduce(callable, args));
        break;
      }
      default:
        fail(
          `unsupported opcode 0x${op.toString(16).padStart(2, '0')}: only plain data (lists, tuples, bytes, bools) is supported`,
        );
    }
  }

  // Python 3 pickles `bytes` under protocol 2 as `_codecs.encode(text, 'latin1')` (and b'' as
  // `bytes()`); rebuild the bytes instead of calling anything.
  function reduce(callable: StackItem, args: StackItem): PickleValue {
    if (callable === BYTES_TYPE && Array.isArray(args) && args.length === 0) return new Uint8Array(0);
    if (
      callable === CODECS_ENCODE &&
      Array.isArray(args) &&
      args.length === 2 &&
      typeof args[0] === 'string' &&
      args[1] === 'latin1'
    ) {
      const s = args[0];
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 0xff) fail('latin1 text holds a character above U+00FF');
        out[i] = c;
      }
      return out;
    }
    return fail('REDUCE is only supported for bytes encoded by Python 3 under protocol 2');
  }
}
