/** `faceverloss golden [DIR] --impl reference|tfjs|native`: conformance with the reference fixtures. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { NATIVE_TOLERANCE, nativeImplementation } from '../engine/head-step.js';
import { engineInfo } from '../engine/native.js';
import { InvalidArgumentError } from '../errors.js';
import { formatFailures, type RunOptions, runGoldenDir } from '../golden/runner.js';
import { TFJS_TOLERANCE, tfjsImplementation } from '../tf/implementation.js';

/**
 * Without a DIR: FACEVERLOSS_GOLDEN, else the development set in a checkout of the repository
 * (test/fixtures/golden; the published package does not carry it), else ../shared/golden.
 */
export function defaultGoldenDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const fromEnv = process.env.FACEVERLOSS_GOLDEN;
  const candidates = [
    ...(fromEnv === undefined ? [] : [resolve(fromEnv)]),
    resolve(here, '../../test/fixtures/golden'),
    resolve(process.cwd(), 'test/fixtures/golden'),
    resolve(process.cwd(), '../shared/golden'),
  ];
  return candidates.find((c) => existsSync(join(c, 'index.json'))) ?? candidates[0];
}

function implementation(name: string): RunOptions {
  if (name === 'reference') return {};
  if (name === 'tfjs') return { impl: tfjsImplementation, tolerance: TFJS_TOLERANCE };
  if (name === 'native') {
    const info = engineInfo();
    if (!info.available)
      throw new InvalidArgumentError('--impl', `an available implementation (native: ${info.reason})`, name);
    return { impl: nativeImplementation, tolerance: NATIVE_TOLERANCE };
  }
  throw new InvalidArgumentError('--impl', 'one of reference, tfjs, native', name);
}

export function registerGolden(program: Command): void {
  program
    .command('golden')
    .description(
      'check every head against the reference fixtures (logits, loss, gradients, state over SGD steps)',
    )
    .argument('[dir]', 'fixture directory', undefined)
    .option('--impl <impl>', 'implementation to check: reference (fp64), tfjs or native (fp32)', 'reference')
    .action((dir: string | undefined, opts: { impl: string }) => {
      const options = implementation(opts.impl);
      const results = runGoldenDir(dir ?? defaultGoldenDir(), options);
      for (const line of formatFailures(results)) process.stdout.write(`${line}\n`);
      const passed = results.filter((r) => r.passed).length;
      process.stdout.write(`${passed} passed, ${results.length - passed} failed\n`);
      if (passed !== results.length || results.length === 0) process.exitCode = 1;
    });
}
