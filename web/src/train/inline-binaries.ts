/**
 * The binaries the worker needs, carried inside the bundle (see `web/scripts/inline-binaries.ts`) so
 * the page fetches nothing and works from a single file opened at file://: the MNIST subset and TF.js's
 * WebAssembly builds, as base64.
 */
import { DIGITS_GZIP_BASE64, WASM_PLAIN_BASE64, WASM_SIMD_BASE64 } from 'virtual:faceverloss-binaries';
import { decodeMnistSubset, type MnistSubset } from './mnist-format.js';

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** The digit subset, inflated and decoded. */
export async function inlineDigits(): Promise<MnistSubset> {
  const stream = new Blob([fromBase64(DIGITS_GZIP_BASE64)])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'));
  return decodeMnistSubset(new Uint8Array(await new Response(stream).arrayBuffer()));
}

/** Blob URLs of the plain and SIMD WebAssembly builds of TF.js's wasm backend. */
export function inlineWasmUrls(): { plain: string; simd: string } {
  const url = (b64: string) => URL.createObjectURL(new Blob([fromBase64(b64)], { type: 'application/wasm' }));
  return { plain: url(WASM_PLAIN_BASE64), simd: url(WASM_SIMD_BASE64) };
}
