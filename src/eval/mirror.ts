/** Horizontal mirroring of decoded images, for the flip test-time augmentation of {@link evaluateBin}. */

import type { ImageShape } from '../data/types.js';
import { ShapeMismatchError } from '../errors.js';

/**
 * Returns a left–right mirrored copy of `pixels` (row-major H×W×C, as the dataset readers decode
 * them): column x moves to column W−1−x, channels stay in order. An embedder passed to
 * {@link evaluateBin} calls this on its decoded images when asked for `{ flip: true }`.
 */
export function mirrorPixels(pixels: Uint8Array, shape: ImageShape): Uint8Array {
  const { height, width, channels } = shape;
  if (pixels.length !== height * width * channels) {
    throw new ShapeMismatchError(
      'pixels',
      `${height}×${width}×${channels} = ${height * width * channels} bytes`,
      `${pixels.length} bytes`,
    );
  }
  const out = new Uint8Array(pixels.length);
  const row = width * channels;
  for (let y = 0; y < height; y++) {
    const base = y * row;
    for (let x = 0; x < width; x++) {
      const from = base + x * channels;
      const to = base + (width - 1 - x) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = pixels[from + c];
    }
  }
  return out;
}
