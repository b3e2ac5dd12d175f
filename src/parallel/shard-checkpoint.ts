/**
 * Checkpoints of a sharded head: one file per rank (its rows of W, then its rows of the momentum buffer,
 * raw little-endian fp32) and `manifest.json` (classes, D, ranks, step, each shard's rows and file).
 *
 * Every rank writes its own file under a name that carries the step, then, after a barrier, rank 0
 * renames the new manifest into place: a reader (or a job resumed after a crash) sees either the previous
 * complete checkpoint or the new one. Files of the previous step are removed only after the new manifest
 * is in place, and only those the previous manifest lists.
 *
 * A checkpoint loads at the N it was written with; {@link reshardCheckpoint} rewrites it for another N
 * (the shards are contiguous slices of the C×D matrices, so that is a re-cut, not a computation).
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  CorruptFileError,
  InvalidArgumentError,
  ShapeMismatchError,
  UnsupportedConfigError,
} from '../errors.js';
import { readRegularFile } from '../regular-file.js';
import type { Comm } from './comm.js';
import { type ShardRange, shardRange } from './shard.js';

/** `manifest.json` of a sharded checkpoint. */
export interface ShardManifest {
  format: 'faceverloss-shards';
  version: 1;
  classes: number;
  D: number;
  ranks: number;
  step: number;
  /** Whether each file holds the momentum rows after the weight rows. */
  velocity: boolean;
  shards: (ShardRange & { rank: number; file: string })[];
}

const MANIFEST = 'manifest.json';
// Bytes per read or write call: well below the 2 GiB a single call may move.
const IO_CHUNK = 1 << 26;

function writeAll(fd: number, a: Float32Array): void {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (let o = 0; o < bytes.length; ) o += writeSync(fd, bytes, o, Math.min(IO_CHUNK, bytes.length - o));
}

function readAll(fd: number, a: Float32Array, position: number, path: string): void {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (let o = 0; o < bytes.length; ) {
    const n = readSync(fd, bytes, o, Math.min(IO_CHUNK, bytes.length - o), position + o);
    if (n === 0) throw new CorruptFileError(path, `ends after ${position + o} bytes`);
    o += n;
  }
}

function shardFile(rank: number, ranks: number, step: number): string {
  return `shard-${rank}-of-${ranks}.step-${step}.f32`;
}

/** Writes `rows` arrays one after the other into `path` (through a temporary name, then renamed). */
function writeShard(path: string, parts: Float32Array[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const p of parts) writeAll(fd, p);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Reads and checks `dir/manifest.json`. */
export function readShardManifest(dir: string): ShardManifest {
  const path = join(dir, MANIFEST);
  let m: ShardManifest;
  try {
    m = JSON.parse(
      readRegularFile(path, { what: 'a sharded-head manifest', maxBytes: 64 << 20 }).toString('utf8'),
    ) as ShardManifest;
  } catch (err) {
    if (err instanceof CorruptFileError) throw err;
    throw new CorruptFileError(path, `is not a sharded-head manifest (${(err as Error).message})`);
  }
  const ok =
    m?.format === 'faceverloss-shards' &&
    m.version === 1 &&
    Number.isSafeInteger(m.classes) &&
    Number.isSafeInteger(m.D) &&
    Number.isSafeInteger(m.ranks) &&
    m.ranks >= 1 &&
    Array.isArray(m.shards) &&
    m.shards.length === m.ranks &&
    m.shards.every((s, r) => {
      const want = shardRange(m.classes, m.ranks, r);
      return s.rank === r && s.start === want.start && s.count === want.count && /^[\w.-]+$/.test(s.file);
    });
  if (!ok) throw new CorruptFileError(path, 'is not a sharded-head manifest this version can read');
  return m;
}

/** What {@link saveShardCheckpoint} writes for this rank. */
export interface ShardCheckpoint {
  classes: number;
  D: number;
  /** Steps done; part of the file names. */
  step: number;
  /** This rank's rows of W. */
  W: Float32Array;
  /** This rank's rows of the momentum buffer, if any. */
  velocity?: Float32Array;
}

/** Writes this rank's shard and (rank 0) the manifest into `dir`. Every rank calls it together. */
export function saveShardCheckpoint(dir: string, comm: Comm, c: ShardCheckpoint): void {
  const range = shardRange(c.classes, comm.size, comm.rank);
  if (!Number.isSafeInteger(c.step) || c.step < 0)
    throw new InvalidArgumentError('step', 'an integer ≥ 0', c.step);
  if (c.W.length !== range.count * c.D)
    throw new ShapeMismatchError('W', `this rank's ${range.count}×${c.D} values`, String(c.W.length));
  if (c.velocity !== undefined && c.velocity.length !== c.W.length)
    throw new ShapeMismatchError(
      'velocity',
      `${c.W.length} values (the size of W)`,
      String(c.velocity.length),
    );
  mkdirSync(dir, { recursive: true });
  const previous = existsSync(join(dir, MANIFEST)) ? readShardManifest(dir) : null;
  const file = shardFile(comm.rank, comm.size, c.step);
  writeShard(join(dir, file), c.velocity ? [c.W, c.velocity] : [c.W]);
  comm.barrier();
  const manifest: ShardManifest = {
    format: 'faceverloss-shards',
    version: 1,
    classes: c.classes,
    D: c.D,
    ranks: comm.size,
    step: c.step,
    velocity: c.velocity !== undefined,
    shards: Array.from({ length: comm.size }, (_, r) => ({
      rank: r,
      ...shardRange(c.classes, comm.size, r),
      file: shardFile(r, comm.size, c.step),
    })),
  };
  if (comm.rank === 0) {
    const tmp = join(dir, `${MANIFEST}.tmp-${process.pid}`);
    writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
    renameSync(tmp, join(dir, MANIFEST));
  }
  comm.barrier();
  // The previous step's files, now that no manifest lists them (only files a manifest of ours listed).
  const old = previous?.shards[comm.rank]?.file;
  if (previous && previous.ranks === comm.size && old !== undefined && old !== file)
    rmSync(join(dir, old), { force: true });
}

/** Reads rows [first, first + count) of the checkpoint's W (or momentum) into `out`, across shard files. */
function readRows(dir: string, m: ShardManifest, first: number, out: Float32Array, velocity: boolean): void {
  const count = out.length / m.D;
  for (const s of m.shards) {
    const lo = Math.max(first, s.start);
    const hi = Math.min(first + count, s.start + s.count);
    if (lo >= hi) continue;
    const path = join(dir, s.file);
    const fd = openSync(path, 'r');
    try {
      const expected = s.count * m.D * 4 * (m.velocity ? 2 : 1);
      if (fstatSync(fd).size !== expected)
        throw new CorruptFileError(path, `holds ${fstatSync(fd).size} bytes, the manifest says ${expected}`);
      const base = velocity ? s.count * m.D * 4 : 0;
      readAll(
        fd,
        out.subarray((lo - first) * m.D, (hi - first) * m.D),
        base + (lo - s.start) * m.D * 4,
        path,
      );
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * This rank's shard from `dir`. The checkpoint must have been written by as many ranks as the job has
 * (UnsupportedConfigError otherwise: rewrite it with {@link reshardCheckpoint}).
 */
export function loadShardCheckpoint(
  dir: string,
  comm: Pick<Comm, 'rank' | 'size'>,
): ShardCheckpoint & { range: ShardRange } {
  const m = readShardManifest(dir);
  if (m.ranks !== comm.size)
    throw new UnsupportedConfigError(
      `${join(dir, MANIFEST)} has ${m.ranks} shards and this job ${comm.size} ranks: resume with ${m.ranks} ` +
        `ranks, or rewrite it for ${comm.size} with reshardCheckpoint`,
    );
  const range = m.shards[comm.rank];
  const W = new Float32Array(range.count * m.D);
  readRows(dir, m, range.start, W, false);
  let velocity: Float32Array | undefined;
  if (m.velocity) {
    velocity = new Float32Array(W.length);
    readRows(dir, m, range.start, velocity, true);
  }
  return {
    classes: m.classes,
    D: m.D,
    step: m.step,
    W,
    velocity,
    range: { start: range.start, count: range.count },
  };
}

/**
 * Rewrites the checkpoint in `src` for `ranks` ranks into `dst` (a folder without a manifest), one new
 * shard in memory at a time. One process does it; no MPI is needed.
 */
export function reshardCheckpoint(src: string, dst: string, ranks: number): ShardManifest {
  const m = readShardManifest(src);
  if (!Number.isSafeInteger(ranks) || ranks < 1 || ranks > m.classes)
    throw new InvalidArgumentError('ranks', `an integer in [1, ${m.classes}]`, ranks);
  if (existsSync(join(dst, MANIFEST)))
    throw new InvalidArgumentError('dst', 'a folder without a manifest.json (it is not overwritten)', dst);
  for (let r = 0; r < ranks; r++) {
    const range = shardRange(m.classes, ranks, r);
    const parts = [new Float32Array(range.count * m.D)];
    readRows(src, m, range.start, parts[0], false);
    if (m.velocity) {
      parts.push(new Float32Array(range.count * m.D));
      readRows(src, m, range.start, parts[1], true);
    }
    mkdirSync(dst, { recursive: true });
    writeShard(join(dst, shardFile(r, ranks, m.step)), parts);
  }
  const manifest: ShardManifest = {
    ...m,
    ranks,
    shards: Array.from({ length: ranks }, (_, r) => ({
      rank: r,
      ...shardRange(m.classes, ranks, r),
      file: shardFile(r, ranks, m.step),
    })),
  };
  const tmp = join(dst, `${MANIFEST}.tmp-${process.pid}`);
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(tmp, join(dst, MANIFEST));
  return manifest;
}
