/** Conversions from decoded uint8 pixels to the float layout of a batch. */
import type { PixelRange } from './types.js';

/** Lookup table byte → float for a pixel range (exact: each entry is one fp32 rounding of the formula). */
export function pixelTable(range: PixelRange): Float32Array {
  const table = new Float32Array(256);
  for (let p = 0; p < 256; p++) table[p] = range === '[0,1]' ? p / 255 : (p - 127.5) / 127.5;
  return table;
}

/**
 * Writes one H×W×C image into `out` at element `offset`, converting through `table`, mirrored left–right
 * when `flip` (column x of the output takes column W−1−x of the input).
 */
export function writeImage(
  pixels: Uint8Array,
  height: number,
  width: number,
  channels: number,
  flip: boolean,
  table: Float32Array,
  out: Float32Array,
  offset: number,
): void {
  if (!flip) {
    for (let i = 0; i < pixels.length; i++) out[offset + i] = table[pixels[i]];
    return;
  }
  const row = width * channels;
  for (let y = 0; y < height; y++) {
    const base = y * row;
    for (let x = 0; x < width; x++) {
      const src = base + (width - 1 - x) * channels;
      const dst = offset + base + x * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = table[pixels[src + c]];
    }
  }
}

/** Mirrors an H×W×C uint8 image left–right into a new array. */
export function flipHorizontal(
  pixels: Uint8Array,
  height: number,
  width: number,
  channels: number,
): Uint8Array {
  const out = new Uint8Array(pixels.length);
  const row = width * channels;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = y * row + (width - 1 - x) * channels;
      const dst = y * row + x * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = pixels[src + c];
    }
  }
  return out;
}
