/**
 * Builds pickle byte streams opcode by opcode, so the tests need no Python. The layouts follow what
 * CPython writes (checked against `pickletools.dis` output):
 *
 * - `protocol4`: `pickle.dumps(obj, protocol=4 or 5)` of a small object — PROTO, one FRAME, MEMOIZE
 *   after every list/bytes/tuple, SHORT_BINBYTES (< 256 bytes) or BINBYTES, MARK…APPENDS batches.
 * - `python2`: Python 2's `cPickle.dump(obj, f, 2)` — BINPUT memo slots and `str` as
 *   SHORT_BINSTRING/BINSTRING, the way the published insightface `.bin` files were written.
 */

export type PickleStyle = 'protocol4' | 'python2';

export class PickleBytes {
  readonly out: number[] = [];
  private memo = 0;

  op(code: number, ...args: number[]): this {
    this.out.push(code, ...args);
    return this;
  }
  u32(v: number): this {
    this.out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }
  u64(v: number): this {
    return this.u32(v % 2 ** 32).u32(Math.floor(v / 2 ** 32));
  }
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.out.push(bytes[i]);
    return this;
  }
  /** Stores the top of the stack in the memo, as each style does. */
  put(style: PickleStyle): this {
    if (style === 'protocol4') return this.op(0x94);
    const slot = this.memo++;
    return slot < 256 ? this.op(0x71, slot) : this.op(0x72).u32(slot);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** Opcode bytes used below (names as in CPython's pickletools). */
export const OP = {
  PROTO: 0x80,
  FRAME: 0x95,
  EMPTY_LIST: 0x5d,
  MARK: 0x28,
  APPEND: 0x61,
  APPENDS: 0x65,
  TUPLE2: 0x86,
  SHORT_BINBYTES: 0x43,
  BINBYTES: 0x42,
  SHORT_BINSTRING: 0x55,
  BINSTRING: 0x54,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BINGET: 0x68,
  STOP: 0x2e,
} as const;

/** `pickle.dumps((images, issame))` in the given style (items appended in batches of 1000). */
export function verificationBinPickle(
  images: Uint8Array[],
  issame: boolean[],
  style: PickleStyle,
): Uint8Array {
  const body = new PickleBytes();
  const list = <T>(items: T[], emit: (item: T) => void) => {
    body.op(OP.EMPTY_LIST).put(style);
    for (let start = 0; start < items.length; start += 1000) {
      const batch = items.slice(start, start + 1000);
      if (batch.length === 1) {
        emit(batch[0]);
        body.op(OP.APPEND);
      } else {
        body.op(OP.MARK);
        batch.forEach(emit);
        body.op(OP.APPENDS);
      }
    }
  };
  list(images, (img) => {
    if (style === 'protocol4') {
      if (img.length < 256) body.op(OP.SHORT_BINBYTES, img.length);
      else body.op(OP.BINBYTES).u32(img.length);
    } else if (img.length < 256) body.op(OP.SHORT_BINSTRING, img.length);
    else body.op(OP.BINSTRING).u32(img.length);
    body.raw(img).put(style);
  });
  list(issame, (same) => body.op(same ? OP.NEWTRUE : OP.NEWFALSE));
  body.op(OP.TUPLE2).put(style).op(OP.STOP);

  const file = new PickleBytes();
  if (style === 'protocol4') file.op(OP.PROTO, 4).op(OP.FRAME).u64(body.out.length);
  else file.op(OP.PROTO, 2);
  return Uint8Array.from([...file.out, ...body.out]);
}
