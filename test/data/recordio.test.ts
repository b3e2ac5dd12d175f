import { mkdir, mkdtemp, open, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordIOFile } from '../../src/data/recordio/file.js';
import { frameRecord } from '../../src/data/recordio/framing.js';
import { parseRecordIndex } from '../../src/data/recordio/index-file.js';
import {
  openInsightfaceRecordIO,
  readIdentityRanges,
  readInsightfaceLayout,
} from '../../src/data/recordio/insightface.js';
import { packIRHeader, unpackIRHeader } from '../../src/data/recordio/ir-header.js';
import { writeInsightfaceRecordIO, writeRecordIO } from '../../src/data/recordio/writer.js';
import { CorruptFileError, InvalidArgumentError } from '../../src/errors.js';

const MAGIC = [0x0a, 0x23, 0xd7, 0xce]; // 0xced7230a little-endian

/** 4×4 RGB test image number `n`: pixel (y, x, c) = 13·n + 10·y + 2·x + c. */
function pattern(n: number): Uint8Array {
  const out = new Uint8Array(48);
  for (let y = 0; y < 4; y++)
    for (let x = 0; x < 4; x++)
      for (let c = 0; c < 3; c++) out[(y * 4 + x) * 3 + c] = 13 * n + 10 * y + 2 * x + c;
  return out;
}
const png = (pixels: Uint8Array) =>
  sharp(Buffer.from(pixels), { raw: { width: 4, height: 4, channels: 3 } })
    .png()
    .toBuffer();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvl-rec-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Bytes from a hex string; spaces only group the bytes for the reader. */
const hex = (text: string) => Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

describe('frameRecord', () => {
  it('frames a plain record as magic, length, data and zero padding', () => {
    expect(Array.from(frameRecord(Uint8Array.from([1, 2, 3, 4, 5])))).toEqual(
      hex('0a23d7ce 05000000 0102030405 000000'),
    );
    expect(Array.from(frameRecord(new Uint8Array(0)))).toEqual(hex('0a23d7ce 00000000'));
  });

  it('splits at 4-aligned magic words into parts with cflag 1, 2, 3', () => {
    const record = Uint8Array.from(hex('0a23d7ce 01020304 0a23d7ce 0506'));
    // Length words: cflag 1 length 0 = 0x20000000; cflag 2 length 4 = 0x40000004; cflag 3 length 2 = 0x60000002.
    expect(Array.from(frameRecord(record))).toEqual(
      hex(`0a23d7ce 00000020
           0a23d7ce 04000040 01020304
           0a23d7ce 02000060 0506 0000`),
    );
    // dmlc-core's own test record {magic, 0, 2, 3, magic, magic} (uint32 words): adjacent magic words
    // and one at the very end give empty middle and last parts.
    const dmlc = new Uint8Array(new Uint32Array([0xced7230a, 0, 2, 3, 0xced7230a, 0xced7230a]).buffer);
    expect(Array.from(frameRecord(dmlc))).toEqual(
      hex(`0a23d7ce 00000020
           0a23d7ce 0c000040 00000000 02000000 03000000
           0a23d7ce 00000040
           0a23d7ce 00000060`),
    );
    // A magic word at an unaligned position is ordinary data.
    expect(Array.from(frameRecord(Uint8Array.from(hex('09 0a23d7ce'))))).toEqual(
      hex('0a23d7ce 05000000 090a23d7ce 000000'),
    );
  });
});

describe('IR header', () => {
  it('packs a scalar label like struct.pack("IfQQ")', () => {
    const bytes = packIRHeader({ label: 3, id: 7 }, Uint8Array.from([0xff]));
    // flag 0 | label 3.0f = 0x40400000 | id 7 | id2 0 | payload.
    expect(Array.from(bytes)).toEqual(hex('00000000 00004040 0700000000000000 0000000000000000 ff'));
    const { header, payload } = unpackIRHeader(bytes, 'x.rec', 0);
    expect(header).toEqual({ flag: 0, label: 3, id: 7, id2: 0 });
    expect(Array.from(payload)).toEqual([0xff]);
  });

  it('packs a vector label as flag = length, label 0 and the floats after the header', () => {
    const bytes = packIRHeader({ label: [2, 5] });
    // flag 2 | label 0 | ids 0 | 2.0f = 0x40000000 | 5.0f = 0x40a00000.
    expect(Array.from(bytes)).toEqual(hex(`02000000 00000000 ${'00'.repeat(16)} 00000040 0000a040`));
    const { header } = unpackIRHeader(bytes, 'x.rec', 0);
    expect(header.flag).toBe(2);
    expect(Array.from(header.label as Float32Array)).toEqual([2, 5]);
  });

  it('raises CorruptFileError with the offset for a record shorter than its header', () => {
    expect(() => unpackIRHeader(new Uint8Array(10), 'x.rec', 96)).toThrow(/byte offset 96/);
    const twoLabelsMissing = packIRHeader({ label: 0 });
    new DataView(twoLabelsMissing.buffer).setUint32(0, 2, true);
    expect(() => unpackIRHeader(twoLabelsMissing, 'x.rec', 8)).toThrow(CorruptFileError);
  });
});

describe('parseRecordIndex', () => {
  it('reads key<TAB>offset lines', () => {
    const index = parseRecordIndex(Buffer.from('0\t0\n1\t16\r\n\n7\t48\n'), 'a.idx');
    expect(Array.from(index.keys)).toEqual([0, 1, 7]);
    expect(Array.from(index.offsets)).toEqual([0, 16, 48]);
  });

  it('names the bad line', () => {
    expect(() => parseRecordIndex(Buffer.from('0\t0\n1 16\n'), 'a.idx')).toThrow(/line 2/);
    expect(() => parseRecordIndex(Buffer.from('0\tx\n'), 'a.idx')).toThrow(CorruptFileError);
  });
});

describe('RecordIOFile', () => {
  const records = [
    Uint8Array.from([1, 2, 3]),
    Uint8Array.from([...MAGIC, 1, 2, 3, 4, ...MAGIC, 5, 6]),
    new Uint8Array(0),
    Uint8Array.from({ length: 1000 }, (_, i) => (i * 17) % 256),
    new Uint8Array(new Uint32Array([0xced7230a, 0, 2, 3, 0xced7230a, 0xced7230a]).buffer),
  ];

  it('round-trips records by key, by stream and by scan without an index', async () => {
    const rec = join(dir, 'plain.rec');
    const idx = join(dir, 'plain.idx');
    expect(await writeRecordIO(rec, idx, records)).toBe(5);
    // Offsets follow from the framing: 8+3+1 padding; parts 8+0, 8+4, 8+2+2 padding; 8+0; 8+1000.
    expect(await readFile(idx, 'utf8')).toBe('0\t0\n1\t12\n2\t44\n3\t52\n4\t1060\n');
    const file = await RecordIOFile.open(rec);
    for (const k of [3, 1, 4, 0, 2]) expect(Array.from(await file.read(k))).toEqual(Array.from(records[k]));
    const streamed: number[][] = [];
    for await (const r of file.records()) streamed.push(Array.from(r.data));
    expect(streamed).toEqual(records.map((r) => Array.from(r)));
    await file.close();
    await unlink(idx);
    const scanned = await RecordIOFile.open(rec);
    expect(Array.from(scanned.index.offsets)).toEqual([0, 12, 44, 52, 1060]);
    expect(Array.from(await scanned.read(1))).toEqual(Array.from(records[1]));
    await scanned.close();
  });

  it('raises CorruptFileError naming the byte offset of a bad magic, a truncated part, a short file', async () => {
    const rec = join(dir, 'broken.rec');
    const idx = join(dir, 'broken.idx');
    await writeRecordIO(rec, idx, records.slice(0, 4));
    const handle = await open(rec, 'r+');
    await handle.write(Buffer.from([0, 0, 0, 0]), 0, 4, 44);
    await handle.close();
    const file = await RecordIOFile.open(rec);
    await expect(file.read(2)).rejects.toThrow(/no RecordIO magic at byte offset 44/);
    await file.close();

    await writeRecordIO(rec, idx, records.slice(0, 4));
    await truncate(rec, 52 + 8 + 500); // record 3 declares 1000 bytes
    const cut = await RecordIOFile.open(rec);
    const error = await cut.read(3).catch((e) => e);
    expect(error).toBeInstanceOf(CorruptFileError);
    expect(error.message).toMatch(/truncated.*byte offset 52/);
    expect(error.path).toBe(rec);
    await cut.close();

    await truncate(rec, 50); // index entries 2 and 3 now point past the end
    await expect(RecordIOFile.open(rec)).rejects.toThrow(/index entry 2 points at byte offset 44/);
    await unlink(idx);
    await expect(RecordIOFile.open(rec)).rejects.toThrow(/byte offset 44/); // the scan hits the cut
  });

  it('readHead returns the first bytes of a record, across split parts, without the rest', async () => {
    const rec = join(dir, 'heads.rec');
    await writeRecordIO(rec, join(dir, 'heads.idx'), records);
    const file = await RecordIOFile.open(rec);
    for (let k = 0; k < records.length; k++) {
      for (const n of [0, 1, 3, 4, 5, 8, 9, 12, 20, 2000]) {
        const want = Array.from(records[k].subarray(0, n));
        expect(Array.from(await file.readHead(k, n)), `record ${k}, ${n} bytes`).toEqual(want);
      }
    }
    const seen: number[] = [];
    for await (const { key, offset, head } of file.heads([4, 1, 3], 6)) {
      seen.push(key);
      expect(offset).toBe(file.offsetOf(key));
      expect(Array.from(head)).toEqual(Array.from(records[key].subarray(0, 6)));
    }
    expect(seen).toEqual([1, 3, 4]); // file order
    await expect(file.readHead(9, 4)).rejects.toThrow(InvalidArgumentError);
    await expect(file.readHead(0, -1)).rejects.toThrow(InvalidArgumentError);
    await file.close();
    // Record 3 declares 1000 bytes and the file is cut inside it: its head is reported truncated.
    await writeRecordIO(rec, join(dir, 'heads.idx'), records.slice(0, 4));
    await truncate(rec, 52 + 8 + 500);
    const cut = await RecordIOFile.open(rec);
    await expect(cut.readHead(3, 16)).rejects.toThrow(/truncated.*byte offset 52/);
    await cut.close();
  });

  it('rejects unknown keys and a missing explicit index', async () => {
    const rec = join(dir, 'keys.rec');
    await writeRecordIO(rec, join(dir, 'keys.idx'), records);
    const file = await RecordIOFile.open(rec);
    await expect(file.read(5)).rejects.toThrow(InvalidArgumentError);
    await file.close();
    await expect(RecordIOFile.open(rec, join(dir, 'missing.idx'))).rejects.toThrow(CorruptFileError);
    await expect(RecordIOFile.open(join(dir, 'missing.rec'))).rejects.toThrow(CorruptFileError);
  });
});

describe('openInsightfaceRecordIO', () => {
  const shape = { height: 4, width: 4, channels: 3 } as const;

  it('reads the header record, identity count, labels and exact pixels', async () => {
    const sub = join(dir, 'insightface');
    await mkdir(sub);
    const identities = [
      [await png(pattern(0)), await png(pattern(1))],
      [await png(pattern(2))],
      [await png(pattern(3)), await png(pattern(4))],
    ];
    const rec = join(sub, 'train.rec');
    await writeInsightfaceRecordIO(rec, join(sub, 'train.idx'), identities);
    // Record 0: images are keys 1…5, identity records 6…8.
    const file = await RecordIOFile.open(rec);
    const header0 = unpackIRHeader(await file.read(0), rec, 0).header;
    expect(Array.from(header0.label as Float32Array)).toEqual([6, 9]);
    expect(await readInsightfaceLayout(file)).toEqual({ imagesEnd: 6, identitiesEnd: 9 });
    expect(await readIdentityRanges(file)).toEqual([
      [1, 3],
      [3, 4],
      [4, 6],
    ]);
    await file.close();

    const ds = await openInsightfaceRecordIO(rec, { shape });
    expect(ds.numClasses).toBe(3);
    expect(ds.size).toBe(5);
    const expectedLabels = [0, 0, 1, 2, 2];
    for (let i = 0; i < 5; i++) {
      const s = await ds.read(i);
      expect(s.label).toBe(expectedLabels[i]);
      expect(s.id).toBe(`${rec}#${i + 1}`);
      expect(Array.from(s.pixels)).toEqual(Array.from(pattern(i)));
    }
    const seen: number[] = [];
    for await (const batch of ds.batches({ batchSize: 2, seed: 4, range: '[0,1]' })) {
      batch.ids.forEach((id, k) => {
        const i = Number(id.split('#')[1]) - 1;
        seen.push(i);
        expect(batch.labels[k]).toBe(expectedLabels[i]);
        expect(batch.images[k * 48 + 5]).toBeCloseTo(pattern(i)[5] / 255, 6);
      });
    }
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4]);
    await ds.close();
  });

  it('treats every record as an image without a header record; classes from property or labels', async () => {
    const sub = join(dir, 'headerless');
    await mkdir(sub);
    const rec = join(sub, 'train.rec');
    const images = [
      packIRHeader({ label: 1 }, await png(pattern(5))),
      packIRHeader({ label: [3, 0] }, await png(pattern(6))),
    ];
    await writeRecordIO(rec, join(sub, 'train.idx'), images);
    const ds = await openInsightfaceRecordIO(rec, { shape });
    expect(ds.numClasses).toBe(4); // largest label 3, read from label[0] of the vector
    expect((await ds.read(1)).label).toBe(3);
    await ds.close();
    await writeFile(join(sub, 'property'), '10,112,112\n');
    const withProperty = await openInsightfaceRecordIO(rec, { shape });
    expect(withProperty.numClasses).toBe(10);
    await withProperty.close();
  });

  it('names the record of a corrupt image and of a label out of range', async () => {
    const sub = join(dir, 'corrupt');
    await mkdir(sub);
    const rec = join(sub, 'train.rec');
    await writeRecordIO(rec, join(sub, 'train.idx'), [
      packIRHeader({ label: 0 }, Uint8Array.from([1, 2, 3, 4])),
      packIRHeader({ label: 5 }, await png(pattern(0))),
    ]);
    // Labels are checked on opening: record 0 frames 24 header bytes + 4 payload bytes, 8 + 28 = 36.
    await expect(openInsightfaceRecordIO(rec, { shape, numClasses: 2 })).rejects.toThrow(
      /record 1 at byte offset 36 has label 5/,
    );
    const ds = await openInsightfaceRecordIO(rec, { shape, numClasses: 6 });
    await expect(ds.read(0)).rejects.toThrow(/record 0 at byte offset 0/);
    expect((await ds.read(1)).label).toBe(5);
    await ds.close();
  });
});

describe('insightface labels on opening', () => {
  const shape = { height: 4, width: 4, channels: 3 } as const;

  /** Writes record 0 = [imagesEnd, identitiesEnd], images with `imageLabels`, then `ranges`. */
  async function writeWithRanges(
    name: string,
    imageLabels: number[],
    ranges: number[][],
  ): Promise<{ rec: string; offsetOf: (key: number) => Promise<number> }> {
    const sub = join(dir, name);
    await mkdir(sub);
    const rec = join(sub, 'train.rec');
    const imagesEnd = 1 + imageLabels.length;
    const records = [packIRHeader({ label: [imagesEnd, imagesEnd + ranges.length] })];
    for (let i = 0; i < imageLabels.length; i++) {
      records.push(packIRHeader({ label: imageLabels[i], id: i + 1 }, await png(pattern(i))));
    }
    for (const range of ranges) records.push(packIRHeader({ label: range }));
    await writeRecordIO(rec, join(sub, 'train.idx'), records);
    const offsetOf = async (key: number) => {
      const file = await RecordIOFile.open(rec);
      const offset = file.offsetOf(key);
      await file.close();
      return offset;
    };
    return { rec, offsetOf };
  }

  it('with identity records: labels from the ranges match the written labels, empty identities too', async () => {
    const sub = join(dir, 'labels-header');
    await mkdir(sub);
    const rec = join(sub, 'train.rec');
    const sizes = [3, 0, 1, 2, 4];
    const identities = await Promise.all(
      sizes.map((n, k) => Promise.all(Array.from({ length: n }, (_, i) => png(pattern(4 * k + i))))),
    );
    await writeInsightfaceRecordIO(rec, join(sub, 'train.idx'), identities);
    const ds = await openInsightfaceRecordIO(rec, { shape });
    const written = sizes.flatMap((n, k) => Array<number>(n).fill(k));
    expect(ds.numClasses).toBe(sizes.length);
    expect(ds.size).toBe(written.length);
    expect(Array.from(ds.labels ?? [])).toEqual(written);
    for (let i = 0; i < written.length; i++) expect((await ds.read(i)).label).toBe(ds.labels?.[i]);
    await ds.close();
  });

  it('without a header: labels from each record header (scalar, vector, header split by a magic word)', async () => {
    const sub = join(dir, 'labels-headerless');
    await mkdir(sub);
    const rec = join(sub, 'train.rec');
    const written = [2, 0, 7, 2, 1];
    // An id of 0xced7230a puts the magic word at byte 8 of the header, so the writer splits the record
    // there and a vector label's first value lies in the second part.
    const records = await Promise.all(
      written.map(async (label, i) =>
        packIRHeader(
          { label: i % 2 === 0 ? label : [label, 99], id: i === 2 || i === 3 ? 0xced7230a : i },
          await png(pattern(i)),
        ),
      ),
    );
    expect(Array.from(frameRecord(records[3]).subarray(4, 8))).toEqual([8, 0, 0, 0x20]); // cflag 1, 8 bytes
    await writeRecordIO(rec, join(sub, 'train.idx'), records);
    const ds = await openInsightfaceRecordIO(rec, { shape });
    expect(Array.from(ds.labels ?? [])).toEqual(written);
    expect(ds.numClasses).toBe(8);
    for (let i = 0; i < written.length; i++) expect((await ds.read(i)).label).toBe(written[i]);
    await ds.close();
    // The same without the index: the scan numbers the records and the labels are the same.
    await unlink(join(sub, 'train.idx'));
    const scanned = await openInsightfaceRecordIO(rec, { shape });
    expect(Array.from(scanned.labels ?? [])).toEqual(written);
    await scanned.close();
  });

  it('opens with an undecodable payload: labels come without decoding, the bad image fails only when read', async () => {
    const garbage = Uint8Array.from([0xff, 0xd8, 1, 2, 3, 4, 5]); // a JPEG start and nothing valid after
    for (const withHeader of [true, false]) {
      const sub = join(dir, `undecodable-${withHeader}`);
      await mkdir(sub);
      const rec = join(sub, 'train.rec');
      if (withHeader) {
        await writeInsightfaceRecordIO(rec, join(sub, 'train.idx'), [[await png(pattern(0))], [garbage]]);
      } else {
        await writeRecordIO(rec, join(sub, 'train.idx'), [
          packIRHeader({ label: 0 }, await png(pattern(0))),
          packIRHeader({ label: 1 }, garbage),
        ]);
      }
      const ds = await openInsightfaceRecordIO(rec, { shape });
      expect(Array.from(ds.labels ?? [])).toEqual([0, 1]);
      expect(Array.from((await ds.read(0)).pixels)).toEqual(Array.from(pattern(0)));
      await expect(ds.read(1)).rejects.toThrow(CorruptFileError);
      await ds.close();
    }
  });

  it.each([
    [
      'overlapping ranges',
      [0, 0, 1, 1],
      [
        [1, 4],
        [3, 5],
      ],
      6,
      /overlaps \[1, 4\)/,
    ],
    [
      'a range past the images',
      [0, 0, 1, 1],
      [
        [1, 3],
        [3, 6],
      ],
      6,
      /range \[3, 6\)/,
    ],
    [
      'a range starting at the header',
      [0, 0, 1, 1],
      [
        [0, 3],
        [3, 5],
      ],
      5,
      /range \[0, 3\)/,
    ],
    [
      'a fractional range',
      [0, 0, 1, 1],
      [
        [1, 2.5],
        [3, 5],
      ],
      5,
      /range \[1, 2\.5\)/,
    ],
    [
      'a reversed range',
      [0, 0, 1, 1],
      [
        [1, 3],
        [5, 3],
      ],
      6,
      /no \[start, end\) range/,
    ],
    ['a scalar instead of a range', [0, 0, 1, 1], [[1, 3], [5]], 6, /no \[start, end\) range/],
  ])(
    '%s raise CorruptFileError naming the identity record and its offset',
    async (name, labels, ranges, key, message) => {
      const { rec, offsetOf } = await writeWithRanges(`ranges-${name.replace(/ /g, '-')}`, labels, ranges);
      const error = await openInsightfaceRecordIO(rec, { shape }).catch((e) => e);
      expect(error).toBeInstanceOf(CorruptFileError);
      expect(error.path).toBe(rec);
      expect(error.message).toMatch(message);
      expect(error.message).toContain(`identity record ${key} at byte offset ${await offsetOf(key)}`);
    },
  );

  it('an image in no identity range, or labelled unlike its range, is reported', async () => {
    const gap = await writeWithRanges(
      'ranges-gap',
      [0, 0, 1, 1],
      [
        [1, 3],
        [4, 5],
      ],
    );
    await expect(openInsightfaceRecordIO(gap.rec, { shape })).rejects.toThrow(
      `image record 3 at byte offset ${await gap.offsetOf(3)} lies in no identity range`,
    );
    const mismatch = await writeWithRanges(
      'ranges-mismatch',
      [0, 1, 1, 1],
      [
        [1, 3],
        [3, 5],
      ],
    );
    const ds = await openInsightfaceRecordIO(mismatch.rec, { shape });
    expect(Array.from(ds.labels ?? [])).toEqual([0, 0, 1, 1]);
    const offset = await mismatch.offsetOf(2);
    await expect(ds.read(1)).rejects.toThrow(
      `record 2 at byte offset ${offset} has label 1, but its identity record gave 0`,
    );
    await ds.close();
  });
});
