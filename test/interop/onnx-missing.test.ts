/**
 * onnxruntime-web is an optional peer: a module-not-found error for it, as `import()` throws where it
 * is not installed, becomes a MissingPackageError with the version to install.
 */
import { describe, expect, it } from 'vitest';
import { MissingPackageError } from '../../src/errors.js';
import { ONNX_RUNTIME_PACKAGE } from '../../src/interop/index.js';
import { asMissingPackage, optionalPackages } from '../../src/optional-packages.js';

describe('ONNX without onnxruntime-web', () => {
  it('is an optional peer, reported with the package to install', () => {
    expect(optionalPackages()[ONNX_RUNTIME_PACKAGE]).toMatch(/^\d+\.\d+\.\d+$/);
    const notFound = Object.assign(
      new Error(`Cannot find package '${ONNX_RUNTIME_PACKAGE}' imported from /app/dist/interop/onnx.js`),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
    const error = asMissingPackage('running .onnx models', notFound);
    expect(error).toBeInstanceOf(MissingPackageError);
    expect((error as MissingPackageError).packageName).toBe('onnxruntime-web');
    expect((error as Error).message).toBe(
      `running .onnx models needs the package 'onnxruntime-web', which is not installed: npm install onnxruntime-web@${optionalPackages()['onnxruntime-web']}`,
    );
  });
});
