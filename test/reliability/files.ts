/**
 * Small valid files of every format the readers accept, built in a temporary folder, plus the ways of
 * breaking them that the reliability suites share (truncation at several offsets, flipped bytes).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeInsightfaceRecordIO } from '../../src/data/recordio/writer.js';
import { createRng } from '../../src/rng.js';
import { verificationBinPickle } from '../eval/pickle-bytes.js';
import { GOLDEN_DIR } from '../helpers/golden-dir.js';

/** A real golden fixture (tiny ArcFace case), where the conformance suite finds them. */
export const GOLDEN_FIXTURE = join(GOLDEN_DIR, 'arcface.insightface.tiny_b4_d2_c3.json');

/** Ten pairs, five of each kind. */
export const SCORES_CSV =
  'score,label\n0.9,1\n0.8,1\n0.7,0\n0.6,1\n0.5,0\n0.4,1\n0.3,0\n0.2,0\n0.85,0\n0.1,1\n';

/** A dev-style pairs file: two same pairs, then two different pairs. */
export const PAIRS_TXT = '2\nAlice\t1\t2\nBob\t1\t3\nAlice\t1\tBob\t2\nCarol\t4\tDan\t1\n';

/** A 4×4 RGB PNG whose pixels depend on `n`. */
export async function tinyPng(n: number): Promise<Uint8Array> {
  const pixels = Buffer.alloc(48, (n * 37) % 256);
  for (let i = 0; i < 48; i++) pixels[i] = (pixels[i] + i * 5) % 256;
  return new Uint8Array(
    await sharp(pixels, { raw: { width: 4, height: 4, channels: 3 } })
      .png()
      .toBuffer(),
  );
}

/** Paths of the valid files written by {@link writeValidFiles}. */
export interface ValidFiles {
  dir: string;
  scores: string;
  pairs: string;
  bin: string;
  rec: string;
  idx: string;
  images: string;
  fixture: string;
}

/** Writes one valid file of each format into `dir` (the fixture is copied from `goldenFixture`). */
export async function writeValidFiles(dir: string, goldenFixture: string): Promise<ValidFiles> {
  const images = await Promise.all([0, 1, 2, 3].map(tinyPng));
  const files: ValidFiles = {
    dir,
    scores: join(dir, 'scores.csv'),
    pairs: join(dir, 'pairs.txt'),
    bin: join(dir, 'set.bin'),
    rec: join(dir, 'train.rec'),
    idx: join(dir, 'train.idx'),
    images: join(dir, 'faces'),
    fixture: join(dir, 'fixture.json'),
  };
  writeFileSync(files.scores, SCORES_CSV);
  writeFileSync(files.pairs, PAIRS_TXT);
  writeFileSync(files.bin, verificationBinPickle(images, [true, false], 'protocol4'));
  await writeInsightfaceRecordIO(files.rec, files.idx, [[images[0], images[1]], [images[2]]]);
  for (const [who, n] of [
    ['alice', 0],
    ['alice', 1],
    ['bob', 2],
  ] as const) {
    mkdirSync(join(files.images, who), { recursive: true });
    writeFileSync(join(files.images, who, `${n}.png`), images[n]);
  }
  writeFileSync(files.fixture, readFileSync(goldenFixture));
  return files;
}

/** Offsets to cut a file of `size` bytes at: the start, the edges of headers, and seeded interior points. */
export function truncationOffsets(size: number, seed: number, count = 6): number[] {
  const rng = createRng(seed);
  const points = new Set([0, 1, 4, 7, 8, 12, 24, 31, size - 1]);
  while (points.size < 9 + count) points.add(1 + rng.int(size - 1));
  return [...points].filter((p) => p >= 0 && p < size).sort((a, b) => a - b);
}

/** A copy of `bytes` with `flips` seeded bytes replaced by different values. */
export function flipBytes(bytes: Uint8Array, seed: number, flips = 1): Uint8Array {
  const rng = createRng(seed);
  const out = bytes.slice();
  for (let k = 0; k < flips; k++) {
    const at = rng.int(out.length);
    out[at] ^= 1 + rng.int(255);
  }
  return out;
}

/**
 * Whether a file with mode 000 can still be read by this process (true for root, where the permission
 * cases cannot be tested).
 */
export function permissionsIgnored(dir: string): boolean {
  const probe = join(dir, '.mode-000-probe');
  writeFileSync(probe, 'x');
  chmodSync(probe, 0o000);
  try {
    readFileSync(probe);
    return true;
  } catch {
    return false;
  } finally {
    chmodSync(probe, 0o600);
  }
}
