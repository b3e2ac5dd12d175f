/** A tiny, fast training configuration for tests (cpu backend, a few MNIST digits, a narrow LeNet++). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from '../../src/train/index.js';

export function tinyConfig(overrides: TrainConfigInput = {}): TrainConfig {
  return parseTrainConfig({
    head: 'cosface',
    params: { scale: 16, margin: 0.1 },
    data: 'mnist',
    perClass: 4,
    heldoutPerClass: 6,
    width: 0.125,
    batch: 8,
    epochs: 1,
    lr: 0.05,
    weightDecay: 0,
    schedule: 'constant',
    pairs: 60,
    logEvery: 1,
    ...overrides,
  });
}

/**
 * Runs the command line with `args` (after `faceverloss`) while catching what it writes to stderr, and
 * returns its exit code and that text. The exit code is reset afterwards so later tests start clean.
 */
export async function runCliForErrors(args: string[]): Promise<{ exitCode: number; errors: string }> {
  let errors = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    errors += String(chunk);
    return true;
  });
  process.exitCode = 0;
  try {
    await main(['node', 'faceverloss', ...args]);
  } finally {
    spy.mockRestore();
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { exitCode, errors };
}

/**
 * Called at the top of a CLI test file: a temporary folder for its runs, and everything the commands
 * print to stdout kept (off the terminal) for assertions; both are cleaned up after the file.
 */
export function cliSandbox(prefix: string): { readonly dir: string; output: string } {
  const box = { dir: '', output: '' };
  beforeAll(() => {
    box.dir = mkdtempSync(join(tmpdir(), prefix));
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      box.output += String(chunk);
      return true;
    });
  });
  afterAll(() => {
    vi.restoreAllMocks();
    rmSync(box.dir, { recursive: true, force: true });
  });
  return box;
}
