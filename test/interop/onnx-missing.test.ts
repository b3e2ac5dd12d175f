/** Without the optional onnxruntime-web, `.onnx` models are refused with the package to install. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { MissingDependencyError } from '../../src/errors.js';
import { loadOnnxModel } from '../../src/interop/index.js';

vi.mock('onnxruntime-web', () => {
  throw new Error("Cannot find package 'onnxruntime-web'");
});

describe('ONNX without onnxruntime-web', () => {
  it('throws MissingDependencyError naming the package', async () => {
    const bytes = readFileSync(join(import.meta.dirname, '../fixtures/interop/iresnet-1111-w8.onnx'));
    const error = await loadOnnxModel(bytes, 'model.onnx').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MissingDependencyError);
    expect((error as MissingDependencyError).packageName).toBe('onnxruntime-web');
    expect((error as Error).message).toMatch(/npm install onnxruntime-web/);
  });
});
