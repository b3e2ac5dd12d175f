/**
 * Reader for insightface verification sets (`lfw.bin`, `cfp_fp.bin`, `agedb_30.bin`, …): a pickle of
 * `(bins, issame_list)` where `bins` lists the encoded images (JPEG/PNG bytes), two per pair, and
 * `issame_list` holds one boolean per pair.
 */
import { CorruptFileError } from '../errors.js';
import { MiB, readRegularFile } from '../regular-file.js';
import { type PickleValue, unpickle } from './pickle.js';
import type { ReadOptions } from './read-file.js';
import { requireBothClasses } from './scores-file.js';

/** A verification set: pair i compares `images[2i]` with `images[2i+1]`. */
export interface VerificationBin {
  /** Encoded images (views into the file's bytes, not copies). */
  readonly images: readonly Uint8Array[];
  /** One entry per pair: true for a same-identity pair. */
  readonly issame: readonly boolean[];
}

/**
 * Default size cap of a `.bin` set, which is read whole (the images are views into its bytes): the
 * usual sets are 60–400 MiB (lfw.bin 63 MiB), so 2 GiB leaves room without reading a runaway file.
 */
export const BIN_MAX_BYTES = 2048 * MiB;

/** Reads a verification `.bin` file; errors name the path and the byte offset or item. */
export function readVerificationBin(path: string, options: ReadOptions = {}): VerificationBin {
  const bytes = readRegularFile(path, {
    what: 'a verification .bin set',
    maxBytes: options.maxBytes ?? BIN_MAX_BYTES,
  });
  return parseVerificationBin(bytes, path);
}

/** Parses the bytes of a verification `.bin`; `source` names the file in errors. */
export function parseVerificationBin(bytes: Uint8Array, source: string): VerificationBin {
  const root = unpickle(bytes, source);
  if (!Array.isArray(root) || root.length !== 2) {
    throw new CorruptFileError(source, `expected a pickled pair (bins, issame_list), got ${kind(root)}`);
  }
  const [bins, flags] = root;
  if (!Array.isArray(bins))
    throw new CorruptFileError(source, `bins: expected a list of bytes, got ${kind(bins)}`);
  if (!Array.isArray(flags)) {
    throw new CorruptFileError(source, `issame_list: expected a list of booleans, got ${kind(flags)}`);
  }
  const images = bins.map((b, i) => {
    if (!(b instanceof Uint8Array))
      throw new CorruptFileError(source, `bins[${i}]: expected bytes, got ${kind(b)}`);
    return b;
  });
  let positives = 0;
  const issame = flags.map((f, i) => {
    // Python bools; 0/1 integers are accepted too, as some converters write them.
    if (f === true || f === 1) {
      positives++;
      return true;
    }
    if (f === false || f === 0) return false;
    throw new CorruptFileError(source, `issame_list[${i}]: expected a boolean, got ${kind(f)}`);
  });
  if (images.length !== 2 * issame.length) {
    throw new CorruptFileError(
      source,
      `expected two images per pair: ${issame.length} pairs need ${2 * issame.length} images, found ${images.length}`,
    );
  }
  requireBothClasses(source, positives, issame.length - positives);
  return { images, issame };
}

function kind(v: PickleValue): string {
  if (v === null) return 'None';
  if (v instanceof Uint8Array) return `bytes of length ${v.length}`;
  if (Array.isArray(v)) return `a list of length ${v.length}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}
