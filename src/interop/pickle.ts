/**
 * A reader for Python's pickle format (protocols 2 to 5) that never executes anything. What a pickle
 * may build is decided by a {@link PickleProfile}: an allow-list of globals, each with the value it
 * stands for or a small interpreter of its REDUCE arguments written here in TypeScript, and an optional
 * persistent-id loader. Any other global, and any opcode outside the profile, is refused with an
 * {@link UnsupportedPickleError} naming it.
 *
 * Two profiles use it: plain data for insightface `.bin` verification sets (`src/eval/pickle.ts`) and
 * what `torch.save` writes for a state dict (`torch-checkpoint.ts`). Bytes objects are returned as views
 * into the input, so large payloads are not copied.
 */
import { CorruptFileError, UnsupportedPickleError } from '../errors.js';

/** An object built by a profile's global (a tensor, a storage type); `pickled` says what it is. */
export interface PickleObject {
  readonly pickled: string;
}

/** A dict (or `collections.OrderedDict`), in insertion order. */
export type PickleDict = Map<PickleValue, PickleValue>;

/**
 * A value read from a pickle. Lists and tuples are both arrays; integers beyond 2^53 are bigints.
 * Dicts, floats and objects only come from profiles that allow them.
 */
export type PickleValue =
  | Uint8Array
  | string
  | boolean
  | number
  | bigint
  | null
  | PickleValue[]
  | PickleDict
  | PickleObject;

/** Reports a problem at the current opcode; never returns. */
export type PickleFail = (problem: string) => never;

/** What one allowed global may do. */
export interface GlobalRule {
  /** The value the global stands for where it is used as data (e.g. `torch.FloatStorage`). */
  readonly value?: PickleObject;
  /** Interprets `global(*args)` (REDUCE); absent: the global cannot be called. */
  readonly reduce?: (args: PickleValue[], fail: PickleFail) => PickleValue;
}

/** What a kind of file may hold. */
export interface PickleProfile {
  /** Said in errors: "only <what> is supported". */
  readonly what: string;
  /** Allowed globals by `module.name`. */
  readonly globals: Readonly<Record<string, GlobalRule>>;
  /** Accept dicts, floats, long integers, BUILD and STACK_GLOBAL (default false: lists, tuples, bytes). */
  readonly mappings?: boolean;
  /** Resolves BINPERSID ids (absent: persistent ids are refused). */
  readonly persistentLoad?: (id: PickleValue, fail: PickleFail) => PickleValue;
}

/** One pickle read from a byte stream, and where it ended (the next pickle may follow). */
export interface Unpickled {
  readonly value: PickleValue;
  /** Offset just after the STOP opcode. */
  readonly end: number;
}

/** Marker objects on the stack: never returned to callers. */
const MARK = Symbol('mark');

/** A global on the stack, before it is called or used as data. */
class GlobalRef {
  constructor(
    readonly name: string,
    readonly rule: GlobalRule,
  ) {}
}

type StackItem = PickleValue | typeof MARK | GlobalRef;

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
  // Only with `mappings`:
  EMPTY_DICT: 0x7d,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  BUILD: 0x62,
  BINFLOAT: 0x47,
  LONG1: 0x8a,
  LONG4: 0x8b,
  STACK_GLOBAL: 0x93,
  // Only with `persistentLoad`:
  BINPERSID: 0x51,
} as const;

const NAMES = new Map<number, string>(Object.entries(OP).map(([name, code]) => [code, name]));
const MAPPING_OPS = new Set<number>([
  OP.EMPTY_DICT,
  OP.SETITEM,
  OP.SETITEMS,
  OP.BUILD,
  OP.BINFLOAT,
  OP.LONG1,
  OP.LONG4,
  OP.STACK_GLOBAL,
]);

/**
 * Reads the pickle that starts at byte `start` of `bytes` under `profile`. `source` names the file in
 * errors, which give the byte offset and name of the opcode that could not be read.
 */
export function unpickleWith(
  bytes: Uint8Array,
  source: string,
  profile: PickleProfile,
  start = 0,
): Unpickled {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, StackItem>();
  let pos = start;
  let opStart = start;
  let opName = '';

  const where = () => `byte offset ${opStart}${opName ? ` (${opName})` : ''}`;
  const fail: PickleFail = (problem) => {
    throw new CorruptFileError(source, `${where()}: ${problem}`);
  };
  const refuse = (problem: string, global?: string): never => {
    throw new UnsupportedPickleError(source, `${where()}: ${problem}`, global);
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
  const top = (): StackItem => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popToMark = (): StackItem[] => {
    const mark = stack.lastIndexOf(MARK);
    if (mark < 0) fail('no MARK on the stack');
    const items = stack.splice(mark);
    items.shift();
    return items;
  };
  const value = (item: StackItem): PickleValue => {
    if (item instanceof GlobalRef) {
      if (item.rule.value === undefined) fail(`the global ${item.name} cannot be used as a value here`);
      return item.rule.value!;
    }
    if (item === MARK) fail('a marker cannot be used as a value here');
    return item as PickleValue;
  };
  const list = (): PickleValue[] => {
    const target = top();
    if (!Array.isArray(target)) fail('APPEND target is not a list');
    return target as PickleValue[];
  };
  const dict = (): PickleDict => {
    const target = top();
    if (!(target instanceof Map)) fail('SETITEM target is not a dict');
    return target as PickleDict;
  };
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const text = (raw: Uint8Array): string => {
    try {
      return utf8.decode(raw);
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated: unterminated line');
    const s = Buffer.from(bytes.buffer, bytes.byteOffset + pos, end - pos).toString('latin1');
    pos = end + 1;
    return s;
  };
  const global = (module: string, name: string): GlobalRef => {
    const full = `${module}.${name}`;
    const rule = Object.hasOwn(profile.globals, full) ? profile.globals[full] : undefined;
    if (rule === undefined) refuse(`refusing the global ${full}: only ${profile.what} is supported`, full);
    return new GlobalRef(full, rule!);
  };
  const longInt = (raw: Uint8Array): number | bigint => {
    // Little-endian two's complement, as pickle's encode_long.
    let n = 0n;
    for (let i = raw.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(raw[i]);
    if (raw.length > 0 && raw[raw.length - 1] & 0x80) n -= 1n << BigInt(8 * raw.length);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  };

  for (;;) {
    opStart = pos;
    opName = '';
    if (pos >= bytes.length) fail('truncated: no STOP opcode before the end of the file');
    const op = bytes[pos++];
    opName = NAMES.get(op) ?? '';
    if (
      (MAPPING_OPS.has(op) && !profile.mappings) ||
      (op === OP.BINPERSID && !profile.persistentLoad) ||
      !NAMES.has(op)
    ) {
      opName = '';
      refuse(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}: only ${profile.what} is supported`);
    }
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
        return { value: value(stack[0]), end: pos };
      }
      case OP.MARK:
        stack.push(MARK);
        break;
      case OP.EMPTY_LIST:
      case OP.EMPTY_TUPLE:
        stack.push([]);
        break;
      case OP.EMPTY_DICT:
        stack.push(new Map());
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
      case OP.SETITEM: {
        const v = value(pop());
        const k = value(pop());
        dict().set(k, v);
        break;
      }
      case OP.SETITEMS: {
        const items = popToMark().map(value);
        if (items.length % 2 !== 0) fail('SETITEMS needs key/value pairs');
        const target = dict();
        for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
        break;
      }
      case OP.BUILD: {
        // `obj.__setstate__(state)`: only an OrderedDict's attributes (torch's `_metadata` of module
        // versions) are expected, and they carry nothing we read, so the state is dropped.
        const state = value(pop());
        if (!(top() instanceof Map) || !(state instanceof Map || state === null)) {
          fail('BUILD is only supported for attributes of a dict');
        }
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
      case OP.LONG1:
        stack.push(longInt(take(u8())));
        break;
      case OP.LONG4: {
        const length = view.getInt32(need(4), true);
        if (length < 0 || length > 64) fail(`long integer of ${length} bytes (at most 64 are read)`);
        stack.push(longInt(take(length)));
        break;
      }
      case OP.BINFLOAT:
        stack.push(view.getFloat64(need(8), false));
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINPUT:
      case OP.LONG_BINPUT: {
        const key = op === OP.BINPUT ? u8() : u32();
        memo.set(key, top());
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
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case OP.REDUCE: {
        const args = value(pop());
        const callable = pop();
        if (!(callable instanceof GlobalRef)) fail('REDUCE needs a global to call');
        const ref = callable as GlobalRef;
        if (ref.rule.reduce === undefined) refuse(`the global ${ref.name} cannot be called`, ref.name);
        if (!Array.isArray(args)) fail(`the arguments of ${ref.name} are not a tuple`);
        stack.push(ref.rule.reduce!(args as PickleValue[], fail));
        break;
      }
      case OP.BINPERSID:
        stack.push(profile.persistentLoad!(value(pop()), fail));
        break;
    }
  }
}
