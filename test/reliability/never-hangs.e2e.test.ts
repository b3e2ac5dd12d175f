/**
 * Readers given a named pipe or an endless device answer at once with a typed error naming the path —
 * they must never wait for a writer or read without end. The readers run in a child process (a blocked
 * synchronous read cannot be interrupted in-process); the child has a bounded time, and an input it
 * never answered counts as a hang.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tally } from './corpus.js';
import { tinyPng } from './files.js';

const CHILD = join(import.meta.dirname, 'read-child.ts');
const tally = new Tally('pipes and devices');
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'fvl-reliability-hangs-'));
});

afterAll(() => {
  console.log(tally.summary());
  rmSync(root, { recursive: true, force: true });
});

function fifo(name: string): string {
  const path = join(root, name);
  execFileSync('mkfifo', [path]);
  return path;
}

/** The inputs: READER=PATH, each expected to be refused with an error naming PATH. */
async function inputs(): Promise<{ reader: string; path: string; names: string }[]> {
  const list: { reader: string; path: string; names: string }[] = [];
  for (const reader of ['scores', 'pairs', 'embeddings', 'bin', 'fixture', 'metrics', 'rec']) {
    const pipe = fifo(`pipe-${reader}`);
    list.push({ reader, path: pipe, names: pipe });
  }
  const folder = join(root, 'faces');
  mkdirSync(join(folder, 'alice'), { recursive: true });
  writeFileSync(join(folder, 'alice', '1.png'), await tinyPng(1));
  const png = fifo('faces/alice/0.png');
  list.push({ reader: 'image-folder', path: folder, names: png });
  for (const [reader, device] of [
    ['scores', '/dev/zero'],
    ['pairs', '/dev/zero'],
    ['embeddings', '/dev/urandom'],
    ['bin', '/dev/urandom'],
    ['bin', '/dev/zero'],
    ['rec', '/dev/zero'],
  ] as const) {
    if (existsSync(device)) list.push({ reader, path: device, names: device });
  }
  return list;
}

describe('readers never hang', () => {
  it('named pipes and devices are refused with a typed error naming the path', async (ctx) => {
    if (process.platform === 'win32') ctx.skip('named pipes and /dev are POSIX');
    const list = await inputs();
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', CHILD, ...list.map((c) => `${c.reader}=${c.path}`)],
      { encoding: 'utf8', timeout: 50_000, killSignal: 'SIGKILL' },
    );
    const answers = new Map<string, Record<string, unknown>>();
    for (const line of child.stdout.split('\n')) {
      if (line.trim() === '') continue;
      const answer = JSON.parse(line);
      answers.set(answer.input, answer);
    }
    const problems: string[] = [];
    for (const { reader, path, names } of list) {
      tally.tried++;
      const answer = answers.get(`${reader}=${path}`);
      const message = String(answer?.message);
      if (answer === undefined) problems.push(`${reader} ${path}: no answer (hung until killed)`);
      else if (answer.ok) problems.push(`${reader} ${path}: accepted`);
      else if (!answer.typed) problems.push(`${reader} ${path}: untyped ${answer.name}: ${message}`);
      else if (!message.includes(names))
        problems.push(`${reader} ${path}: does not name ${names}: ${message}`);
      else if (!/named pipe|character device/.test(message))
        problems.push(`${reader} ${path}: does not say what the path is: ${message}`);
      else tally.clean++;
    }
    expect(problems).toEqual([]);
    expect(tally.clean).toBe(list.length);
  }, 60_000);
});
