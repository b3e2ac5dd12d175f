/** ONNX models through onnxruntime-web: a batch of any size, and bytes that are no model refused. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/errors.js';
import { loadOnnxModel, readNpy } from '../../src/interop/index.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/interop');

describe('ONNX models', () => {
  it('runs one image and two images alike (dynamic batch), row by row', async () => {
    const model = await loadOnnxModel(readFileSync(join(FIXTURES, 'iresnet-1111-w8.onnx')), 'model.onnx');
    expect([model.inputName, model.outputName]).toEqual(['input', 'embedding']);
    const input = readNpy(join(FIXTURES, 'input.npy')).data as Float32Array;
    const both = await model.run(input, [2, 3, 112, 112]);
    const second = await model.run(input.slice(input.length / 2), [1, 3, 112, 112]);
    expect(both.dim).toBe(32);
    expect(both.data).toHaveLength(64);
    const ref = readNpy(join(FIXTURES, 'expected-1111-w8.npy')).data as Float32Array;
    const scale = Math.max(...ref.map(Math.abs));
    for (let i = 0; i < 32; i++)
      expect(Math.abs(second.data[i] - ref[32 + i])).toBeLessThanOrEqual(5e-4 * scale);
  });

  it('refuses bytes that are not a model with a CorruptFileError naming the file', async () => {
    const error = await loadOnnxModel(new TextEncoder().encode('not a model'), 'junk.onnx').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CorruptFileError);
    expect((error as Error).message).toMatch(/^junk\.onnx: not a model onnxruntime can run/);
  });
});
