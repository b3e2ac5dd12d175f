/**
 * PyTorch checkpoints: the zip and legacy formats, every storage type the fixtures hold, strided views,
 * and pickles that ask for code to run, which are refused with a typed error naming what they asked for.
 * Fixtures come from test/fixtures/interop/generate.py (PyTorch 1.13).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptFileError, UnsupportedPickleError } from '../../src/errors.js';
import { openZip, parseTorchCheckpoint, readTorchCheckpoint } from '../../src/interop/index.js';
import { PickleBytes, OP as PLAIN_OP } from '../eval/pickle-bytes.js';
import { storedZip } from './zip-bytes.js';

/** The opcodes used here (pickletools names). */
const OP = { ...PLAIN_OP, EMPTY_TUPLE: 0x29, NONE: 0x4e, REDUCE: 0x52 } as const;

const FIXTURES = join(import.meta.dirname, '../fixtures/interop');
const fixture = (name: string) => join(FIXTURES, name);

/** A checkpoint in the zip format whose data.pkl is `pickle`. */
const zipped = (pickle: Uint8Array) =>
  parseTorchCheckpoint(storedZip({ 'evil/data.pkl': pickle }), 'evil.pth');

/** GLOBAL module\nname\n as the opcode writes it. */
const global = (p: PickleBytes, module: string, name: string) =>
  p.op(0x63).raw(Buffer.from(`${module}\n${name}\n`));

function refusal(read: () => unknown): UnsupportedPickleError {
  try {
    read();
  } catch (err) {
    expect(err).toBeInstanceOf(UnsupportedPickleError);
    return err as UnsupportedPickleError;
  }
  throw new Error('expected the pickle to be refused');
}

describe('PyTorch checkpoint reader', () => {
  it.each([
    ['views.pt', 'zip'],
    ['views-legacy.pt', 'legacy'],
  ])(
    'reads strided views, storage offsets, int64, float64 and 0-d tensors of %s as PyTorch shows them',
    (name, format) => {
      const checkpoint = readTorchCheckpoint(fixture(name));
      const expected = JSON.parse(readFileSync(fixture('views.json'), 'utf8')) as Record<
        string,
        { shape: number[]; data: number[] }
      >;
      expect(checkpoint.format).toBe(format);
      expect([...checkpoint.tensors.keys()]).toEqual(Object.keys(expected));
      for (const [key, tensor] of checkpoint.tensors) {
        expect(tensor.shape, key).toEqual(expected[key].shape);
        expect(Array.from(tensor.data as ArrayLike<number | bigint>, Number), key).toEqual(
          expected[key].data,
        );
      }
      expect(checkpoint.tensors.get('int64')!.data).toBeInstanceOf(BigInt64Array);
      expect(checkpoint.tensors.get('float64')!.dtype).toBe('float64');
    },
  );

  it.each([
    ['iresnet-1111-w8.pth', 'zip', 'float32'],
    ['iresnet-2111-w8-f16-legacy.pth', 'legacy', 'float16'],
    ['iresnet-1211-w8-bf16.pth', 'zip', 'bfloat16'],
  ])('reads %s (%s format, %s storages)', (name, format, dtype) => {
    const checkpoint = readTorchCheckpoint(fixture(name));
    expect(checkpoint.format).toBe(format);
    const conv = checkpoint.tensors.get('conv1.weight')!;
    expect(conv.dtype).toBe(dtype);
    expect(conv.shape).toEqual([8, 3, 3, 3]);
    expect(conv.data).toBeInstanceOf(Float32Array);
    expect(Array.from(conv.data as Float32Array).every(Number.isFinite)).toBe(true);
    // Batch-norm counters stay integers; the randomised variances are in [0.5, 1.5].
    expect(checkpoint.tensors.get('bn1.num_batches_tracked')!.data).toEqual(BigInt64Array.of(1000n));
    for (const v of checkpoint.tensors.get('bn1.running_var')!.data as Float32Array) {
      expect(v).toBeGreaterThanOrEqual(0.49);
      expect(v).toBeLessThanOrEqual(1.51);
    }
  });

  it('reads archives repacked with deflate, under any folder name', () => {
    const original = openZip(readFileSync(fixture('views.pt')), 'views.pt');
    const entries = Object.fromEntries(
      [...original.entries.keys()].map((name) => [name.replace(/^views\//, 'renamed/'), original.read(name)]),
    );
    const repacked = parseTorchCheckpoint(storedZip(entries, { deflate: true }), 'repacked.pt');
    const reference = readTorchCheckpoint(fixture('views.pt'));
    expect([...repacked.tensors.keys()]).toEqual([...reference.tensors.keys()]);
    for (const [key, tensor] of repacked.tensors)
      expect(tensor.data, key).toEqual(reference.tensors.get(key)!.data);
  });

  it('refuses a view that shows more elements than its storage holds (stride 0)', () => {
    expect(() => readTorchCheckpoint(fixture('overlapping.pt'))).toThrow(
      /expanded: a view of 1000 elements over a storage of 1 \(overlapping views are not read\)/,
    );
  });

  it('refuses os.system called through GLOBAL and REDUCE, naming the global', () => {
    const p = new PickleBytes().op(OP.PROTO, 2);
    global(p, 'os', 'system').op(0x8c, 2).raw(Buffer.from('id')).op(0x85, OP.REDUCE, OP.STOP);
    const err = refusal(() => zipped(p.bytes()));
    expect(err.global).toBe('os.system');
    expect(err.message).toMatch(
      /evil\.pth:evil\/data\.pkl: byte offset 2 \(GLOBAL\): refusing the global os\.system/,
    );
    expect(err.code).toBe('UNSUPPORTED_PICKLE');
  });

  it('refuses builtins.eval reached through STACK_GLOBAL (protocol 4)', () => {
    const p = new PickleBytes().op(OP.PROTO, 4);
    p.op(0x8c, 8).raw(Buffer.from('builtins')).op(0x8c, 4).raw(Buffer.from('eval')).op(0x93);
    p.op(0x8c, 4).raw(Buffer.from('1+1')).op(0x85, OP.REDUCE, OP.STOP);
    expect(refusal(() => zipped(p.bytes())).global).toBe('builtins.eval');
  });

  it('refuses a malicious legacy checkpoint before reading anything else', () => {
    const p = new PickleBytes().op(OP.PROTO, 2);
    global(p, 'subprocess', 'Popen').op(OP.EMPTY_TUPLE, OP.REDUCE, OP.STOP);
    expect(refusal(() => parseTorchCheckpoint(p.bytes(), 'old.pth')).global).toBe('subprocess.Popen');
  });

  it('refuses opcodes it does not read (INST, OBJ, NEWOBJ) and calling a storage type', () => {
    for (const op of [0x69, 0x6f, 0x81]) {
      const bytes = Uint8Array.from([0x80, 2, OP.EMPTY_TUPLE, OP.EMPTY_TUPLE, op, OP.STOP]);
      expect(refusal(() => zipped(bytes)).message).toMatch(
        new RegExp(`unsupported opcode 0x${op.toString(16)}: only a PyTorch state dict`),
      );
    }
    const p = new PickleBytes().op(OP.PROTO, 2);
    global(p, 'torch', 'FloatStorage').op(OP.EMPTY_TUPLE, OP.REDUCE, OP.STOP);
    expect(refusal(() => zipped(p.bytes())).global).toBe('torch.FloatStorage');
  });

  it('reports a missing storage, a view beyond its storage and truncation as corrupt files', () => {
    const bytes = readFileSync(fixture('iresnet-1111-w8.pth'));
    expect(() => parseTorchCheckpoint(bytes.subarray(0, bytes.length - 100), 'cut.pth')).toThrow(
      CorruptFileError,
    );
    const legacy = readFileSync(fixture('iresnet-2111-w8-f16-legacy.pth'));
    expect(() => parseTorchCheckpoint(legacy.subarray(0, legacy.length - 10), 'cut.pth')).toThrow(
      /truncated/,
    );
    // A plain pickle that is neither a zip nor starts with the legacy magic number.
    const p = new PickleBytes().op(OP.PROTO, 2, OP.NONE, OP.STOP).bytes();
    expect(() => parseTorchCheckpoint(p, 'x.pth')).toThrow(/not a PyTorch checkpoint/);
    expect(() => zipped(p)).toThrow(/expected a state dict/);
  });
});
