import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointDir, recoverCheckpoint } from '../../src/train/checkpoint.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function runFolder(): string {
  const d = mkdtempSync(join(tmpdir(), 'fvl-recover-'));
  dirs.push(d);
  return d;
}

/** A pid that is not this process's (whose own temporary folder recovery must keep). */
const otherPid = process.pid === 4243 ? 4244 : 4243;

function fakeCheckpoint(dir: string, step: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ step }));
}

describe('recoverCheckpoint', () => {
  it('moves a checkpoint back when a crash fell between the two renames of a swap', () => {
    const run = runFolder();
    fakeCheckpoint(checkpointDir(run), 7);
    renameSync(checkpointDir(run), join(run, '.checkpoint.4242.old'));
    recoverCheckpoint(run);
    expect(JSON.parse(readFileSync(join(checkpointDir(run), 'state.json'), 'utf8')).step).toBe(7);
    expect(existsSync(join(run, '.checkpoint.4242.old'))).toBe(false);
  });

  it('keeps the current checkpoint and drops stale temporary and old folders', () => {
    const run = runFolder();
    fakeCheckpoint(checkpointDir(run), 9);
    fakeCheckpoint(join(run, '.checkpoint.4242.old'), 8);
    fakeCheckpoint(join(run, `.checkpoint.${otherPid}.tmp`), 10);
    recoverCheckpoint(run);
    expect(JSON.parse(readFileSync(join(checkpointDir(run), 'state.json'), 'utf8')).step).toBe(9);
    expect(existsSync(join(run, '.checkpoint.4242.old'))).toBe(false);
    expect(existsSync(join(run, `.checkpoint.${otherPid}.tmp`))).toBe(false);
  });

  it('does not resurrect an incomplete folder (no state.json)', () => {
    const run = runFolder();
    mkdirSync(join(run, '.checkpoint.4242.old'));
    recoverCheckpoint(run);
    expect(existsSync(checkpointDir(run))).toBe(false);
  });
});
