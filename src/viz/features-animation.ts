/** Feature distributions over epochs as an animated GIF: one frame per snapshot file, fixed axes. */
import { InvalidArgumentError } from '../errors.js';
import { readEmbeddingSnapshot } from './embeddings-file.js';
import { featuresChart, maxNorm } from './features-chart.js';
import { encodeGif } from './gif.js';
import { type RgbaImage, renderSvg, svgToRgba } from './render.js';

/** Render one frame per snapshot file (in the given order) and encode them as a GIF. */
export async function featuresGif(
  files: readonly string[],
  options: { delayMs?: number; scale?: number } = {},
): Promise<Uint8Array> {
  if (files.length === 0) throw new InvalidArgumentError('source', 'at least one embeddings snapshot');
  const snapshots = files.map((f) => readEmbeddingSnapshot(f));
  const dims = new Set(snapshots.map((s) => s.dim));
  if (dims.size > 1) {
    throw new InvalidArgumentError('source', 'snapshots of one embedding dimension', [...dims].join(', '));
  }
  // One extent for every frame, so motion between epochs is real motion.
  const extent = Math.max(...snapshots.map(maxNorm));
  const frames: RgbaImage[] = [];
  for (const s of snapshots) {
    const svg = await renderSvg(featuresChart(s, { extent }));
    frames.push(svgToRgba(svg, { scale: options.scale ?? 1 }));
  }
  return encodeGif(frames, options.delayMs ?? 700);
}
