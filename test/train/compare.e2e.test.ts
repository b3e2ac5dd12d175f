/**
 * `compare` end to end at a tiny budget: one run folder per head, the summary table (json + md), the
 * side-by-side figures, and SphereFace's λ annealing fitted to the run's length.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { lambdaForBudget } from '../../src/heads/sphereface.js';
import { cliSandbox, runCliForErrors } from './helpers.js';

const box = cliSandbox('faceverloss-compare-');

describe('compare', () => {
  it('trains each head the same way and writes the table, run folders and figures', async () => {
    const out = join(box.dir, 'cmp');
    const heads = ['softmax', 'sphereface', 'cosface'];
    process.exitCode = 0;
    await main([
      'node',
      'faceverloss',
      'compare',
      '--quick',
      '--heads',
      heads.join(','),
      ...['--epochs', '1', '--per-class', '4', '--heldout-per-class', '5', '--batch', '8'],
      ...['--width', '0.125', '--pairs', '40', '--backend', 'cpu', '--jobs', '2', '--out', out],
    ]);
    expect(process.exitCode ?? 0).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      rows: {
        head: string;
        verificationAccuracy: number;
        trainAccuracy: number;
        seconds: number;
        intraAngle: number;
        interAngle: number;
        separation: number;
        tarAtFar: { far: number; tar?: number }[];
      }[];
    };
    expect(summary.rows.map((r) => r.head)).toEqual(heads);
    for (const row of summary.rows) {
      expect(row.verificationAccuracy).toBeGreaterThanOrEqual(0);
      expect(row.verificationAccuracy).toBeLessThanOrEqual(1);
      expect(row.seconds).toBeGreaterThan(0);
      // 50 held-out images: 1,225 pairs, ~1,100 of them impostors, so both FARs are resolvable.
      expect(row.tarAtFar.map((t) => t.far)).toEqual([1e-2, 1e-3]);
      for (const t of row.tarAtFar) {
        expect(t.tar).toBeGreaterThanOrEqual(0);
        expect(t.tar).toBeLessThanOrEqual(1);
      }
      // Angles of held-out embeddings: within [0, π], and the separation is their stated ratio's form.
      expect(row.intraAngle).toBeGreaterThanOrEqual(0);
      expect(row.interAngle).toBeLessThanOrEqual(Math.PI + 1e-12);
      expect(row.separation).toBeGreaterThan(0);
      for (const f of [
        'config.json',
        'metrics.jsonl',
        'scores.csv',
        'report.html',
        'checkpoint/model.json',
      ]) {
        expect(existsSync(join(out, row.head, f)), `${row.head}/${f}`).toBe(true);
      }
    }
    for (const f of ['summary.md', 'features.png', 'features.svg', 'roc.svg', 'compare.html']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const table = readFileSync(join(out, 'summary.md'), 'utf8');
    for (const h of heads) expect(table).toContain(h);
    expect(box.output).toContain('held-out verif. acc');
    expect(table).toContain('separation');
    expect(table).toContain('TAR@FAR 1e-3');
    // Two heads at a time in worker processes (the flag), each logging under its name.
    expect(box.output).toContain('2 at a time');
    expect(box.output).toMatch(/\[cosface\] epoch 1: /);
    expect(readFileSync(join(out, 'compare.html'), 'utf8')).toContain('min inter angle');

    // Every head starts from the shared softmax run, which trained for the --quick warm-start epoch.
    const warm = join(out, 'warm-start');
    expect(existsSync(join(warm, 'checkpoint/model.json'))).toBe(true);
    const warmConfig = JSON.parse(readFileSync(join(warm, 'config.json'), 'utf8')).config;
    expect(warmConfig.head).toBe('softmax');
    expect(warmConfig.epochs).toBe(1);
    expect(box.output).toContain(`init: backbone and class weights from ${warm}`);

    // Every head shares the training settings; only the head and its parameters differ.
    const configs = heads.map(
      (h) => JSON.parse(readFileSync(join(out, h, 'config.json'), 'utf8')).config as Record<string, unknown>,
    );
    expect(configs[0].init).toBe(warm);
    const { head: _h, params: _p, ...shared } = configs[0];
    for (const c of configs.slice(1)) {
      const { head: _h2, params: _p2, ...rest } = c;
      expect(rest).toEqual(shared);
    }
    // 40 training images in batches of 8 for one epoch: 5 steps, λ reaches its floor at step 2.5.
    const sphere = configs[1].params as { lambdaGamma: number };
    expect(sphere.lambdaGamma).toBeCloseTo(lambdaForBudget(5).lambdaGamma as number, 12);
    expect(1000 / (1 + sphere.lambdaGamma * 2.5)).toBeCloseTo(5, 9);
  }, 240_000);

  it.each([
    ['--jobs', '0', 'a whole number ≥ 1'],
    ['--jobs', '1.5', 'a whole number ≥ 1'],
    ['--warm-start-epochs', '-1', 'a whole number ≥ 0'],
  ])('refuses %s %s before training anything', async (flag, value, expected) => {
    const out = join(box.dir, `bad-${flag}-${value}`);
    const { exitCode, errors } = await runCliForErrors(['compare', '--quick', flag, value, '--out', out]);
    expect(exitCode).toBe(2);
    expect(errors).toContain(`'${flag}'`);
    expect(errors).toContain(expected);
    expect(existsSync(out)).toBe(false);
  });

  it("a head that fails in its worker process stops the comparison with that run's error", async () => {
    const empty = join(box.dir, 'no-checkpoint');
    mkdirSync(empty);
    const out = join(box.dir, 'failed');
    const { exitCode, errors } = await runCliForErrors([
      'compare',
      '--quick',
      '--heads',
      'softmax,cosface',
      '--jobs',
      '2',
      '--init',
      empty,
      ...['--per-class', '4', '--heldout-per-class', '5', '--width', '0.125', '--backend', 'cpu'],
      '--out',
      out,
    ]);
    expect(exitCode).toBe(2);
    // The worker's CorruptFileError, named by head and carried across the process boundary.
    expect(errors).toMatch(/the (softmax|cosface) run failed: .*no checkpoint in this run folder/);
    expect(errors).toContain(empty);
    expect(existsSync(join(out, 'summary.json'))).toBe(false);
    expect(existsSync(join(out, 'warm-start'))).toBe(false);
  }, 120_000);
});
