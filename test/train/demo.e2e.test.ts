/**
 * The CLI end to end: `demo --quick` (shrunk further by flags so it runs in seconds on the cpu backend)
 * and `train --config` write run folders; bad flags exit with a message naming the flag.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { cliSandbox, runCliForErrors } from './helpers.js';

const box = cliSandbox('faceverloss-cli-');

// 30 training digits: the batch must not exceed them (--quick's 32 would be refused).
const SMALL = [
  '--batch',
  '10',
  '--per-class',
  '3',
  '--heldout-per-class',
  '5',
  '--width',
  '0.125',
  '--pairs',
  '40',
  '--backend',
  'cpu',
];

describe('CLI', () => {
  it('demo --quick trains, evaluates on held-out digits and writes the run folder', async () => {
    box.output = '';
    const out = join(box.dir, 'demo');
    await main(['node', 'faceverloss', 'demo', '--quick', '--epochs', '1', ...SMALL, '--out', out]);
    for (const f of [
      'config.json',
      'metrics.jsonl',
      'checkpoint/model.json',
      'features.png',
      'report.html',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(box.output).toMatch(/held-out verification accuracy \d+\.\d+%/);
    expect(box.output).toMatch(/never seen in training/);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).config;
    expect(config.head).toBe('arcface');
    expect(config.params).toEqual({ scale: 16, margin: 0.3 });
    // ArcFace starts from a one-epoch softmax run inside the run folder; --epochs sets the head's length.
    const start = join(out, 'warm-start');
    expect(config.init).toBe(start);
    expect(existsSync(join(start, 'checkpoint/model.json'))).toBe(true);
    const startConfig = JSON.parse(readFileSync(join(start, 'config.json'), 'utf8')).config;
    expect(startConfig.head).toBe('softmax');
    expect(startConfig.epochs).toBe(1);
    expect(startConfig.perClass).toBe(config.perClass);
    expect(box.output).toContain(`init: backbone and class weights from ${start}`);
  }, 120_000);

  it('demo --warm-start-epochs 0 trains the head from random weights', async () => {
    const out = join(box.dir, 'demo-cold');
    const args = ['--quick', '--epochs', '1', '--warm-start-epochs', '0', ...SMALL, '--out', out];
    await main(['node', 'faceverloss', 'demo', ...args]);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).config;
    expect(config.init).toBeUndefined();
    expect(existsSync(join(out, 'warm-start'))).toBe(false);
    expect(existsSync(join(out, 'checkpoint/model.json'))).toBe(true);
  }, 120_000);

  it('train --config with a flag override', async () => {
    const path = join(box.dir, 'cfg.json');
    writeFileSync(path, JSON.stringify({ head: 'softmax', epochs: 3, batch: 10, maxSteps: 2 }));
    const out = join(box.dir, 'train');
    await main(['node', 'faceverloss', 'train', '--config', path, '--epochs', '1', ...SMALL, '--out', out]);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).config;
    expect(config.head).toBe('softmax');
    expect(config.epochs).toBe(1);
    expect(config.batch).toBe(10);
  }, 120_000);

  it('a bad flag exits with code 2 and a message naming it', async () => {
    const lr = await runCliForErrors(['train', '--lr', 'fast', '--out', join(box.dir, 'x')]);
    expect(lr.exitCode).toBe(2);
    expect(lr.errors).toMatch(/--lr/);
    const optimizer = await runCliForErrors(['train', '--optimizer', 'rmsprop', '--out', join(box.dir, 'x')]);
    expect(optimizer.exitCode).toBe(2);
    expect(optimizer.errors).toMatch(/--optimizer/);
  });
});
