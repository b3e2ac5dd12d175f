/**
 * A fresh run is built in a sibling folder (`PARENT/.NAME.staging-PID`) and swapped in by renames once
 * its first checkpoint exists, so a run that fails while starting leaves the previous folder as it was.
 * The swap keeps every entry of the old folder that the new run does not replace (a user's notes, a
 * demo's `warm-start/`) by moving it into the new folder first. All of this runs under the folder's
 * lock (run-lock.ts), so any staging or old folder of another process id is left over from a crash.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isRunOutput } from './run-outputs.js';

const sibling = (dir: string, kind: 'staging' | 'old', pid = process.pid) => {
  const abs = resolve(dir);
  return join(dirname(abs), `.${basename(abs)}.${kind}-${pid}`);
};

/**
 * The staging folder a fresh run of `dir` started by process `pid` writes into (the other ranks of a
 * model-parallel run write their head shards into rank 0's).
 */
export const stagingFolder = (dir: string, pid: number): string => sibling(dir, 'staging', pid);

/** Create (empty) the staging folder of a fresh run of `dir`. */
export function createStaging(dir: string): string {
  const staging = sibling(dir, 'staging');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  return staging;
}

/**
 * Empty a leftover folder of ours: run outputs are removed, anything else goes back to `home` (where it
 * came from) when that name is free there, else stays. The folder is removed once empty.
 */
export function dismantle(folder: string, home: string): void {
  if (!existsSync(folder)) return;
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    if (isRunOutput(name)) rmSync(path, { recursive: true, force: true });
    else if (existsSync(home) && !existsSync(join(home, name))) renameSync(path, join(home, name));
  }
  if (readdirSync(folder).length === 0) rmdirSync(folder);
}

/** Finish what a crash interrupted: restore an old folder moved aside, clear stale staging folders. */
export function clearStaleStaging(dir: string): void {
  const abs = resolve(dir);
  const parent = dirname(abs);
  if (!existsSync(parent)) return;
  const escaped = basename(abs).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^\\.${escaped}\\.(staging|old)-(\\d+)$`);
  for (const name of readdirSync(parent)) {
    const m = pattern.exec(name);
    if (!m) continue;
    const path = join(parent, name);
    // A kill between the two renames of swapIn: the old folder was aside and nothing took its place.
    if (m[1] === 'old' && !existsSync(abs)) renameSync(path, abs);
    else dismantle(path, abs);
  }
}

/**
 * Put the staged run in place of `dir`. Entries of the old folder are carried into the new one, except
 * the run outputs of an old run of ours when `replaceOld` (those are removed with the old folder).
 */
export function swapIn(staging: string, dir: string, replaceOld: boolean): void {
  const abs = resolve(dir);
  if (existsSync(abs)) {
    for (const name of readdirSync(abs)) {
      if (replaceOld && isRunOutput(name)) continue;
      renameSync(join(abs, name), join(staging, name));
    }
    const old = sibling(abs, 'old');
    renameSync(abs, old);
    renameSync(staging, abs);
    dismantle(old, abs);
  } else {
    renameSync(staging, abs);
  }
}
