/**
 * What belongs to a run folder: the names a training run writes at its top level, and how a folder
 * given as `--out` is classified before a fresh run replaces it. Only entries with these names are ever
 * removed from a folder, and only from a folder that is a run of ours; everything else is kept.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/** Top-level names a run writes (see run-dir.ts). */
export const RUN_OUTPUTS: readonly string[] = [
  'config.json',
  'metrics.jsonl',
  'scores.csv',
  'checkpoint',
  'head-shards',
  'embeddings',
  'features.png',
  'features.gif',
  'curves.svg',
  'report.html',
];

// Temporary names of our atomic writes: checkpoint swaps and writeFileAtomic's `.NAME.PID.N.tmp`.
const TEMPORARY = [/^\.checkpoint\.\d+\.(tmp|old)$/, /^\..+\.\d+\.\d+\.tmp$/];

/** Whether a top-level entry of a run folder is one a run writes. */
export function isRunOutput(name: string): boolean {
  return RUN_OUTPUTS.includes(name) || TEMPORARY.some((re) => re.test(name));
}

/** Whether `dir` holds a run's `config.json` (`{ config: {...}, split: "..." }`). */
export function isRunFolder(dir: string): boolean {
  try {
    const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    return typeof saved?.config === 'object' && saved.config !== null && typeof saved.split === 'string';
  } catch {
    return false;
  }
}

/**
 * - `missing` / `empty`: nothing to keep;
 * - `run`: a run of ours (its outputs are replaced, other files kept);
 * - `runs`: holds only run folders of ours (demo's `OUT/warm-start` before the head's run exists);
 * - `foreign`: anything else.
 */
export type OutFolderKind = 'missing' | 'empty' | 'run' | 'runs' | 'foreign';

/** Classify `dir` (see {@link OutFolderKind}). */
export function outFolderKind(dir: string): OutFolderKind {
  if (!existsSync(dir)) return 'missing';
  if (!statSync(dir).isDirectory()) throw new InvalidArgumentError('--out', 'a folder path', dir);
  const entries = readdirSync(dir);
  if (entries.length === 0) return 'empty';
  if (isRunFolder(dir)) return 'run';
  return entries.every((name) => isRunFolder(join(dir, name))) ? 'runs' : 'foreign';
}

/**
 * Check that a fresh run may be written to `dir`; returns whether the folder's existing run outputs are
 * ours to replace. A foreign folder is refused unless `force`, and even then when it holds a file with a
 * name the run would write (it would be replaced, and we did not write it).
 */
export function checkFreshOut(dir: string, force: boolean): boolean {
  const kind = outFolderKind(dir);
  if (kind !== 'foreign') return kind === 'run';
  if (!force) {
    throw new InvalidArgumentError(
      '--out',
      'a new or empty folder, or a run folder of faceverloss (with its config.json); --force writes a run ' +
        'into another folder, keeping its files',
      dir,
    );
  }
  const clashes = readdirSync(dir).filter(isRunOutput);
  if (clashes.length > 0) {
    throw new InvalidArgumentError(
      '--out',
      `a folder without files named like run outputs (it holds ${clashes.join(', ')}, which a run would ` +
        'replace; --force never replaces files faceverloss did not write)',
      dir,
    );
  }
  return false;
}
