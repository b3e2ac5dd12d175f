/**
 * Image decoding with sharp: any format it reads (JPEG, PNG, WebP, GIF, TIFF, AVIF, …) to raw uint8
 * H×W×C at a fixed size. sharp is imported on first use so that MNIST-only programs start without it.
 */
import { CorruptFileError } from '../errors.js';
import { MiB, readRegularFileAsync } from '../regular-file.js';
import type { ImageShape } from './types.js';

/**
 * Largest image file read: aligned faces are a few KiB and even a 50-megapixel JPEG is far below this,
 * while a runaway file (or one named .png by mistake) is refused before it is read.
 */
export const IMAGE_MAX_BYTES = 256 * MiB;

const IMAGE_LIMITS = { what: 'an image', maxBytes: IMAGE_MAX_BYTES } as const;

/**
 * How an image whose aspect ratio differs from the target is resized.
 * - `'cover'` (default): scale so the target is covered, then crop the centre.
 * - `'fill'`: stretch to the target, ignoring the aspect ratio.
 */
export type ResizeFit = 'cover' | 'fill';

type SharpFactory = typeof import('sharp');
let sharpModule: Promise<SharpFactory> | undefined;

function loadSharp(): Promise<SharpFactory> {
  sharpModule ??= import('sharp').then((m) => (m as unknown as { default: SharpFactory }).default ?? m);
  return sharpModule;
}

/**
 * Decodes `input` (a file path or encoded bytes) to `shape`: EXIF orientation applied, resized with
 * `fit`, transparency flattened onto black, converted to grey (1 channel, sharp's luminance) or sRGB
 * (3 channels). `name` identifies the image in errors (the path, or `file@offset` for records).
 * Every failure — missing file, not a regular file, unknown format, truncated data — becomes a
 * `CorruptFileError`.
 */
export async function decodeImage(
  input: string | Uint8Array,
  shape: ImageShape,
  name: string,
  fit: ResizeFit = 'cover',
): Promise<Uint8Array> {
  const sharp = await loadSharp();
  // A path is read here, not by sharp: sharp would open a named pipe called `0.png` and wait forever for
  // a writer, or read a device without end; the shared reader refuses anything but a regular file.
  const source =
    typeof input === 'string'
      ? await readRegularFileAsync(input, IMAGE_LIMITS)
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  let data: Buffer;
  let info: { width: number; height: number; channels: number };
  try {
    let pipeline = sharp(source)
      .autoOrient()
      .resize(shape.width, shape.height, { fit, position: 'centre' })
      .flatten({ background: '#000000' });
    pipeline = shape.channels === 1 ? pipeline.grayscale() : pipeline.toColourspace('srgb');
    ({ data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CorruptFileError(name, `cannot decode image: ${message}`);
  }
  if (info.width !== shape.width || info.height !== shape.height || info.channels !== shape.channels) {
    throw new CorruptFileError(
      name,
      `decoded to ${info.height}×${info.width}×${info.channels} instead of ${shape.height}×${shape.width}×${shape.channels}`,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
