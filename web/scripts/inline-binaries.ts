/**
 * Vite plugin serving `virtual:faceverloss-binaries`: the MNIST subset (built from the `mnist` package)
 * and TF.js's WebAssembly builds as base64 strings, so the bundle carries them and the page needs
 * neither the network nor a server.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'vite';
import { buildMnistAsset } from './mnist-asset.js';

const ID = 'virtual:faceverloss-binaries';
const RESOLVED = `\0${ID}`;

function wasmFile(name: string): Buffer {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  return readFileSync(join(dir, 'dist', name));
}

export function inlineBinaries(): Plugin {
  let source: string | undefined;
  return {
    name: 'faceverloss-inline-binaries',
    resolveId: (id) => (id === ID ? RESOLVED : undefined),
    load(id) {
      if (id !== RESOLVED) return undefined;
      source ??= [
        `export const DIGITS_GZIP_BASE64 = ${JSON.stringify(Buffer.from(buildMnistAsset()).toString('base64'))};`,
        `export const WASM_PLAIN_BASE64 = ${JSON.stringify(wasmFile('tfjs-backend-wasm.wasm').toString('base64'))};`,
        `export const WASM_SIMD_BASE64 = ${JSON.stringify(wasmFile('tfjs-backend-wasm-simd.wasm').toString('base64'))};`,
      ].join('\n');
      return source;
    },
  };
}
