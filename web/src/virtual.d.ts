/** Modules the page's Vite plugin generates at build time (web/scripts/inline-binaries.ts). */
declare module 'virtual:faceverloss-binaries' {
  /** The gzipped MNIST subset (see train/mnist-format.ts). */
  export const DIGITS_GZIP_BASE64: string;
  /** TF.js's WebAssembly backend, plain and SIMD builds. */
  export const WASM_PLAIN_BASE64: string;
  export const WASM_SIMD_BASE64: string;
}
