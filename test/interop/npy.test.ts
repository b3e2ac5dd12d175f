/** `.npy` arrays: what NumPy writes is read, what we write NumPy reads, and other layouts are refused. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/errors.js';
import { encodeNpy, halfToFloat, parseNpy, readNpy } from '../../src/interop/index.js';

/** A `.npy` of format 1.0 with `header` (padded as NumPy pads it) and `body`. */
function npy(header: string, body: Uint8Array): Uint8Array {
  const padded = `${header}${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const out = Buffer.alloc(10 + padded.length + body.length);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(out);
  out.writeUInt16LE(padded.length, 8);
  out.write(padded, 10, 'latin1');
  Buffer.from(body).copy(out, 10 + padded.length);
  return new Uint8Array(out);
}

const python = (() => {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('.npy', () => {
  it('reads the fixture input written by NumPy (float32, NCHW)', () => {
    const input = readNpy(join(import.meta.dirname, '../fixtures/interop/input.npy'));
    expect(input.dtype).toBe('float32');
    expect(input.shape).toEqual([2, 3, 112, 112]);
    const values = input.data as Float32Array;
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
  });

  it('round-trips float32 through encodeNpy, header aligned to 64 bytes', () => {
    const data = Float32Array.from([1.5, -2, 3.25, 0, Number.MAX_VALUE, -1e-30]);
    const bytes = encodeNpy(data, [2, 3]);
    expect(new DataView(bytes.buffer).getUint16(8, true) + 10).toBe(128);
    const back = parseNpy(bytes, 'x.npy');
    expect(back.shape).toEqual([2, 3]);
    expect(Array.from(back.data as Float32Array)).toEqual(Array.from(data));
    expect(parseNpy(encodeNpy(Float32Array.of(7), [1]), 'one.npy').shape).toEqual([1]);
  });

  it.skipIf(!python)('writes files NumPy reads, and reads float16/float64/int64 that NumPy writes', () => {
    const ours = Buffer.from(encodeNpy(Float32Array.from([0.5, 1, 2, 4]), [2, 2])).toString('base64');
    const script = `
import base64, io, sys, numpy as np
a = np.load(io.BytesIO(base64.b64decode('${ours}')))
assert a.dtype == np.float32 and a.shape == (2, 2) and a.tolist() == [[0.5, 1.0], [2.0, 4.0]], a
out = sys.stdout.buffer
for arr in (np.array([1.0, -0.5, 65504, 2**-24], np.float16), np.arange(6.0).reshape(3, 2), np.array([-2**40, 3])):
    b = io.BytesIO(); np.save(b, arr); d = b.getvalue(); out.write(len(d).to_bytes(4, 'little') + d)
`;
    const stream = execFileSync('python3', ['-c', script]);
    const files: Uint8Array[] = [];
    for (let at = 0; at < stream.length; ) {
      const n = stream.readUInt32LE(at);
      files.push(stream.subarray(at + 4, at + 4 + n));
      at += 4 + n;
    }
    const [half, double, long] = files.map((f) => parseNpy(f, 'py.npy'));
    expect(Array.from(half.data as Float32Array)).toEqual([1, -0.5, 65504, 2 ** -24]);
    expect(double.shape).toEqual([3, 2]);
    expect(Array.from(double.data as Float64Array)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(long.data as BigInt64Array)).toEqual([-(2n ** 40n), 3n]);
  });

  it('widens every half exactly, subnormals and infinities included', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('refuses Fortran order, big-endian or unknown element types, bad shapes and truncation', () => {
    const four = new Uint8Array(16);
    const cases: [string, Uint8Array, RegExp][] = [
      ["{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", four, /Fortran-ordered/],
      ["{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", four, /element type '>f4'/],
      ["{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", four, /element type '<i4'/],
      ["{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", four, /element type '\|O'/],
      [
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        four,
        /needs 24 data bytes, the file holds 16/,
      ],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", four, /bad shape/],
      ["{'descr': '<f4', 'fortran_order': False}", four, /no 'shape'/],
    ];
    for (const [header, body, message] of cases) {
      expect(() => parseNpy(npy(header, body), 'bad.npy'), header).toThrow(CorruptFileError);
      expect(() => parseNpy(npy(header, body), 'bad.npy'), header).toThrow(message);
    }
    expect(() => parseNpy(Uint8Array.from([1, 2, 3]), 'tiny.npy')).toThrow(/magic/);
    const good = encodeNpy(Float32Array.of(1, 2), [2]);
    expect(() => parseNpy(good.subarray(0, 40), 'cut.npy')).toThrow(/truncated header/);
  });
});
