/**
 * Embedding snapshots: the file format a training run writes so its feature distribution can be
 * plotted (and animated over epochs).
 *
 * Location: `RUN/embeddings/epoch-0003.json` (epoch zero-padded to four digits, so names sort by epoch;
 * epochs count from 0 in files and metrics.jsonl, and pictures say "after epoch N" with N = epoch + 1, as the
 * training log does).
 * Content, one JSON object:
 *
 * ```json
 * {
 *   "epoch": 3,                       // integer ≥ 0
 *   "dim": 2,                         // embedding dimension D ≥ 1
 *   "labels": [0, 1, 1, …],           // N integer class indices ≥ 0
 *   "embeddings": [[0.3, -1.2], …],   // N rows of D finite numbers (raw, not normalised)
 *   "classWeights": [[…], …]          // optional: C rows of D numbers, the head's class weights W
 * }
 * ```
 *
 * Plots draw `classWeights` rows as class-centre directions when present, and the mean embedding of
 * each class otherwise.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CorruptFileError, InvalidArgumentError } from '../errors.js';
import { writeFileAtomic } from './output.js';

/** One epoch's embeddings. */
export interface EmbeddingSnapshot {
  epoch: number;
  dim: number;
  labels: number[];
  embeddings: number[][];
  classWeights?: number[][];
}

const finite = z.number().refine(Number.isFinite, 'a finite number');
const snapshotSchema = z
  .strictObject({
    epoch: z.number().int().min(0),
    dim: z.number().int().min(1),
    labels: z.array(z.number().int().min(0)),
    embeddings: z.array(z.array(finite)),
    classWeights: z.array(z.array(finite)).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.labels.length !== s.embeddings.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['labels'],
        message: `${s.labels.length} labels for ${s.embeddings.length} embeddings`,
      });
    }
    s.embeddings.forEach((row, i) => {
      if (row.length !== s.dim)
        ctx.addIssue({ code: 'custom', path: ['embeddings', i], message: `expected ${s.dim} values` });
    });
    s.classWeights?.forEach((row, i) => {
      if (row.length !== s.dim)
        ctx.addIssue({ code: 'custom', path: ['classWeights', i], message: `expected ${s.dim} values` });
    });
  });

/** Folder of a run's snapshots. */
export function embeddingsDir(runDir: string): string {
  return join(runDir, 'embeddings');
}

/** File name of an epoch's snapshot. */
export function snapshotFileName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}.json`;
}

/** Check a snapshot; errors name `argument` and the offending field. */
export function validateSnapshot(value: unknown, argument = 'snapshot'): EmbeddingSnapshot {
  const parsed = snapshotSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(`${argument}.${issue.path.join('.')}`, issue.message);
  }
  return parsed.data;
}

/**
 * Write one epoch's embeddings into `RUN/embeddings/epoch-NNNN.json` (atomically) and return the path.
 * Typed arrays are accepted for rows; they are written as plain JSON numbers.
 */
export function writeEmbeddingSnapshot(
  runDir: string,
  snapshot: {
    epoch: number;
    labels: ArrayLike<number>;
    embeddings: ArrayLike<ArrayLike<number>>;
    classWeights?: ArrayLike<ArrayLike<number>>;
  },
): string {
  const rows = (m: ArrayLike<ArrayLike<number>>) => Array.from(m, (r) => Array.from(r));
  const embeddings = rows(snapshot.embeddings);
  const value = validateSnapshot(
    {
      epoch: snapshot.epoch,
      dim: embeddings[0]?.length ?? 1,
      labels: Array.from(snapshot.labels),
      embeddings,
      ...(snapshot.classWeights ? { classWeights: rows(snapshot.classWeights) } : {}),
    },
    'snapshot',
  );
  const path = join(embeddingsDir(runDir), snapshotFileName(value.epoch));
  writeFileAtomic(path, `${JSON.stringify(value)}\n`, 'runDir');
  return path;
}

/** Read and validate a snapshot file. */
export function readEmbeddingSnapshot(path: string): EmbeddingSnapshot {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CorruptFileError(path, 'cannot be read (expected an embeddings snapshot .json file)');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CorruptFileError(path, 'is not valid JSON (expected an embeddings snapshot)');
  }
  const parsed = snapshotSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CorruptFileError(path, `field '${issue.path.join('.')}': ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Snapshot files of a run, by epoch. `source` may be the run folder, its `embeddings/` folder, or a
 * single snapshot file.
 */
export function listEmbeddingSnapshots(source: string, argument = 'source'): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(source).isDirectory();
  } catch {
    throw new InvalidArgumentError(argument, 'a run folder or an embeddings snapshot file', source);
  }
  if (!isDir) return [source];
  const dirs = [embeddingsDir(source), source];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    const epochOf = (n: string) => Number.parseInt(n.slice(6), 10);
    const files = names.filter((n) => /^epoch-\d+\.json$/.test(n)).sort((a, b) => epochOf(a) - epochOf(b));
    if (files.length > 0) return files.map((n) => join(dir, n));
  }
  throw new InvalidArgumentError(argument, 'a run folder with embeddings/epoch-NNNN.json files', source);
}
