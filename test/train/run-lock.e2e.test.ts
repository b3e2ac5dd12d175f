/**
 * One writer per run folder: a lock held by another live process refuses a second trainer (fresh or
 * `--resume`) with a RunFolderLockedError naming the folder, pid and host, before anything changes; a
 * lock left by a dead process is taken over; the lock goes away on normal exit and on SIGTERM. The
 * other process is real (a child holding the lock, or a child's pid written into a lock file).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunFolderLockedError } from '../../src/errors.js';
import { acquireRunLock, lockFile, readCheckpoint, train } from '../../src/train/index.js';
import { tinyConfig } from './helpers.js';

const CHILD = new URL('./lock-child.ts', import.meta.url).pathname;
let root: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'fvl-lock-'));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** A child process holding the lock of `dir`; resolves once it says so. */
async function lockingChild(dir: string, exit = false) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, ...(exit ? ['--exit'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => s.includes('locked') && resolve());
    child.on('exit', (code) => reject(new Error(`lock child exited (${code}) before locking`)));
  });
  return { child, exited };
}

/** A pid that certainly belongs to no process: one of a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

/** Write a lock file for `dir` owned by `pid` on this host. */
function fakeLock(dir: string, pid: number): void {
  writeFileSync(lockFile(dir), JSON.stringify({ pid, host: hostname(), since: new Date().toISOString() }));
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('run folder lock', () => {
  it('a second process gets a typed error naming folder, pid and host; SIGTERM releases the lock', async () => {
    const dir = join(root, 'held');
    const { child, exited } = await lockingChild(dir);
    let error: unknown;
    try {
      acquireRunLock(dir);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RunFolderLockedError);
    const e = error as RunFolderLockedError;
    expect(e.pid).toBe(child.pid);
    expect(e.host).toBe(hostname());
    expect(e.message).toContain(dir);
    expect(e.message).toContain(String(child.pid));
    child.kill('SIGTERM');
    await exited;
    // Ended by the signal (re-raised after releasing), and the lock is gone.
    expect(child.signalCode).toBe('SIGTERM');
    expect(existsSync(lockFile(dir))).toBe(false);
    acquireRunLock(dir).release();
  }, 60_000);

  it('a process that exits without releasing leaves no lock', async () => {
    const dir = join(root, 'exits');
    const { child, exited } = await lockingChild(dir, true);
    await exited;
    expect(child.exitCode).toBe(0);
    expect(existsSync(lockFile(dir))).toBe(false);
  }, 60_000);

  it('a lock of a dead process on this host is stale and taken over', async () => {
    const dir = join(root, 'stale');
    fakeLock(dir, await deadPid());
    const lock = acquireRunLock(dir);
    expect(JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(lockFile(dir))).toBe(false);
  });

  it('train and train --resume refuse a folder another live process holds, changing nothing', async () => {
    const out = join(root, 'run');
    await train(tinyConfig({ maxSteps: 1 }), { out, pictures: false });
    const before = readFileSync(join(out, 'checkpoint', 'state.json'), 'utf8');
    const { child, exited } = await lockingChild(out);
    const fresh = await rejection(train(tinyConfig({ maxSteps: 1, seed: 5 }), { out, pictures: false }));
    expect(fresh).toBeInstanceOf(RunFolderLockedError);
    expect((fresh as RunFolderLockedError).pid).toBe(child.pid);
    const resumed = await rejection(train(undefined, { out, resume: true, maxSteps: 2, pictures: false }));
    expect(resumed).toBeInstanceOf(RunFolderLockedError);
    expect(readFileSync(join(out, 'checkpoint', 'state.json'), 'utf8')).toBe(before);
    child.kill('SIGKILL');
    await exited;
    // Killed without a chance to release: its lock is now stale, and the resume goes ahead.
    expect(existsSync(lockFile(out))).toBe(true);
    await train(undefined, { out, resume: true, maxSteps: 2, pictures: false });
    expect(readCheckpoint(out).state.step).toBe(2);
    expect(existsSync(lockFile(out))).toBe(false);
  }, 120_000);

  it('a trainer in the same process is refused too, until the holder releases', async () => {
    const out = join(root, 'same-process');
    const held = acquireRunLock(out);
    const error = await rejection(train(tinyConfig({ maxSteps: 1 }), { out, pictures: false }));
    expect(error).toBeInstanceOf(RunFolderLockedError);
    expect((error as RunFolderLockedError).pid).toBe(process.pid);
    expect(existsSync(out)).toBe(false);
    held.release();
    await train(tinyConfig({ maxSteps: 1 }), { out, pictures: false });
    expect(readCheckpoint(out).state.config?.head).toBe('cosface');
  }, 120_000);
});
