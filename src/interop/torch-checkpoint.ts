/**
 * PyTorch checkpoints (`.pth`, `.pt`) holding a state dict, in both formats `torch.save` writes:
 *
 * - zip (PyTorch ≥ 1.6): `<folder>/data.pkl` pickles the dict with persistent ids naming the storages
 *   `<folder>/data/<key>`; the folder name varies.
 * - legacy: five pickles in a row (magic number, protocol version 1001, system info, the dict, the list
 *   of storage keys), then each storage as an int64 element count and its raw bytes.
 *
 * The pickles are read by the safe unpickler with an allow-list of exactly what a state dict needs:
 * `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` (and `_rebuild_tensor`,
 * `_rebuild_parameter`), and the storage types. Strides and storage offsets are honoured, so
 * non-contiguous views come out as the tensors they show. Nothing in the file is executed.
 */
import { CorruptFileError, InvalidArgumentError } from '../errors.js';
import { MiB, readRegularFile } from '../regular-file.js';
import { type DType, type ElementArray, gather, ITEM_SIZE } from './dtype.js';
import type { PickleFail, PickleObject, PickleProfile, PickleValue } from './pickle.js';
import { unpickleWith } from './pickle.js';
import { isZip, openZip } from './zip.js';

/** A tensor of a checkpoint: C-ordered elements (float16/bfloat16 widened to float32). */
export interface TorchTensor {
  /** The stored element type. */
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: ElementArray;
}

/** A state dict read from a checkpoint. */
export interface TorchCheckpoint {
  readonly format: 'zip' | 'legacy';
  /** Tensors by key, in file order. */
  readonly tensors: ReadonlyMap<string, TorchTensor>;
}

/** Default size cap of a checkpoint: IResNet-200 in float32 is about 260 MiB. */
export const CHECKPOINT_MAX_BYTES = 2048 * MiB;

const STORAGE_TYPES: Readonly<Record<string, DType>> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

interface StorageType extends PickleObject {
  readonly pickled: 'storage type';
  readonly dtype: DType;
}
interface Storage extends PickleObject {
  readonly pickled: 'storage';
  readonly key: string;
  readonly dtype: DType;
  readonly numel: number;
  bytes?: Uint8Array;
}
interface TensorView extends PickleObject {
  readonly pickled: 'tensor';
  readonly storage: Storage;
  readonly offset: number;
  readonly shape: number[];
  readonly stride: number[];
}

const isObject = (v: PickleValue, kind: string): boolean =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  !(v instanceof Map) &&
  !(v instanceof Uint8Array)
    ? (v as PickleObject).pickled === kind
    : false;

const naturals = (v: PickleValue, what: string, fail: PickleFail): number[] => {
  if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) {
    return fail(`${what}: expected a tuple of non-negative integers`);
  }
  return v as number[];
};

/** `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`. */
function rebuildTensor(args: PickleValue[], fail: PickleFail): PickleValue {
  if (args.length < 4) fail('_rebuild_tensor: expected (storage, offset, size, stride, …)');
  const [storage, offset, size, stride] = args;
  if (!isObject(storage, 'storage')) fail('_rebuild_tensor: the first argument is not a storage');
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) fail('_rebuild_tensor: bad storage offset');
  const shape = naturals(size, '_rebuild_tensor size', fail);
  const strides = naturals(stride, '_rebuild_tensor stride', fail);
  if (shape.length !== strides.length) fail('_rebuild_tensor: size and stride differ in length');
  const view: TensorView = {
    pickled: 'tensor',
    storage: storage as Storage,
    offset: offset as number,
    shape,
    stride: strides,
  };
  return view;
}

const storageTypeRules = Object.fromEntries(
  Object.entries(STORAGE_TYPES).map(([name, dtype]) => [
    `torch.${name}`,
    { value: { pickled: 'storage type', dtype } as StorageType },
  ]),
);

/** The torch profile, with storages registered in `storages` by key as the pickle names them. */
function torchProfile(storages: Map<string, Storage>, legacy: boolean): PickleProfile {
  return {
    what: 'a PyTorch state dict (tensors in ordered dicts)',
    mappings: true,
    globals: {
      ...storageTypeRules,
      'collections.OrderedDict': {
        reduce: (args, fail) => {
          if (args.length === 0) return new Map();
          const [pairs] = args;
          if (args.length !== 1 || !Array.isArray(pairs)) return fail('OrderedDict: expected () or (pairs,)');
          const out = new Map<PickleValue, PickleValue>();
          for (const pair of pairs) {
            if (!Array.isArray(pair) || pair.length !== 2) fail('OrderedDict: expected (key, value) pairs');
            out.set((pair as PickleValue[])[0], (pair as PickleValue[])[1]);
          }
          return out;
        },
      },
      'torch._utils._rebuild_tensor_v2': { reduce: rebuildTensor },
      'torch._utils._rebuild_tensor': { reduce: rebuildTensor },
      'torch._utils._rebuild_parameter': {
        reduce: (args, fail) =>
          isObject(args[0], 'tensor') ? args[0] : fail('_rebuild_parameter: expected a tensor'),
      },
    },
    persistentLoad: (id, fail) => {
      // ('storage', storage_type, key, location, numel[, view_metadata])
      if (!Array.isArray(id) || id[0] !== 'storage' || id.length < 5) {
        return fail('persistent id: expected a storage reference');
      }
      const [, type, key, , numel] = id;
      if (!isObject(type, 'storage type')) fail('persistent id: not a storage type');
      if (typeof key !== 'string') fail('persistent id: the storage key is not a string');
      if (!Number.isSafeInteger(numel) || (numel as number) < 0) fail('persistent id: bad element count');
      if (legacy && id.length > 5 && id[5] !== null) fail('storage views of PyTorch < 0.4 are not supported');
      const dtype = (type as StorageType).dtype;
      const known = storages.get(key as string);
      if (known !== undefined) {
        if (known.dtype !== dtype) fail(`storage ${key} is used with two element types`);
        return known;
      }
      const storage: Storage = { pickled: 'storage', key: key as string, dtype, numel: numel as number };
      storages.set(key as string, storage);
      return storage;
    },
  };
}

/** Reads the checkpoint at `path` (size cap `maxBytes`, default {@link CHECKPOINT_MAX_BYTES}). */
export function readTorchCheckpoint(path: string, options: { maxBytes?: number } = {}): TorchCheckpoint {
  const bytes = readRegularFile(path, {
    what: 'a PyTorch checkpoint (.pth)',
    maxBytes: options.maxBytes ?? CHECKPOINT_MAX_BYTES,
  });
  return parseTorchCheckpoint(bytes, path);
}

/** Parses the bytes of a checkpoint; `source` names the file in errors. */
export function parseTorchCheckpoint(bytes: Uint8Array, source: string): TorchCheckpoint {
  const storages = new Map<string, Storage>();
  let root: PickleValue;
  let format: TorchCheckpoint['format'];
  if (isZip(bytes)) {
    format = 'zip';
    const zip = openZip(bytes, source);
    const pkl = [...zip.entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkl === undefined) throw new CorruptFileError(source, 'a zip archive without <folder>/data.pkl');
    const folder = pkl.slice(0, -'data.pkl'.length);
    if (zip.entries.has(`${folder}byteorder`)) {
      const order = Buffer.from(zip.read(`${folder}byteorder`)).toString('latin1');
      if (order !== 'little')
        throw new CorruptFileError(source, `byte order '${order}' (little-endian only)`);
    }
    root = unpickleWith(zip.read(pkl), `${source}:${pkl}`, torchProfile(storages, false)).value;
    for (const storage of storages.values()) {
      const name = `${folder}data/${storage.key}`;
      if (!zip.entries.has(name)) throw new CorruptFileError(source, `storage ${name} is missing`);
      storage.bytes = zip.read(name);
    }
  } else {
    format = 'legacy';
    root = readLegacy(bytes, source, storages);
  }
  for (const storage of storages.values()) {
    const need = storage.numel * ITEM_SIZE[storage.dtype];
    if (storage.bytes === undefined || storage.bytes.length < need) {
      throw new CorruptFileError(
        source,
        `storage ${storage.key} holds ${storage.bytes?.length ?? 0} bytes, ${storage.numel} ${storage.dtype} elements need ${need}`,
      );
    }
  }
  return { format, tensors: stateDict(root, source) };
}

function readLegacy(bytes: Uint8Array, source: string, storages: Map<string, Storage>): PickleValue {
  const profile = torchProfile(storages, true);
  const magic = unpickleWith(bytes, source, profile);
  if (magic.value !== LEGACY_MAGIC) {
    throw new CorruptFileError(
      source,
      'not a PyTorch checkpoint (neither a zip archive nor the legacy magic number)',
    );
  }
  const protocol = unpickleWith(bytes, source, profile, magic.end);
  if (protocol.value !== LEGACY_PROTOCOL) {
    throw new CorruptFileError(
      source,
      `legacy protocol ${String(protocol.value)} (expected ${LEGACY_PROTOCOL})`,
    );
  }
  const info = unpickleWith(bytes, source, profile, protocol.end);
  if (!(info.value instanceof Map) || info.value.get('little_endian') !== true) {
    throw new CorruptFileError(source, 'written on a big-endian machine (little-endian only)');
  }
  const main = unpickleWith(bytes, source, profile, info.end);
  const keys = unpickleWith(bytes, source, profile, main.end);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
    throw new CorruptFileError(source, 'the list of storage keys is not a list of strings');
  }
  let at = keys.end;
  for (const key of keys.value as string[]) {
    const storage = storages.get(key);
    if (storage === undefined) throw new CorruptFileError(source, `storage ${key} is listed but never used`);
    if (at + 8 > bytes.length) throw new CorruptFileError(source, `truncated before storage ${key}`);
    const numel = Number(new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigInt64(0, true));
    if (numel !== storage.numel) {
      throw new CorruptFileError(
        source,
        `storage ${key} holds ${numel} elements, the pickle says ${storage.numel}`,
      );
    }
    const length = numel * ITEM_SIZE[storage.dtype];
    if (at + 8 + length > bytes.length) throw new CorruptFileError(source, `storage ${key} is truncated`);
    storage.bytes = bytes.subarray(at + 8, at + 8 + length);
    at += 8 + length;
  }
  return main.value;
}

/** The tensors of the state dict in `root` (or in `root['state_dict']`, as training scripts wrap it). */
function stateDict(root: PickleValue, source: string): Map<string, TorchTensor> {
  let dict = root;
  if (dict instanceof Map && dict.get('state_dict') instanceof Map) dict = dict.get('state_dict')!;
  if (!(dict instanceof Map)) throw new CorruptFileError(source, 'expected a state dict (a dict of tensors)');
  const out = new Map<string, TorchTensor>();
  const keys = [...dict.keys()];
  // nn.DataParallel saves every key under `module.`.
  const strip = keys.length > 0 && keys.every((k) => typeof k === 'string' && k.startsWith('module.'));
  for (const [key, value] of dict) {
    if (typeof key !== 'string') throw new CorruptFileError(source, 'a state dict key is not a string');
    if (!isObject(value, 'tensor')) {
      throw new InvalidArgumentError(
        `${source}: '${key}'`,
        'a tensor (only state dicts are read)',
        typeof value,
      );
    }
    out.set(strip ? key.slice('module.'.length) : key, materialise(value as TensorView, `${source}: ${key}`));
  }
  return out;
}

/** The C-ordered elements a (possibly strided) view shows of its storage. */
function materialise(view: TensorView, where: string): TorchTensor {
  const { storage, offset, shape, stride } = view;
  const count = shape.reduce((a, b) => a * b, 1);
  // A saved state dict holds no overlapping views (`expand`); refusing them also bounds the memory a
  // small file can ask for.
  if (count > storage.numel) {
    throw new CorruptFileError(
      where,
      `a view of ${count} elements over a storage of ${storage.numel} (overlapping views are not read)`,
    );
  }
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += shape[d] > 0 ? (shape[d] - 1) * stride[d] : 0;
  if (count > 0 && last >= storage.numel) {
    throw new CorruptFileError(where, `the view reaches element ${last} of a storage of ${storage.numel}`);
  }
  const rank = shape.length;
  let contiguous = true;
  for (let d = rank - 1, step = 1; d >= 0; step *= shape[d], d--) {
    if (shape[d] !== 1 && stride[d] !== step) contiguous = false;
  }
  const strided = (i: number): number => {
    let at = offset;
    for (let d = rank - 1; d >= 0; d--) {
      const n = shape[d];
      at += (i % n) * stride[d];
      i = Math.floor(i / n);
    }
    return at;
  };
  if (contiguous && storage.dtype === 'float32' && LITTLE_ENDIAN_HOST) {
    // The common case, copied as one block (the storage may sit at any alignment in the file).
    const start = storage.bytes!.byteOffset + 4 * offset;
    const data = new Float32Array(storage.bytes!.buffer.slice(start, start + 4 * count));
    return { dtype: storage.dtype, shape, data };
  }
  const index = contiguous ? (i: number) => offset + i : strided;
  return { dtype: storage.dtype, shape, data: gather(storage.bytes!, storage.dtype, count, index) };
}
