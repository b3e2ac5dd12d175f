/**
 * Sharded-head checkpoints: one file per rank plus a manifest, loaded at the same N, re-cut for another
 * N, and refused (typed errors) when the manifest or a shard file is wrong.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { CorruptFileError, InvalidArgumentError, UnsupportedConfigError } from '../../src/errors.js';
import { LocalComm } from '../../src/parallel/comm.js';
import { shardRange } from '../../src/parallel/shard.js';
import {
  loadShardCheckpoint,
  readShardManifest,
  reshardCheckpoint,
  saveShardCheckpoint,
} from '../../src/parallel/shard-checkpoint.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'fvl-shards-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const C = 11;
const D = 3;
const W = Float32Array.from({ length: C * D }, (_, k) => k + 0.25);
const velocity = Float32Array.from({ length: C * D }, (_, k) => -k);

describe('sharded-head checkpoints', () => {
  it('round-trips at the same N and re-cuts for other N without changing a value', () => {
    const one = tempDir();
    saveShardCheckpoint(one, new LocalComm(), { classes: C, D, step: 7, W, velocity });
    const back = loadShardCheckpoint(one, { rank: 0, size: 1 });
    expect(back.step).toBe(7);
    expect(Array.from(back.W)).toEqual(Array.from(W));
    expect(Array.from(back.velocity as Float32Array)).toEqual(Array.from(velocity));

    const three = join(tempDir(), 'three');
    expect(reshardCheckpoint(one, three, 3).ranks).toBe(3);
    for (let r = 0; r < 3; r++) {
      const s = loadShardCheckpoint(three, { rank: r, size: 3 });
      const range = shardRange(C, 3, r);
      expect(s.range).toEqual(range);
      expect(Array.from(s.W)).toEqual(
        Array.from(W.subarray(range.start * D, (range.start + range.count) * D)),
      );
      expect(Array.from(s.velocity as Float32Array)).toEqual(
        Array.from(velocity.subarray(range.start * D, (range.start + range.count) * D)),
      );
    }
    // 3 → 2 reads across shard boundaries.
    const two = join(tempDir(), 'two');
    reshardCheckpoint(three, two, 2);
    const joined = [0, 1].flatMap((r) => Array.from(loadShardCheckpoint(two, { rank: r, size: 2 }).W));
    expect(joined).toEqual(Array.from(W));
  });

  it('refuses another N with a hint, and a folder that already has a manifest as reshard target', () => {
    const one = tempDir();
    saveShardCheckpoint(one, new LocalComm(), { classes: C, D, step: 1, W });
    expect(() => loadShardCheckpoint(one, { rank: 0, size: 2 })).toThrow(UnsupportedConfigError);
    expect(() => loadShardCheckpoint(one, { rank: 0, size: 2 })).toThrow(/reshardCheckpoint/);
    expect(() => reshardCheckpoint(one, one, 2)).toThrow(InvalidArgumentError);
    expect(() => reshardCheckpoint(one, tempDir(), 0)).toThrow(InvalidArgumentError);
  });

  it('replaces the previous step and removes only its file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.txt'), 'ours, not the checkpoint’s');
    saveShardCheckpoint(dir, new LocalComm(), { classes: C, D, step: 1, W });
    const W2 = W.map((v) => v * 2);
    saveShardCheckpoint(dir, new LocalComm(), { classes: C, D, step: 2, W: W2 });
    expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'notes.txt', 'shard-0-of-1.step-2.f32']);
    expect(Array.from(loadShardCheckpoint(dir, { rank: 0, size: 1 }).W)).toEqual(Array.from(W2));
  });

  it('reports a damaged manifest or shard file as CorruptFileError', () => {
    const dir = tempDir();
    saveShardCheckpoint(dir, new LocalComm(), { classes: C, D, step: 3, W, velocity });
    const file = join(dir, readShardManifest(dir).shards[0].file);
    truncateSync(file, 10);
    expect(() => loadShardCheckpoint(dir, { rank: 0, size: 1 })).toThrow(CorruptFileError);
    writeFileSync(join(dir, 'manifest.json'), '{"format":"faceverloss-shards","version":1,"classes":11}');
    expect(() => readShardManifest(dir)).toThrow(CorruptFileError);
    writeFileSync(join(dir, 'manifest.json'), 'not json');
    expect(() => readShardManifest(dir)).toThrow(CorruptFileError);
    expect(existsSync(file)).toBe(true);
  });

  it('is re-cut by the `faceverloss reshard` command', async () => {
    const one = tempDir();
    saveShardCheckpoint(one, new LocalComm(), { classes: C, D, step: 4, W, velocity });
    const four = join(tempDir(), 'four');
    const written: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      await main(['node', 'faceverloss', 'reshard', one, four, '--ranks', '4']);
    } finally {
      process.stdout.write = write;
    }
    expect(written.join('')).toContain('4 shard(s) at step 4, with momentum');
    expect(readShardManifest(four).ranks).toBe(4);
    const last = loadShardCheckpoint(four, { rank: 3, size: 4 });
    expect(Array.from(last.W)).toEqual(Array.from(W.subarray(last.range.start * D)));
  });

  it('checks the shard it is given', () => {
    const dir = tempDir();
    expect(() =>
      saveShardCheckpoint(dir, new LocalComm(), { classes: C, D, step: 0, W: W.subarray(3) }),
    ).toThrow(/'W'/);
    expect(() => saveShardCheckpoint(dir, new LocalComm(), { classes: C, D, step: -1, W })).toThrow(
      InvalidArgumentError,
    );
  });
});
