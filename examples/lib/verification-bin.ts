/**
 * Writes a verification set in insightface's `.bin` layout (`lfw.bin`, `cfp_fp.bin`, `agedb_30.bin`):
 * a Python pickle of the tuple `(bins, issame_list)`, where `bins` lists the encoded images (PNG or
 * JPEG bytes), two per pair, and `issame_list` holds one boolean per pair. insightface's
 * `recognition/arcface_torch/eval/verification.py` reads exactly this; so does `readVerificationBin`.
 *
 * The bytes are the ones Python 3 writes for `pickle.dumps((bins, issame_list), protocol=4)`, minus
 * two optional parts (the FRAME header and the MEMOIZE after each object): they only speed up
 * Python's own reader, and both readers accept a stream without them.
 */

/** Pickle opcodes used here (names as in CPython's `pickletools`). */
const PROTO = 0x80;
const EMPTY_LIST = 0x5d;
const MARK = 0x28;
const APPENDS = 0x65;
const SHORT_BINBYTES = 0x43;
const BINBYTES = 0x42;
const NEWTRUE = 0x88;
const NEWFALSE = 0x89;
const TUPLE2 = 0x86;
const STOP = 0x2e;

/** Little-endian unsigned 32-bit length, as BINBYTES expects. */
function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/** The pickle bytes of `(images, issame)`; pair i compares `images[2i]` with `images[2i+1]`. */
export function verificationBinBytes(images: readonly Uint8Array[], issame: readonly boolean[]): Uint8Array {
  if (images.length !== 2 * issame.length) throw new Error('two images per pair are needed');
  const parts: Uint8Array[] = [Uint8Array.from([PROTO, 4, EMPTY_LIST, MARK])];
  for (const image of images) {
    // Short objects carry a one-byte length, longer ones a four-byte length.
    const header = image.length < 256 ? [SHORT_BINBYTES, image.length] : [BINBYTES, ...u32(image.length)];
    parts.push(Uint8Array.from(header), image);
  }
  // Close the image list, then the list of flags the same way, then pack both into a 2-tuple.
  parts.push(Uint8Array.from([APPENDS, EMPTY_LIST, MARK, ...issame.map((s) => (s ? NEWTRUE : NEWFALSE))]));
  parts.push(Uint8Array.from([APPENDS, TUPLE2, STOP]));
  return Buffer.concat(parts);
}
