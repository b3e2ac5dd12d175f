/**
 * Vite config of the explorer page. `npm run web` serves it, `npm run build:web` writes
 * web/dist/index.html: one self-contained file (scripts, styles, the training worker, the MNIST subset
 * and TF.js's WebAssembly inline) that works from any static host and opened directly from disk.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { inlineBinaries } from './scripts/inline-binaries.js';
import { singleFile } from './scripts/single-file.js';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset paths, so the built site can be served from any sub-path.
  base: './',
  // Keep the dependency cache with the repository's other node_modules, not inside web/.
  cacheDir: fileURLToPath(new URL('../node_modules/.vite/web', import.meta.url)),
  plugins: [inlineBinaries(), singleFile()],
  // A classic (iife) worker: Chromium refuses a module worker from a blob: URL on a file:// page.
  worker: { format: 'iife', plugins: () => [inlineBinaries()] },
  // The worker's dependencies are found late by the dev server's scan; listing them avoids a reload.
  optimizeDeps: { include: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // One file: no separate stylesheet, no preload helper chunks.
    cssCodeSplit: false,
    modulePreload: false,
    assetsInlineLimit: Number.MAX_SAFE_INTEGER,
    // The page carries TF.js, the digits and the wasm builds (about 6 MB, 2 MB gzipped).
    chunkSizeWarningLimit: 8000,
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
