/**
 * Bad files for every reader: missing paths, folders given as files, unreadable files, empty files,
 * real files truncated at several offsets or with flipped bytes, and hand-made malformed content.
 * Every one must raise a typed FaceVerLossError naming the file (a flipped byte may also leave a file
 * that still parses: then the result must be well-formed), without hanging.
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImageFolder } from '../../src/data/image-folder.js';
import { RecordIOFile } from '../../src/data/recordio/file.js';
import { frameRecord } from '../../src/data/recordio/framing.js';
import { openInsightfaceRecordIO } from '../../src/data/recordio/insightface.js';
import { packIRHeader } from '../../src/data/recordio/ir-header.js';
import type { Dataset } from '../../src/data/types.js';
import { readVerificationBin } from '../../src/eval/bin-file.js';
import { readEmbeddingsFile } from '../../src/eval/embeddings-file.js';
import { readPairsFile } from '../../src/eval/pairs-file.js';
import { readScoresFile } from '../../src/eval/scores-file.js';
import { loadFixture } from '../../src/golden/fixture.js';
import { type BadInput, Tally } from './corpus.js';
import {
  flipBytes,
  GOLDEN_FIXTURE,
  permissionsIgnored,
  truncationOffsets,
  type ValidFiles,
  writeValidFiles,
} from './files.js';

const GOLDEN = GOLDEN_FIXTURE;
const SHAPE = { height: 4, width: 4, channels: 3 } as const;

const tally = new Tally('file readers');
let root: string;
let valid: ValidFiles;
let counter = 0;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fvl-reliability-readers-'));
  mkdirSync(join(root, 'valid'));
  valid = await writeValidFiles(join(root, 'valid'), GOLDEN);
});

afterAll(() => {
  console.log(tally.summary());
  rmSync(root, { recursive: true, force: true });
});

/** Reads every sample of a dataset, then closes it. */
async function readAll(open: () => Promise<Dataset>): Promise<unknown[]> {
  const ds = await open();
  try {
    const out: unknown[] = [];
    for (let i = 0; i < (ds.size ?? 0); i++) out.push((await ds.read(i)).label);
    return out;
  } finally {
    await ds.close();
  }
}

/** Every record of a RecordIO file without its index, in file order. */
async function scanRecords(rec: string): Promise<number> {
  const file = await RecordIOFile.open(rec, join(root, 'no-such.idx')).catch(async (err) => {
    // Without an index the file is scanned; an explicit missing index is an error of its own.
    if (String(err).includes('no-such.idx')) return RecordIOFile.open(`${rec}.noidx`);
    throw err;
  });
  try {
    let n = 0;
    for await (const _ of file.records()) n++;
    return n;
  } finally {
    await file.close();
  }
}

/** Reads every record of an indexed RecordIO file in file order (also those a dataset never reads). */
async function scanIndexed(rec: string, idx: string): Promise<number> {
  const file = await RecordIOFile.open(rec, idx);
  try {
    let n = 0;
    for await (const _ of file.records()) n++;
    return n;
  } finally {
    await file.close();
  }
}

/** The readers, each taking the path of a file in its format. */
const readers: Record<keyof Omit<ValidFiles, 'dir' | 'images' | 'idx'>, (path: string) => unknown> = {
  scores: (p) => readScoresFile(p),
  pairs: (p) => readPairsFile(p),
  bin: (p) => readVerificationBin(p),
  rec: async (p) => [
    await readAll(() => openInsightfaceRecordIO(p, { shape: SHAPE, idxPath: valid.idx })),
    await scanIndexed(p, valid.idx),
  ],
  fixture: (p) => loadFixture(p),
};
/**
 * Formats where every cut before the trailing whitespace breaks the file (a cut score CSV or pairs file
 * may still be a shorter valid one: `Dan 1` cut to `Da` is another name).
 */
const truncationAlwaysBreaks = new Set(['bin', 'rec', 'fixture']);

/** Writes `content` to a fresh file and returns its path. */
function put(content: string | Uint8Array, ext: string): string {
  const path = join(root, `case-${counter++}.${ext}`);
  writeFileSync(path, content);
  return path;
}

function pathCases(): BadInput[] {
  const cases: BadInput[] = [];
  for (const [format, read] of Object.entries(readers)) {
    const missing = join(root, `missing-${format}`);
    const folder = join(root, `folder-${format}`);
    mkdirSync(folder, { recursive: true });
    const empty = put('', format);
    cases.push(
      { name: `${format}: missing file`, run: () => read(missing), mentions: missing },
      { name: `${format}: a folder given as the file`, run: () => read(folder), mentions: folder },
      { name: `${format}: empty file`, run: () => read(empty), mentions: empty },
    );
    const bytes = readFileSync(valid[format as keyof typeof readers]);
    const meaningful =
      format === 'fixture' ? Buffer.from(bytes.toString('utf8').trimEnd()).length : bytes.length;
    for (const at of truncationOffsets(meaningful, format.length)) {
      const cut = put(bytes.subarray(0, at), format);
      cases.push({
        name: `${format}: truncated at byte ${at} of ${bytes.length}`,
        run: () => read(cut),
        mentions: cut,
        expect: truncationAlwaysBreaks.has(format) ? 'reject' : 'finite',
      });
    }
    for (let seed = 1; seed <= 8; seed++) {
      const flipped = put(flipBytes(bytes, seed * 7919 + format.length, 1 + (seed % 3)), format);
      cases.push({
        name: `${format}: flipped bytes (seed ${seed})`,
        run: () => read(flipped),
        expect: 'finite',
      });
    }
  }
  return cases;
}

function contentCases(): BadInput[] {
  const scores = (text: string, what: string): BadInput => {
    const p = put(text, 'csv');
    return { name: `scores: ${what}`, run: () => readScoresFile(p), mentions: p };
  };
  const pairs = (text: string, what: string): BadInput => {
    const p = put(text, 'txt');
    return { name: `pairs: ${what}`, run: () => readPairsFile(p), mentions: p };
  };
  const bin = (bytes: number[], what: string): BadInput => {
    const p = put(Uint8Array.from(bytes), 'bin');
    return { name: `bin: ${what}`, run: () => readVerificationBin(p), mentions: p };
  };
  const fixture = (text: string, what: string): BadInput => {
    const p = put(text, 'json');
    return { name: `fixture: ${what}`, run: () => loadFixture(p), mentions: p };
  };
  const embeddings = (text: string, what: string): BadInput => {
    const p = put(text, 'txt');
    return { name: `embeddings: ${what}`, run: () => readEmbeddingsFile(p), mentions: p };
  };
  const STOP = 0x2e;
  return [
    scores('score,label\n', 'header only'),
    scores('score\n0.5\n', 'no label column'),
    scores('score,label\n0.5,2\n0.1,0\n', 'label 2'),
    scores('score,label\n0.5,1\n0.1,-1\n', 'label -1'),
    scores('score,label\n0.5,1.0\n0.1,0\n', 'label 1.0'),
    scores('score,label\nNaN,1\n0.1,0\n', 'score NaN'),
    scores('score,label\nInfinity,1\n0.1,0\n', 'score Infinity'),
    scores('score,label\n1e999,1\n0.1,0\n', 'score overflowing to Infinity'),
    scores('score,label\n0x10,1\n0.1,0\n', 'hex score'),
    scores('score,label\n0.5,1\n0.4,1\n', 'only same pairs'),
    scores('score,label\n0.5\n', 'missing column'),
    scores('\u0000\u0001\u0002binary', 'binary garbage'),
    pairs('ten\nA 1 2\n', 'header not a number'),
    pairs('1 2 3\nA 1 2\n', 'three header fields'),
    pairs('3\nA 1 2\nB 1 C 2\n', 'fewer pairs than announced'),
    pairs('1\nA 0 2\nB 1 C 2\n', 'image number 0'),
    pairs('1\nA -1 2\nB 1 C 2\n', 'negative image number'),
    pairs('1\nA 1.5 2\nB 1 C 2\n', 'fractional image number'),
    pairs('1\nA 1 2 3 4\nB 1 C 2\n', 'five fields'),
    pairs('1\nA 1 2\nB 1 2\n', 'no different pairs'),
    pairs('99999999999\nA 1 2\n', 'absurd pair count'),
    bin([0x80, 4, 0x4e, STOP], 'None instead of a tuple'),
    bin([0x80, 4, 0x5d, 0x5d, 0x86, STOP], 'two empty lists (no pairs)'),
    bin([0x80, 4, 0x42, 0xff, 0xff, 0xff, 0x7f, STOP], 'BINBYTES declaring 2 GiB'),
    bin([0x80, 4, 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, STOP], 'BINBYTES8 declaring 2^63'),
    bin([0x80, 4, 0x63, ...Buffer.from('os\nsystem\n'), STOP], 'GLOBAL os.system'),
    bin([0x80, 4, 0x52, STOP], 'REDUCE on an empty stack'),
    bin([0x80, 4, 0x28, 0x28, 0x28, STOP], 'MARKs without an end'),
    bin([0x80, 4, 0x68, 9, STOP], 'BINGET of a missing memo slot'),
    bin([0x80, 4, 0x5d, 0x61, STOP], 'APPEND without an item'),
    bin([0x80, 4, 0xff, STOP], 'unknown opcode'),
    bin([0x80, 4, 0x5d, 0x4e, 0x61, 0x5d, 0x88, 0x61, 0x86, STOP], 'None in place of image bytes'),
    bin(
      [0x80, 4, 0x5d, 0x43, 1, 9, 0x61, 0x43, 1, 9, 0x61, 0x5d, 0x4b, 7, 0x61, 0x86, STOP],
      'issame holds the integer 7',
    ),
    fixture('null', 'JSON null'),
    fixture('[]', 'a JSON array'),
    fixture('"faceverloss-golden/1"', 'a JSON string'),
    fixture('{}', 'no format'),
    fixture('{"format":"faceverloss-golden/2","steps":[]}', 'unknown format version'),
    fixture('{"format":"faceverloss-golden/1","steps":7}', 'steps not a list'),
    fixture('{"format":"faceverloss-golden/1","steps":[null]}', 'a null step'),
    fixture(
      '{"format":"faceverloss-golden/1","steps":[{"inputs":{"X":{"dtype":"float64","shape":[1],"data":["x"]}}}]}',
      'a tensor value that is not a number',
    ),
    embeddings('a 1 2\nb 1\n', 'rows of different dimension'),
    embeddings('a 1 NaN\n', 'a NaN value'),
    embeddings('a\n', 'a name without values'),
    embeddings('a 1 2\na 3 4\n', 'a repeated name'),
    embeddings('a 1e53 0\nb 1 2\n', 'a value beyond float32 (1e53 would be Infinity)'),
    embeddings('a 1 2\nb 0 -3.5e38\n', 'a negative value beyond float32'),
    ...sizeCapCases(),
    endlessLine(),
  ];
}

/** Each text and binary reader refuses a file over the size cap it was given (16 bytes), naming the cap. */
function sizeCapCases(): BadInput[] {
  const capped: [string, (p: string) => unknown][] = [
    ['scores', (p) => readScoresFile(p, { maxBytes: 16 })],
    ['pairs', (p) => readPairsFile(p, { maxBytes: 16 })],
    ['bin', (p) => readVerificationBin(p, { maxBytes: 16 })],
  ];
  const cases: BadInput[] = capped.map(([format, read]) => ({
    name: `${format}: larger than a 16-byte cap`,
    run: () => read(valid[format as 'scores' | 'pairs' | 'bin']),
    mentions: /more than the 16 bytes accepted/,
  }));
  const table = put(`${'a 1 2\n'.repeat(20)}`, 'txt');
  cases.push({
    name: 'embeddings: larger than a 16-byte cap',
    run: () => readEmbeddingsFile(table, { maxBytes: 16 }),
    mentions: /more than the 16 bytes accepted/,
  });
  return cases;
}

/**
 * A 600 MB score file: the header, then NUL bytes without a newline (a sparse file, so it costs no disk).
 * Read whole it exceeded V8's longest string (`Cannot create a string longer than …`, no path); streamed
 * it stops at the line cap, naming the file and the line.
 */
function endlessLine(): BadInput {
  const p = put('score,label\n', 'csv');
  truncateSync(p, 600 * 1024 * 1024);
  return {
    name: 'scores: 600 MB with no newline after the header',
    run: () => readScoresFile(p),
    mentions: /case-\d+\.csv: line 2: longer than/,
  };
}

async function recordIOCases(): Promise<BadInput[]> {
  const cases: BadInput[] = [];
  const rec = (bytes: Uint8Array, what: string, idx?: string): BadInput => {
    const p = put(bytes, 'rec');
    const idxPath = idx === undefined ? undefined : put(idx, 'idx');
    return {
      name: `recordio: ${what}`,
      run: () =>
        idxPath === undefined
          ? scanRecords(p)
          : readAll(() => openInsightfaceRecordIO(p, { shape: SHAPE, idxPath })),
      mentions: /case-\d+\.(rec|idx)/,
    };
  };
  const good = readFileSync(valid.rec);
  const goodIdx = readFileSync(valid.idx, 'utf8');
  const wrongMagic = good.slice();
  wrongMagic[0] ^= 0xff;
  const badFlag = frameRecord(packIRHeader({ label: 1 }));
  new DataView(badFlag.buffer).setUint32(4, ((3 << 29) | 24) >>> 0, true);
  const longPart = frameRecord(packIRHeader({ label: 1 }));
  new DataView(longPart.buffer).setUint32(4, 1 << 20, true);
  const shortRecord = frameRecord(new Uint8Array(10));
  cases.push(
    rec(wrongMagic, 'wrong magic, no index'),
    rec(wrongMagic, 'wrong magic, with index', goodIdx),
    rec(badFlag, 'continuation flag 3 on a first part'),
    rec(longPart, 'a part longer than the file'),
    rec(shortRecord, 'a record shorter than its image header', '0\t0\n'),
    rec(good, 'index line without a tab', '0 0\n'),
    rec(good, 'index offset not a number', '0\tabc\n'),
    rec(good, 'index offset past the end', `0\t${good.length + 100}\n`),
    rec(good, 'index key of 30 digits', `${'9'.repeat(30)}\t0\n`),
    rec(
      good,
      'index pointing into the middle of a record',
      goodIdx.replace(/\t(\d+)\n/, (_, o) => `\t${Number(o) + 4}\n`),
    ),
    rec(good, 'index missing the image records', '0\t0\n'),
    rec(
      frameRecord(packIRHeader({ label: [2.5, 3] })),
      'header record with a fractional image count',
      '0\t0\n',
    ),
    rec(frameRecord(packIRHeader({ label: [-4, 3] })), 'header record with a negative image count', '0\t0\n'),
  );
  for (const at of truncationOffsets(good.length, 99)) {
    if (at === 0) continue;
    cases.push(rec(good.subarray(0, at), `truncated at byte ${at} of ${good.length}, with index`, goodIdx));
  }
  return cases;
}

function imageFolderCases(): BadInput[] {
  const folder = (what: string, build: (dir: string) => void): BadInput => {
    const dir = join(root, `images-${counter++}`);
    mkdirSync(dir);
    build(dir);
    return {
      name: `image folder: ${what}`,
      run: () => readAll(() => openImageFolder(dir, { shape: SHAPE })),
      mentions: dir,
    };
  };
  return [
    {
      name: 'image folder: missing folder',
      run: () => openImageFolder(join(root, 'nope'), { shape: SHAPE }),
      mentions: 'nope',
    },
    {
      name: 'image folder: a file given as the folder',
      run: () => openImageFolder(valid.scores),
      mentions: 'scores.csv',
    },
    folder('no identity folders', () => {}),
    folder('identity folders without images', (d) => {
      mkdirSync(join(d, 'alice'));
      writeFileSync(join(d, 'alice', 'notes.txt'), 'x');
    }),
    folder('a .png that is not an image', (d) => {
      mkdirSync(join(d, 'alice'));
      writeFileSync(join(d, 'alice', 'a.png'), 'not a png');
    }),
    folder('a truncated .png', (d) => {
      mkdirSync(join(d, 'alice'));
      const bytes = readFileSync(join(valid.images, 'alice', '0.png'));
      writeFileSync(join(d, 'alice', 'a.png'), bytes.subarray(0, 30));
    }),
    folder('a folder named like an image', (d) => {
      mkdirSync(join(d, 'alice', 'b.png'), { recursive: true });
    }),
    {
      name: 'image folder: shape of zero height',
      run: () => openImageFolder(valid.images, { shape: { height: 0, width: 4, channels: 3 } }),
      mentions: 'shape',
    },
    {
      name: 'image folder: 2 channels',
      run: () => openImageFolder(valid.images, { shape: { height: 4, width: 4, channels: 2 as 3 } }),
      mentions: 'shape',
    },
  ];
}

describe('bad files are rejected with typed errors', () => {
  it('the valid files read (so the corruptions below are what breaks them)', async () => {
    expect(readScoresFile(valid.scores).scores.length).toBe(10);
    expect(readPairsFile(valid.pairs).length).toBe(4);
    expect(readVerificationBin(valid.bin).issame).toEqual([true, false]);
    expect(await readers.rec(valid.rec)).toEqual([[0, 0, 1], 6]);
    expect(await readAll(() => openImageFolder(valid.images, { shape: SHAPE }))).toEqual([0, 0, 1]);
    expect(loadFixture(valid.fixture).steps.length).toBeGreaterThan(0);
  });

  it('missing, folder, empty, truncated and flipped files', async () => {
    const before = tally.problems.length;
    await tally.checkAll(pathCases());
    expect(tally.problems.slice(before)).toEqual([]);
  });

  it('malformed content', async () => {
    const before = tally.problems.length;
    await tally.checkAll(contentCases());
    expect(tally.problems.slice(before)).toEqual([]);
  });

  it('RecordIO framing, headers and indexes', async () => {
    const before = tally.problems.length;
    await tally.checkAll(await recordIOCases());
    expect(tally.problems.slice(before)).toEqual([]);
  });

  it('image folders', async () => {
    const before = tally.problems.length;
    await tally.checkAll(imageFolderCases());
    expect(tally.problems.slice(before)).toEqual([]);
  });

  it('files with mode 000', async (ctx) => {
    if (permissionsIgnored(root)) {
      ctx.skip('this process reads files with mode 000 (running as root): permissions cannot be tested');
    }
    const before = tally.problems.length;
    for (const [format, read] of Object.entries(readers)) {
      const p = put(readFileSync(valid[format as keyof typeof readers]), format);
      chmodSync(p, 0o000);
      await tally.check({ name: `${format}: mode 000`, run: () => read(p), mentions: p });
    }
    expect(tally.problems.slice(before)).toEqual([]);
  });

  it('every bad file was tried and rejected cleanly', () => {
    expect(tally.tried).toBeGreaterThan(150);
    expect(tally.clean).toBe(tally.tried);
  });
});
