/**
 * Writes the decision-boundary picture of every head to docs/losses/img/<head>.svg (angle and cosine
 * planes; heads that transform hard negatives get a third panel), plus the gallery of all heads as
 * docs/losses/img/gallery.svg. Run with `npx tsx scripts/doc-pictures.ts [head …]`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headNames } from '../src/heads/registry.js';
import { boundaryChart, galleryChart, headBoundaries } from '../src/viz/boundary-chart.js';
import { writeChart } from '../src/viz/output.js';

const outDir = join(fileURLToPath(new URL('..', import.meta.url)), 'docs', 'losses', 'img');
const requested = process.argv.slice(2);
const names = requested.length > 0 ? requested : headNames;

for (const name of names) {
  const started = performance.now();
  const data = headBoundaries(name, { spaces: ['angle', 'cosine'], resolution: 161 });
  const path = join(outDir, `${name}.svg`);
  await writeChart(boundaryChart(data, ['angle', 'cosine']), path, 'out');
  process.stdout.write(`${path} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
}
if (requested.length === 0) {
  const path = join(outDir, 'gallery.svg');
  await writeChart(galleryChart(headNames, { resolution: 121 }), path, 'out');
  process.stdout.write(`${path}\n`);
}
