/**
 * Fuzz properties of every parser: arbitrary bytes or text — random, assembled from the format's own
 * tokens, or a valid file with random edits — must give either a well-formed result or a typed
 * FaceVerLossError, never another exception. Each property is a fast-check `IProperty` so the vitest
 * suite and `npm run fuzz` run the same checks with different budgets.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { type ByteSource, frameRecord, readFramedRecord } from '../../src/data/recordio/framing.js';
import { parseRecordIndex } from '../../src/data/recordio/index-file.js';
import { IR_HEADER_SIZE, packIRHeader, unpackIRHeader } from '../../src/data/recordio/ir-header.js';
import { FaceVerLossError } from '../../src/errors.js';
import { parseVerificationBin } from '../../src/eval/bin-file.js';
import { parseEmbeddings } from '../../src/eval/embeddings-file.js';
import { parsePairs } from '../../src/eval/pairs-file.js';
import { type PickleValue, unpickle } from '../../src/eval/pickle.js';
import { parseScoresCsv } from '../../src/eval/scores-file.js';
import { parseFixture } from '../../src/golden/fixture.js';
import { encodeNpy, parseNpy, parseTorchCheckpoint } from '../../src/interop/index.js';
import { verificationBinPickle } from '../eval/pickle-bytes.js';
import { GOLDEN_FIXTURE } from '../reliability/files.js';

/** Runs `f`; a typed error is a clean rejection (undefined), anything else thrown is rethrown. */
function orTyped<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (err) {
    if (err instanceof FaceVerLossError) return undefined;
    throw err;
  }
}

async function orTypedAsync<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof FaceVerLossError) return undefined;
    throw err;
  }
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`accepted a result that is not well-formed: ${what}`);
}

/** An edit of a byte string: flip, delete, insert, or cut the rest. */
const edit = fc.record({
  kind: fc.constantFrom('flip', 'delete', 'insert', 'truncate'),
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
});

/** `base` with up to `max` random edits. */
function mutated(base: Uint8Array, max = 4): fc.Arbitrary<Uint8Array> {
  return fc.array(edit, { minLength: 1, maxLength: max }).map((edits) => {
    let bytes = Array.from(base);
    for (const e of edits) {
      const at = bytes.length === 0 ? 0 : e.at % bytes.length;
      if (e.kind === 'flip' && bytes.length > 0) bytes[at] ^= e.byte || 1;
      else if (e.kind === 'delete') bytes.splice(at, 1);
      else if (e.kind === 'insert') bytes.splice(at, 0, e.byte);
      else bytes = bytes.slice(0, at);
    }
    return Uint8Array.from(bytes);
  });
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Lines assembled from `tokens`, joined with separators the format might (not) use. */
function tokenLines(tokens: readonly string[], separators: readonly string[]): fc.Arbitrary<string> {
  const line = fc
    .array(fc.constantFrom(...tokens), { maxLength: 6 })
    .chain((fields) => fc.constantFrom(...separators).map((sep) => fields.join(sep)));
  return fc
    .array(line, { maxLength: 12 })
    .chain((lines) => fc.constantFrom('\n', '\r\n').map((nl) => lines.join(nl)));
}

const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 200 }));

// ---------------------------------------------------------------------------------------------- scores
const SCORES = 'score,label\n0.9,1\n0.8,1\n0.7,0\n0.6,1\n0.5,0\n0.3,0\n';
const scoresText = fc.oneof(
  anyText,
  mutated(utf8(SCORES)).map(text),
  tokenLines(
    [
      'score',
      'label',
      'x',
      '',
      '0',
      '1',
      '2',
      '-1',
      '0.5',
      '1e3',
      '1e999',
      'NaN',
      '-0',
      '.5',
      ' 1 ',
      '\u00a0',
      '0x1',
    ],
    [',', ', ', ';'],
  ),
);

function checkScores(t: string): void {
  const r = orTyped(() => parseScoresCsv(t, 'fuzz.csv'));
  if (r === undefined) return;
  check(r.scores.length === r.labels.length, 'scores and labels differ in length');
  let positives = 0;
  for (let i = 0; i < r.scores.length; i++) {
    check(Number.isFinite(r.scores[i]), `score ${r.scores[i]}`);
    check(r.labels[i] === 0 || r.labels[i] === 1, `label ${r.labels[i]}`);
    positives += r.labels[i];
  }
  check(positives > 0 && positives < r.labels.length, 'both classes present');
}

// ----------------------------------------------------------------------------------------------- pairs
const PAIRS = '2\nAlice 1 2\nBob 1 3\nAlice 1 Bob 2\nCarol 4 Dan 1\n';
const pairsText = fc.oneof(
  anyText,
  mutated(utf8(PAIRS)).map(text),
  tokenLines(
    ['1', '2', '10', '300', '0', '-1', '1.5', 'A', 'B', 'Ann_Lee', '99999999999', ''],
    [' ', '\t', '  '],
  ),
);

function checkPairs(t: string): void {
  const r = orTyped(() => parsePairs(t, 'fuzz.txt'));
  if (r === undefined) return;
  check(r.length > 0 && r.length % 2 === 0, `${r.length} pairs`);
  check(r.some((p) => p.same) && r.some((p) => !p.same), 'both kinds of pair present');
  for (const p of r) check(typeof p.first === 'string' && typeof p.second === 'string', 'pair ids');
}

// ------------------------------------------------------------------------------------------ embeddings
const EMBEDDINGS = 'a/a_0001,0.5,1\nb/b_0001 0.25 -1\n# comment\nc/c_0001,1e-3,2\n';
const embeddingsText = fc.oneof(
  anyText,
  mutated(utf8(EMBEDDINGS)).map(text),
  // Values beyond float32 (1e53, 3.5e38) are finite doubles that the reader must still refuse.
  tokenLines(
    ['a', 'b/b_0001', '1', '-0.5', 'NaN', '1e999', '1e53', '-3.5e38', '3.4e38', '1e-50', '#', ''],
    [',', ' ', '\t'],
  ),
);

function checkEmbeddings(t: string): void {
  const r = orTyped(() => parseEmbeddings(t, 'fuzz.txt'));
  if (r === undefined) return;
  check(r.names.length === r.vectors.length, 'names and vectors differ in length');
  for (const v of r.vectors) {
    check(v.length === r.dim, 'every vector has the table dimension');
    for (const x of v) check(Number.isFinite(x), `value ${x}`);
  }
}

// ---------------------------------------------------------------------------------------- pickle / bin
const PICKLE_OPS = [
  0x80, 0x95, 0x2e, 0x28, 0x5d, 0x29, 0x61, 0x65, 0x74, 0x85, 0x86, 0x87, 0x43, 0x42, 0x8e, 0x96, 0x55, 0x54,
  0x8c, 0x58, 0x8d, 0x88, 0x89, 0x4e, 0x4b, 0x4d, 0x4a, 0x94, 0x71, 0x72, 0x68, 0x6a, 0x63, 0x52,
];
const images = [Uint8Array.of(1, 2, 3), Uint8Array.of(4), Uint8Array.of(), Uint8Array.of(0x2e, 0x80)];
const validBins = [
  verificationBinPickle(images, [true, false], 'protocol4'),
  verificationBinPickle(images, [false, true], 'python2'),
];
const pickleBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc
    .array(fc.oneof(fc.constantFrom(...PICKLE_OPS), fc.integer({ min: 0, max: 255 })), { maxLength: 60 })
    .map((ops) => Uint8Array.from([0x80, 4, ...ops, 0x2e])),
  fc.constantFrom(...validBins).chain((b) => mutated(b)),
);

function wellFormedPickle(v: PickleValue, depth = 0): boolean {
  if (depth > 10_000) return false;
  if (Array.isArray(v)) return v.every((x) => wellFormedPickle(x, depth + 1));
  return (
    v === null ||
    v instanceof Uint8Array ||
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    (typeof v === 'number' && Number.isFinite(v))
  );
}

function checkPickle(bytes: Uint8Array): void {
  const v = orTyped(() => unpickle(bytes, 'fuzz.pkl'));
  if (v !== undefined) check(wellFormedPickle(v), 'pickle value');
  const bin = orTyped(() => parseVerificationBin(bytes, 'fuzz.bin'));
  if (bin === undefined) return;
  check(bin.images.length === 2 * bin.issame.length, 'two images per pair');
  check(
    bin.issame.every((s) => typeof s === 'boolean'),
    'issame booleans',
  );
  for (const img of bin.images) {
    check(img instanceof Uint8Array, 'image bytes');
    check(img.byteOffset + img.length <= bytes.byteOffset + bytes.length, 'image view inside the input');
  }
}

// --------------------------------------------------------------------------------- RecordIO and .idx
const MAGIC = [0x0a, 0x23, 0xd7, 0xce];

/** Records that sometimes hold the magic word at 4-aligned positions (which the framing splits on). */
const record = fc
  .array(
    fc.oneof(
      fc.constant(MAGIC),
      fc.uint8Array({ minLength: 1, maxLength: 9 }).map((b) => Array.from(b)),
    ),
    {
      maxLength: 8,
    },
  )
  .map((chunks) => Uint8Array.from(chunks.flat()));

function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    path: 'fuzz.rec',
    bytes: async (offset, length) => bytes.subarray(offset, offset + length),
  };
}

const validRec = Uint8Array.from([
  ...frameRecord(packIRHeader({ label: [3, 4] })),
  ...frameRecord(packIRHeader({ label: 0, id: 1 }, Uint8Array.of(...MAGIC, 1, 2, 3, 4, ...MAGIC))),
  ...frameRecord(packIRHeader({ label: 1, id: 2 }, Uint8Array.of(9))),
]);
const recBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.array(record, { maxLength: 4 }).map((rs) => Uint8Array.from(rs.flatMap((r) => [...frameRecord(r)]))),
  mutated(validRec),
);

/** Scans a whole file of records; every step must move forward and stay inside the file. */
async function checkRecordIO(bytes: Uint8Array): Promise<void> {
  const source = memorySource(bytes);
  await orTypedAsync(async () => {
    let offset = 0;
    while (offset < bytes.length) {
      const { data, next } = await readFramedRecord(source, offset);
      check(next > offset && next <= bytes.length, `next ${next} after ${offset}`);
      check(data instanceof Uint8Array, 'record bytes');
      const unpacked = orTyped(() => unpackIRHeader(data, 'fuzz.rec', offset));
      if (unpacked !== undefined) {
        const { header, payload } = unpacked;
        const labelBytes = header.flag === 0 ? 0 : 4 * header.flag;
        check(payload.length === data.length - IR_HEADER_SIZE - labelBytes, 'payload length');
      }
      offset = next;
    }
  });
}

async function checkRecordRoundTrip(r: Uint8Array): Promise<void> {
  const framed = frameRecord(r);
  const { data, next } = await readFramedRecord(memorySource(framed), 0);
  check(next === framed.length, 'next is the framed length');
  check(data.length === r.length && data.every((b, i) => b === r[i]), 'record read back unchanged');
}

const idxBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  tokenLines(
    ['0', '1', '42', '007', '-1', '1.5', '9'.repeat(17), '9'.repeat(30), 'x', ''],
    ['\t', ' ', '\t\t'],
  ).map(utf8),
  mutated(utf8('0\t0\n1\t32\n2\t96\n')),
);

function checkIndex(bytes: Uint8Array): void {
  const r = orTyped(() => parseRecordIndex(bytes, 'fuzz.idx'));
  if (r === undefined) return;
  check(r.keys.length === r.offsets.length, 'keys and offsets differ in length');
  for (let i = 0; i < r.keys.length; i++) {
    check(Number.isSafeInteger(r.keys[i]) && r.keys[i] >= 0, `key ${r.keys[i]}`);
    check(Number.isSafeInteger(r.offsets[i]) && r.offsets[i] >= 0, `offset ${r.offsets[i]}`);
  }
}

// -------------------------------------------------------------------------------------- golden fixture
const FIXTURE = readFileSync(GOLDEN_FIXTURE, 'utf8');
const fixtureText = fc.oneof(
  fc.json({ maxDepth: 4 }),
  anyText,
  fc
    .record({ format: fc.constantFrom('faceverloss-golden/1', 'x'), steps: fc.jsonValue({ maxDepth: 5 }) })
    .map((o) => JSON.stringify(o)),
  fc.jsonValue({ maxDepth: 3 }).map((v) =>
    JSON.stringify({
      format: 'faceverloss-golden/1',
      steps: [{ inputs: { X: { dtype: 'float32', shape: [1], data: [v] } } }],
    }),
  ),
  mutated(utf8(FIXTURE), 3).map(text),
);

function checkFixture(t: string): void {
  const r = orTyped(() => parseFixture(t, 'fuzz.json'));
  if (r === undefined) return;
  check(Array.isArray(r.steps), 'steps is a list');
  for (const s of r.steps)
    for (const tensor of Object.values(s.inputs)) check(tensor.data instanceof Float64Array, 'tensor data');
}

// ------------------------------------------------------------------------- PyTorch checkpoints, .npy
const INTEROP = new URL('../fixtures/interop/', import.meta.url);
const torchFiles = ['views.pt', 'views-legacy.pt'].map(
  (f) => new Uint8Array(readFileSync(new URL(f, INTEROP))),
);
/** Opcodes of the torch profile, for pickles assembled from the format's own tokens. */
const TORCH_OPS = [...PICKLE_OPS, 0x7d, 0x73, 0x75, 0x62, 0x47, 0x8a, 0x8b, 0x93, 0x51];
const checkpointBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc
    .array(fc.oneof(fc.constantFrom(...TORCH_OPS), fc.integer({ min: 0, max: 255 })), { maxLength: 60 })
    .map((ops) =>
      Uint8Array.from([
        0x80,
        2,
        0x8a,
        10,
        0x6c,
        0xfc,
        0x9c,
        0x46,
        0xf9,
        0x20,
        0x6a,
        0xa8,
        0x50,
        0x19,
        0x2e,
        0x80,
        2,
        ...ops,
        0x2e,
      ]),
    ),
  fc.constantFrom(...torchFiles).chain((b) => mutated(b)),
);

function checkCheckpoint(bytes: Uint8Array): void {
  const r = orTyped(() => parseTorchCheckpoint(bytes, 'fuzz.pth'));
  if (r === undefined) return;
  for (const [key, t] of r.tensors) {
    check(typeof key === 'string', 'string keys');
    check(t.data.length === t.shape.reduce((a, b) => a * b, 1), `${key}: elements match the shape`);
  }
}

const npyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc
    .array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 })
    .map((shape) => encodeNpy(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5), shape))
    .chain((b) => fc.oneof(fc.constant(b), mutated(b))),
);

function checkNpy(bytes: Uint8Array): void {
  const r = orTyped(() => parseNpy(bytes, 'fuzz.npy'));
  if (r === undefined) return;
  check(r.data.length === r.shape.reduce((a, b) => a * b, 1), 'elements match the shape');
}

/** A property over one arbitrary input, sync or async. */
// biome-ignore lint/suspicious/noExplicitAny: the properties differ in their input types.
export type AnyProperty = fc.IRawProperty<any>;

/** The check behind each parser property, by the same name (for fixed regression inputs). */
// biome-ignore lint/suspicious/noExplicitAny: the checks differ in their input types.
export const parserChecks: Record<string, (input: any) => void | Promise<void>> = {
  'scores CSV': checkScores,
  'pairs file': checkPairs,
  'embeddings file': checkEmbeddings,
  'pickle / .bin': checkPickle,
  'RecordIO framing + IR header': checkRecordIO,
  'RecordIO frame round trip': checkRecordRoundTrip,
  '.idx index': checkIndex,
  'golden fixture JSON': checkFixture,
  'PyTorch checkpoint': checkCheckpoint,
  '.npy array': checkNpy,
};

/** The parser properties by name (each call builds a fresh property). */
export const parserProperties: Record<string, () => AnyProperty> = {
  'scores CSV': () => fc.property(scoresText, checkScores),
  'pairs file': () => fc.property(pairsText, checkPairs),
  'embeddings file': () => fc.property(embeddingsText, checkEmbeddings),
  'pickle / .bin': () => fc.property(pickleBytes, checkPickle),
  'RecordIO framing + IR header': () => fc.asyncProperty(recBytes, checkRecordIO),
  'RecordIO frame round trip': () => fc.asyncProperty(record, checkRecordRoundTrip),
  '.idx index': () => fc.property(idxBytes, checkIndex),
  'golden fixture JSON': () => fc.property(fixtureText, checkFixture),
  'PyTorch checkpoint': () => fc.property(checkpointBytes, checkCheckpoint),
  '.npy array': () => fc.property(npyBytes, checkNpy),
};
