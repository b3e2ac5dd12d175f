/** `npm run fuzz`'s command line: help and usage errors, never a stack trace. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const fuzz = (...args: string[]) =>
  spawnSync('npx', ['tsx', 'scripts/fuzz.ts', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('scripts/fuzz.ts', () => {
  it('--help prints the options, the long run among them, and exits 0', () => {
    const r = fuzz('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm run fuzz -- \[options\]/);
    expect(r.stdout).toContain('--runs N');
    expect(r.stdout).toContain('npm run fuzz -- --runs 1000000');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('an unknown option or a bad count exits 2 with the usage, without a stack trace', () => {
    for (const args of [['--bogus'], ['--runs', 'many']]) {
      const r = fuzz(...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^fuzz: /);
      expect(r.stderr).toContain('Usage: npm run fuzz');
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
  });
});
