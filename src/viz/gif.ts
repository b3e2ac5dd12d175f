/** Animated GIFs from RGBA frames (gifenc): one palette per frame, frames padded to a common size. */
import * as gifencModule from 'gifenc';
import type { RgbaImage } from './render.js';

// gifenc ships CommonJS (Node sees only a default export holding the functions) and ESM (bundlers and
// vitest see named exports, and a default that is GIFEncoder itself).
const gifenc: typeof gifencModule.default =
  typeof (gifencModule as { GIFEncoder?: unknown }).GIFEncoder === 'function'
    ? gifencModule
    : gifencModule.default;

/** Place `img` at the top-left of a white `width × height` canvas (frames must share one size). */
function padTo(img: RgbaImage, width: number, height: number): Uint8Array {
  if (img.width === width && img.height === height) return img.pixels;
  const out = new Uint8Array(width * height * 4).fill(255);
  for (let y = 0; y < img.height; y++) {
    out.set(img.pixels.subarray(y * img.width * 4, (y + 1) * img.width * 4), y * width * 4);
  }
  return out;
}

/** Encode frames as a looping GIF; `delayMs` is the time each frame stays on screen. */
export function encodeGif(frames: readonly RgbaImage[], delayMs = 600): Uint8Array {
  const width = Math.max(...frames.map((f) => f.width));
  const height = Math.max(...frames.map((f) => f.height));
  const gif = gifenc.GIFEncoder();
  frames.forEach((frame, i) => {
    const rgba = padTo(frame, width, height);
    const palette = gifenc.quantize(rgba, 256);
    const index = gifenc.applyPalette(rgba, palette);
    gif.writeFrame(index, width, height, { palette, delay: delayMs, repeat: i === 0 ? 0 : undefined });
  });
  gif.finish();
  return gif.bytes();
}
