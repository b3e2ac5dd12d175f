/**
 * One writer per run folder. The lock is a file beside the folder (`PARENT/.NAME.lock`, not inside it,
 * because a fresh run replaces the folder by a rename) holding the owner's pid and host. It appears
 * atomically with its content: written to a private file first, then hard-linked to the lock name,
 * which fails if the name exists (the same guarantee as O_EXCL, without a moment where another process
 * could read an empty lock). A lock whose process is gone on this host is stale and taken over; a lock
 * from another host is never judged (its pid means nothing here).
 *
 * Locks are released on return, on error, at process exit and on SIGINT/SIGTERM (the signal is then
 * re-raised so the process still ends the way the sender asked).
 */
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { CorruptFileError, RunFolderLockedError } from '../errors.js';

/** What a lock file holds. */
export interface LockOwner {
  pid: number;
  host: string;
  /** When the lock was taken (ISO time); also makes each lock's content unique. */
  since: string;
}

/** A held lock; `release` is idempotent. */
export interface RunLock {
  /** The run folder the lock guards. */
  readonly folder: string;
  /** The lock file beside it. */
  readonly file: string;
  /** Removes the lock file if this process still owns it; later calls do nothing. */
  release(): void;
}

/** Path of the lock file of run folder `dir`. */
export function lockFile(dir: string): string {
  const abs = resolve(dir);
  return join(dirname(abs), `.${basename(abs)}.lock`);
}

/** Whether process `pid` exists on this host (EPERM: it exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const held = new Map<string, string>();

function readOwner(file: string): { text: string; owner: LockOwner | undefined } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CorruptFileError(file, `cannot read the run folder's lock (${(err as Error).message})`);
  }
  try {
    const o = JSON.parse(text);
    const ok = Number.isInteger(o?.pid) && typeof o?.host === 'string';
    return { text, owner: ok ? (o as LockOwner) : undefined };
  } catch {
    return { text, owner: undefined };
  }
}

/** Create `file` holding `text` only if it does not exist; false when it does. */
function createExclusive(file: string, text: string): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    // No hard links on this file system: O_EXCL, with the content written right after.
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    writeSync(fd, text);
    closeSync(fd);
    return true;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Move a stale lock out of the way. Renaming it to a private name first means only one process can
 * take it; if what was moved turns out not to be the stale lock judged (another process replaced it in
 * between), it is put back.
 */
function removeStale(file: string, staleText: string): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = readFileSync(aside, 'utf8');
  if (moved !== staleText) {
    try {
      linkSync(aside, file);
    } catch {
      // Someone holds a newer lock already; the moved one is theirs no longer.
    }
  }
  rmSync(aside, { force: true });
}

/**
 * Take the lock of run folder `dir` (its parent folder must exist). Throws
 * {@link RunFolderLockedError} while another live process holds it.
 */
export function acquireRunLock(dir: string): RunLock {
  const folder = resolve(dir);
  const file = lockFile(folder);
  const host = hostname();
  const text = `${JSON.stringify({ pid: process.pid, host, since: new Date().toISOString() } satisfies LockOwner)}\n`;
  let last: LockOwner | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(file, text)) {
      held.set(file, text);
      installHandlers();
      let released = false;
      return {
        folder,
        file,
        release: () => {
          if (released) return;
          released = true;
          releaseFile(file);
        },
      };
    }
    const current = readOwner(file);
    if (current === undefined) continue; // released meanwhile
    const { owner } = current;
    if (owner === undefined) {
      throw new CorruptFileError(
        file,
        `not a lock file of faceverloss (expected {"pid", "host"}); remove it if no trainer uses ${folder}`,
      );
    }
    last = owner;
    if (owner.host !== host || processAlive(owner.pid))
      throw new RunFolderLockedError(folder, owner.pid, owner.host, file);
    removeStale(file, current.text);
  }
  // Only reached when other processes keep taking and dropping the lock: it is in use.
  throw new RunFolderLockedError(folder, last?.pid ?? -1, last?.host ?? host, file);
}

/** Remove our lock file, only if it is still ours. */
function releaseFile(file: string): void {
  const text = held.get(file);
  held.delete(file);
  if (text !== undefined && readOwner(file)?.text === text) rmSync(file, { force: true });
  if (held.size === 0) removeHandlers();
}

function releaseAll(): void {
  for (const file of [...held.keys()]) releaseFile(file);
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let installed = false;

function onSignal(signal: NodeJS.Signals): void {
  releaseAll();
  removeHandlers();
  // With our listener gone and no other, re-raising ends the process as the signal's default would.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHandlers(): void {
  if (installed) return;
  installed = true;
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', releaseAll);
}

function removeHandlers(): void {
  if (!installed) return;
  installed = false;
  for (const s of SIGNALS) process.off(s, onSignal);
  process.off('exit', releaseAll);
}
