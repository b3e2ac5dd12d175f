/**
 * Reuse of the native kernels' output arrays on the cpu backend.
 *
 * A training step allocates and frees the same few dozen activation-sized arrays every step. Fresh
 * ones cost twice: the allocator hands out untouched pages (page faults), and every ArrayBuffer counts
 * as external memory for V8, whose pressure starts a scavenge every few megabytes and a full mark-compact
 * of the heap every few steps — most of a small network's step. So the arrays the native kernels return
 * ({@link outputFloats}, {@link zeroedFloats}) come back here when TF.js disposes their tensor, in
 * buckets by length, and the next kernel asking for that length takes one.
 *
 * An array is reused only when nothing else can still see it. The hooks on the backend instance make
 * sure of that: an array whose values were ever read out of the backend (`readSync`, `read`: a
 * `dataSync()` or `data()` hands out the array itself) or whose buffer was ever registered for a second
 * tensor (TF.js's `Slice` returns a view of its input) is never reused, and one that was handed out but
 * never became a tensor is left to the garbage collector.
 */
import type * as TF from '@tensorflow/tfjs';

/** Arrays shorter than this are left to the garbage collector (their external memory is negligible). */
const MIN_POOLED = 1024;
/** Most bytes kept idle in the pool; arrays freed beyond it are left to the garbage collector. */
const MAX_IDLE_BYTES = 512 * 1024 * 1024;

/** What is known of an array this module handed out. */
interface Handed {
  array: Float32Array;
  /** The array is the values of one tensor of the backend. */
  registered: boolean;
  /** Something besides that tensor may hold the array: never reuse it. */
  shared: boolean;
}

/** Arrays handed out and not yet back, by their buffer (views of an array share it). */
const handed = new WeakMap<ArrayBufferLike, Handed>();
/** Idle arrays by length. */
const idle = new Map<number, Float32Array[]>();
let idleBytes = 0;

function fresh(n: number): Float32Array {
  // Uninitialised memory; the callers write every element (or fill it).
  const bytes = Buffer.allocUnsafeSlow(n * Float32Array.BYTES_PER_ELEMENT);
  return new Float32Array(bytes.buffer, bytes.byteOffset, n);
}

/**
 * Room for the `n` values of a kernel output that the native engine writes in full: a reused array of
 * that length when one is idle, else fresh uninitialised memory. Never for an output a kernel only
 * adds into (see {@link zeroedFloats}).
 */
export function outputFloats(n: number): Float32Array {
  if (n < MIN_POOLED) return new Float32Array(n);
  const array = idle.get(n)?.pop() ?? null;
  if (array) idleBytes -= array.byteLength;
  const out = array ?? fresh(n);
  handed.set(out.buffer, { array: out, registered: false, shared: false });
  return out;
}

/** As {@link outputFloats}, filled with zeros, for outputs a kernel adds into. */
export function zeroedFloats(n: number): Float32Array {
  if (n < MIN_POOLED) return new Float32Array(n);
  return outputFloats(n).fill(0);
}

/** Marks the array behind `values` as seen from outside its tensor, if it is one of ours. */
function markShared(values: unknown): void {
  if (!ArrayBuffer.isView(values)) return;
  const entry = handed.get(values.buffer);
  if (entry) entry.shared = true;
}

/** `values` were registered as a tensor's data. */
function noteWritten(values: unknown): void {
  if (!ArrayBuffer.isView(values)) return;
  const entry = handed.get(values.buffer);
  if (!entry) return;
  if (!entry.registered && values === entry.array) entry.registered = true;
  else entry.shared = true;
}

/** The tensor holding `values` is gone: pool them if they are ours and nothing else can see them. */
function release(values: unknown): void {
  if (!ArrayBuffer.isView(values)) return;
  const entry = handed.get(values.buffer);
  if (!entry || entry.shared || !entry.registered || values !== entry.array) return;
  handed.delete(values.buffer);
  const array = entry.array;
  if (idleBytes + array.byteLength > MAX_IDLE_BYTES) return;
  const list = idle.get(array.length);
  if (list) list.push(array);
  else idle.set(array.length, [array]);
  idleBytes += array.byteLength;
}

/** The methods of the cpu backend instance that the pool watches. */
interface WatchedBackend {
  data: { get(dataId: object): { values?: unknown } | undefined; has(dataId: object): boolean };
  write(values: unknown, shape: number[], dtype: TF.DataType): object;
  move(dataId: object, values: unknown, shape: number[], dtype: TF.DataType, refCount: number): void;
  readSync(dataId: object): unknown;
  read(dataId: object): Promise<unknown>;
  disposeData(dataId: object, force?: boolean): boolean;
}

type Method = 'write' | 'move' | 'readSync' | 'read' | 'disposeData';
const METHODS: readonly Method[] = ['write', 'move', 'readSync', 'read', 'disposeData'];

/** Backends watched now, with the own properties the hooks replaced (undefined: there was none). */
const watched = new WeakMap<object, Map<Method, PropertyDescriptor | undefined>>();

/** The hooks for `backend`, calling what its methods were before (`original`). */
function hooks(
  backend: WatchedBackend,
  original: Pick<WatchedBackend, Method>,
): Pick<WatchedBackend, Method> {
  return {
    write(values, shape, dtype) {
      noteWritten(values);
      return original.write.call(backend, values, shape, dtype);
    },
    move(dataId, values, shape, dtype, refCount) {
      markShared(values);
      original.move.call(backend, dataId, values, shape, dtype, refCount);
    },
    readSync(dataId) {
      markShared(backend.data.get(dataId)?.values);
      return original.readSync.call(backend, dataId);
    },
    read(dataId) {
      markShared(backend.data.get(dataId)?.values);
      return original.read.call(backend, dataId);
    },
    disposeData(dataId, force) {
      const values = backend.data.get(dataId)?.values;
      const result = original.disposeData.call(backend, dataId, force);
      if (values !== undefined && !backend.data.has(dataId)) release(values);
      return result;
    },
  };
}

/**
 * Starts pooling on the cpu backend of `tf` (created if need be). Idempotent; false when there is no cpu
 * backend.
 */
export function watchCpuBackend(tf: typeof TF): boolean {
  const backend = tf.findBackend('cpu') as unknown as WatchedBackend | null;
  if (!backend) return false;
  if (watched.has(backend)) return true;
  const saved = new Map<Method, PropertyDescriptor | undefined>();
  const original = {} as Record<Method, unknown>;
  for (const name of METHODS) {
    saved.set(name, Object.getOwnPropertyDescriptor(backend, name));
    original[name] = backend[name];
  }
  const replacement = hooks(backend, original as unknown as Pick<WatchedBackend, Method>);
  for (const name of METHODS) {
    Object.defineProperty(backend, name, { value: replacement[name], configurable: true, writable: true });
  }
  watched.set(backend, saved);
  return true;
}

/** Stops pooling on the cpu backend of `tf` and empties the pool. Idempotent. */
export function unwatchCpuBackend(tf: typeof TF): void {
  const backend = tf.findBackend('cpu') as unknown as WatchedBackend | null;
  const saved = backend ? watched.get(backend) : undefined;
  if (backend && saved) {
    for (const [name, descriptor] of saved) {
      if (descriptor) Object.defineProperty(backend, name, descriptor);
      else delete (backend as unknown as Record<string, unknown>)[name];
    }
    watched.delete(backend);
  }
  idle.clear();
  idleBytes = 0;
}

/** Bytes held idle in the pool now (for tests and diagnostics). */
export function pooledBytes(): number {
  return idleBytes;
}
