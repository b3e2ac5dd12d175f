import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/errors.js';
import {
  identityOf,
  lfwImageId,
  parseEmbeddings,
  parsePairs,
  parseScoresCsv,
  readEmbeddingsFile,
  readScoresFile,
  readVerificationBin,
  scorePairs,
} from '../../src/eval/index.js';
import { verificationBinPickle } from './pickle-bytes.js';

const dir = mkdtempSync(join(tmpdir(), 'faceverloss-eval-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectCorrupt(fn: () => unknown, message: RegExp): void {
  expect(fn).toThrow(CorruptFileError);
  expect(fn).toThrow(message);
}

describe('score CSV', () => {
  it('reads columns by name, in any order, skipping blank lines, with CRLF endings', () => {
    const text = 'label,id,score\r\n1,a,0.75\r\n\r\n0,b,-1e-2\r\n1,c,.5\r\n';
    const { scores, labels } = parseScoresCsv(text, 's.csv');
    expect(Array.from(scores)).toEqual([0.75, -0.01, 0.5]);
    expect(Array.from(labels)).toEqual([1, 0, 1]);
  });

  it('reads a file from disk and reports a missing one', () => {
    const path = join(dir, 'scores.csv');
    writeFileSync(path, 'score,label\n0.9,1\n0.1,0\n');
    expect(Array.from(readScoresFile(path).scores)).toEqual([0.9, 0.1]);
    expectCorrupt(
      () => readScoresFile(join(dir, 'missing.csv')),
      /missing\.csv: cannot read the file \(ENOENT\)/,
    );
  });

  it('names the line of each kind of bad row', () => {
    expectCorrupt(() => parseScoresCsv('score,lbl\n1,1\n', 's.csv'), /s\.csv: line 1: the header must name/);
    expectCorrupt(() => parseScoresCsv('', 's.csv'), /line 1: empty file/);
    expectCorrupt(
      () => parseScoresCsv('score,label\n0.5,1\n0.25\n', 's.csv'),
      /line 3: expected at least 2 columns/,
    );
    expectCorrupt(
      () => parseScoresCsv('score,label\n0.5,1\nabc,0\n', 's.csv'),
      /line 3: score "abc" is not a finite/,
    );
    expectCorrupt(() => parseScoresCsv('score,label\n,1\n', 's.csv'), /line 2: score "" is not/);
    expectCorrupt(() => parseScoresCsv('score,label\nNaN,1\n', 's.csv'), /line 2: score "NaN"/);
    expectCorrupt(() => parseScoresCsv('score,label\n0x10,1\n', 's.csv'), /line 2: score "0x10"/);
    expectCorrupt(
      () => parseScoresCsv('score,label\n0.5,1\n\n0.2,2\n', 's.csv'),
      /line 4: label "2" must be 0 or 1/,
    );
    expectCorrupt(() => parseScoresCsv('score,label\n0.5,1\n0.2,true\n', 's.csv'), /line 3: label "true"/);
  });

  it('requires both classes', () => {
    expectCorrupt(
      () => parseScoresCsv('score,label\n0.5,1\n0.2,1\n', 's.csv'),
      /no different-identity pairs/,
    );
    expectCorrupt(() => parseScoresCsv('score,label\n0.5,0\n', 's.csv'), /no same-identity pairs/);
  });
});

describe('LFW pairs file', () => {
  it('names images name/name_000i and labels same/different pairs', () => {
    expect(lfwImageId('Abel_Pacheco', 4)).toBe('Abel_Pacheco/Abel_Pacheco_0004');
    const pairs = parsePairs('2 1\nA\t1\t2\nB 1 C 3\nD 10 12\nE 2 F 1\n', 'pairs.txt');
    expect(pairs.map((p) => [p.first, p.second, p.same, p.line])).toEqual([
      ['A/A_0001', 'A/A_0002', true, 2],
      ['B/B_0001', 'C/C_0003', false, 3],
      ['D/D_0010', 'D/D_0012', true, 4],
      ['E/E_0002', 'F/F_0001', false, 5],
    ]);
  });

  it('accepts the single-count header of the dev files', () => {
    expect(parsePairs('1\nA 1 2\nB 1 C 1\n', 'dev.txt')).toHaveLength(2);
  });

  it('names the line of bad rows and a wrong pair count', () => {
    expectCorrupt(() => parsePairs('ten 300\nA 1 2\n', 'p.txt'), /p\.txt: line 1: expected a header/);
    expectCorrupt(
      () => parsePairs('1\nA 1 2\nB 1\n', 'p.txt'),
      /line 3: expected "name i j" or "name1 i name2 j", got 2 fields/,
    );
    // three fields make a same pair, so a missing image number shows up as a bad number
    expectCorrupt(() => parsePairs('1\nA 1 2\nB 1 C\n', 'p.txt'), /line 3: image number "C"/);
    expectCorrupt(
      () => parsePairs('1\nA 1 2 3 4\nB 1 C 1\n', 'p.txt'),
      /line 2: expected "name i j".*got 5 fields/,
    );
    expectCorrupt(() => parsePairs('1\nA 1 x\nB 1 C 1\n', 'p.txt'), /line 2: image number "x"/);
    expectCorrupt(() => parsePairs('1\nA 0 2\nB 1 C 1\n', 'p.txt'), /line 2: image number "0"/);
    expectCorrupt(
      () => parsePairs('2 1\nA 1 2\nB 1 C 1\n', 'p.txt'),
      /line 1: the header announces 4 pairs but the file has 2/,
    );
    expectCorrupt(
      () => parsePairs('2\nA 1 2\nB 1 2\nC 1 D 1\n', 'p.txt'),
      /^p\.txt: line 1: the header announces 4 pairs but the file has 3/,
    );
    expectCorrupt(() => parsePairs('1\nA 1 2\nB 1 2\n', 'p.txt'), /no different-identity pairs/);
  });
});

describe('embeddings file', () => {
  it('reads comma, tab or space separated rows and drops image extensions from names', () => {
    const table = parseEmbeddings(
      '# comment\nA/A_0001.jpg,1,0\nA/A_0002\t0.5\t0.5\n\nB/B_0001 -1 2e0\n',
      'e.csv',
    );
    expect(table.dim).toBe(2);
    expect(table.names).toEqual(['A/A_0001', 'A/A_0002', 'B/B_0001']);
    expect(Array.from(table.vectors[2])).toEqual([-1, 2]);
    expect(table.index.get('A/A_0002')).toBe(1);
  });

  it('names the line (and column) of bad rows', () => {
    expectCorrupt(
      () => parseEmbeddings('a,1,2\nb,1\n', 'e.csv'),
      /e\.csv: line 2: expected 2 values \(as the first line\), got 1/,
    );
    expectCorrupt(
      () => parseEmbeddings('a,1,2\nb,1,x\n', 'e.csv'),
      /line 2, column 3: "x" is not a finite number/,
    );
    expectCorrupt(() => parseEmbeddings('a,1,2\na.png,3,4\n', 'e.csv'), /line 2: "a" already appeared/);
    expectCorrupt(() => parseEmbeddings('\na\n', 'e.csv'), /line 2: "a" has no values/);
    expectCorrupt(() => parseEmbeddings('# only a comment\n', 'e.csv'), /no embeddings found/);
  });

  it('refuses values beyond float32 where they are read, naming the file, line and column', () => {
    // As float32, 1e53 is Infinity: accepted, it only failed later without saying where.
    expectCorrupt(
      () => parseEmbeddings('a,1,2\nb,0,1e53\n', 'e.csv'),
      /^e\.csv: line 2, column 3: "1e53" is outside the float32 range/,
    );
    expectCorrupt(() => parseEmbeddings('a -3.5e38 0\n', 'e.csv'), /line 1, column 2: "-3.5e38" is outside/);
    // The largest float32 and values that round to it (or underflow to 0) are still numbers.
    const table = parseEmbeddings('a 3.4028234e38 1e-50\n', 'e.csv');
    expect(Array.from(table.vectors[0])).toEqual([Math.fround(3.4028234e38), 0]);
  });

  it('reads a file line by line, like the text', () => {
    const path = join(dir, 'emb.txt');
    writeFileSync(path, '\ufeffa,1,2\r\n# c\r\nb 3 4');
    const table = readEmbeddingsFile(path);
    expect(table.names).toEqual(['a', 'b']);
    expect(Array.from(table.vectors[1])).toEqual([3, 4]);
  });

  it('maps LFW identifiers to identities', () => {
    expect(identityOf('Abel_Pacheco/Abel_Pacheco_0001')).toBe('Abel_Pacheco');
    expect(identityOf('Abel_Pacheco_0001')).toBe('Abel_Pacheco');
  });
});

describe('scorePairs', () => {
  // (1,0)·(3,4)/5 = 0.6 ; (1,0)·(0,2)/2 = 0 ; (0,2)·(3,4)/(2·5) = 0.8
  const table = parseEmbeddings('A/A_0001,1,0\nA/A_0002,3,4\nB_0001,0,2\n', 'e.csv');

  it('scores each pair by cosine similarity, looking names up with or without the directory', () => {
    const pairs = parsePairs('1\nA 1 2\nA 1 B 1\n', 'p.txt');
    const { scores, labels } = scorePairs(pairs, table, { pairs: 'p.txt', embeddings: 'e.csv' });
    expect(scores[0]).toBeCloseTo(0.6, 7);
    expect(scores[1]).toBeCloseTo(0, 7);
    expect(Array.from(labels)).toEqual([1, 0]);
  });

  it('reports a zero embedding against the embeddings file', () => {
    const zero = parseEmbeddings('A/A_0001,1,0\nA/A_0002,0,0\nB/B_0001,0,1\n', 'z.csv');
    const pairs = parsePairs('1\nA 1 2\nA 1 B 1\n', 'p.txt');
    expectCorrupt(
      () => scorePairs(pairs, zero, { pairs: 'p.txt', embeddings: 'z.csv' }),
      /z\.csv: the embedding of "A\/A_0002" is all zeros/,
    );
  });

  it('names the pairs line whose image has no embedding', () => {
    const pairs = parsePairs('1\nA 1 2\nA 2 C 1\n', 'p.txt');
    expectCorrupt(
      () => scorePairs(pairs, table, { pairs: 'p.txt', embeddings: 'e.csv' }),
      /p\.txt: line 3: no embedding for "C\/C_0001" in e\.csv/,
    );
  });
});

describe('readVerificationBin', () => {
  it('reads a .bin file from disk', () => {
    const path = join(dir, 'tiny.bin');
    const imgs = [1, 2, 3, 4].map((k) => Uint8Array.from([0xff, 0xd8, k]));
    writeFileSync(path, verificationBinPickle(imgs, [false, true], 'python2'));
    const bin = readVerificationBin(path);
    expect(bin.issame).toEqual([false, true]);
    expect(bin.images.map((b) => b[2])).toEqual([1, 2, 3, 4]);
  });
});
