/**
 * The plain-data pickles of insightface verification sets: lists, tuples, bytes, strings, booleans,
 * small integers and None, in protocols 2 to 5 (Python 2 `str` objects are read as bytes, like
 * `pickle.load(f, encoding='bytes')`). Read by the safe unpickler of `src/interop/pickle.ts` with an
 * allow-list of the two globals Python 3 uses to pickle `bytes` under protocol 2 (`_codecs.encode` and
 * `builtins.bytes`), which are interpreted here, not called.
 *
 * Bytes objects are returned as views into the input buffer, so reading a 60 MB verification set
 * copies no image data.
 */
import { type PickleFail, type PickleProfile, type PickleValue, unpickleWith } from '../interop/pickle.js';

export type { PickleValue } from '../interop/pickle.js';

// Python 3 pickles `bytes` under protocol 2 as `_codecs.encode(text, 'latin1')` (and b'' as
// `bytes()`); the bytes are rebuilt instead of calling anything.
const encodeLatin1 = (args: PickleValue[], fail: PickleFail): PickleValue => {
  if (args.length !== 2 || typeof args[0] !== 'string' || args[1] !== 'latin1') {
    return fail('REDUCE is only supported for bytes encoded by Python 3 under protocol 2');
  }
  const s = args[0];
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) fail('latin1 text holds a character above U+00FF');
    out[i] = c;
  }
  return out;
};
const emptyBytes = (args: PickleValue[], fail: PickleFail): PickleValue =>
  args.length === 0
    ? new Uint8Array(0)
    : fail('REDUCE is only supported for bytes encoded by Python 3 under protocol 2');

/** Plain data, and the two globals that spell `bytes` in protocol 2. */
export const PLAIN_DATA_PROFILE: PickleProfile = {
  what: 'plain data (lists, tuples, bytes, bools)',
  globals: {
    '_codecs.encode': { reduce: encodeLatin1 },
    'builtins.bytes': { reduce: emptyBytes },
    '__builtin__.bytes': { reduce: emptyBytes },
  },
};

/**
 * Reads one pickled object of plain data from `bytes`. `source` names the file in errors, which give
 * the byte offset of the opcode that could not be read (truncation, an unsupported opcode, a bad stack).
 */
export function unpickle(bytes: Uint8Array, source: string): PickleValue {
  return unpickleWith(bytes, source, PLAIN_DATA_PROFILE).value;
}
