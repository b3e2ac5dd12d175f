/** Configuration: defaults, file + flag precedence, and typed errors that name the flag. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagsToConfig } from '../../src/cli/train.js';
import { CorruptFileError, InvalidArgumentError } from '../../src/errors.js';
import { learningRate, mergeTrainConfig, parseTrainConfig, readConfigFile } from '../../src/train/index.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'faceverloss-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const flags = (extra: Record<string, unknown> = {}) => ({ param: [] as string[], ...extra });

describe('training configuration', () => {
  it('fills in defaults', () => {
    const c = parseTrainConfig({});
    expect(c.head).toBe('arcface');
    expect(c.backbone).toBe('lenetpp');
    expect(c.embeddingDim).toBe(2);
    expect(c.optimizer).toBe('sgd');
  });

  it('flags override the file; head parameters merge key by key', () => {
    const path = join(dir, 'run.json');
    writeFileSync(
      path,
      JSON.stringify({ head: 'arcface', params: { scale: 16, margin: 0.3 }, epochs: 3, lr: 0.1, batch: 32 }),
    );
    const file = readConfigFile(path);
    const c = mergeTrainConfig(file, flagsToConfig(flags({ epochs: '7', param: ['margin=0.4'] })), path);
    expect(c.epochs).toBe(7); // flag
    expect(c.lr).toBe(0.1); // file
    expect(c.batch).toBe(32); // file
    expect(c.momentum).toBe(0.9); // default
    expect(c.params).toEqual({ scale: 16, margin: 0.4 });
  });

  it('a different --head drops the file head’s parameters', () => {
    const c = mergeTrainConfig({ head: 'arcface', params: { margin: 0.3 } }, { head: 'softmax' });
    expect(c.head).toBe('softmax');
    expect(c.params).toEqual({});
  });

  it('bad values raise InvalidArgumentError naming the flag', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ epochs: 0 }, /--epochs/],
      [{ lr: -1 }, /--lr/],
      [{ optimizer: 'rmsprop' }, /--optimizer/],
      [{ backbone: 'vgg' }, /--backbone/],
      [{ schedule: 'linear' }, /--schedule/],
      [{ embeddingDim: 1.5 }, /--embedding-dim/],
      [{ head: 'nosuchface' }, /--head/],
      [{ head: 'arcface', params: { margin: 'big' } }, /arcface\.margin/],
      [{ pairs: 7 }, /--pairs/],
      [{ epoch: 3 }, /known keys/],
    ];
    for (const [input, pattern] of cases) {
      expect(() => parseTrainConfig(input), JSON.stringify(input)).toThrow(InvalidArgumentError);
      expect(() => parseTrainConfig(input), JSON.stringify(input)).toThrow(pattern);
    }
    expect(() => flagsToConfig(flags({ epochs: 'many' }))).toThrow(/--epochs/);
    expect(() => flagsToConfig(flags({ weightDecay: 'x' }))).toThrow(/--weight-decay/);
    expect(() => flagsToConfig(flags({ param: ['margin'] }))).toThrow(/--param/);
  });

  it('a file that is not JSON is a CorruptFileError; a missing one names --config', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{ epochs: 3');
    expect(() => readConfigFile(path)).toThrow(CorruptFileError);
    expect(() => readConfigFile(join(dir, 'missing.json'))).toThrow(/--config/);
  });

  it('learning-rate schedules: warm-up, cosine, step, poly', () => {
    const base = { lr: 0.1, warmup: 10 };
    expect(learningRate({ ...base, schedule: 'cosine' }, 0, 110)).toBeCloseTo(0.01, 12);
    expect(learningRate({ ...base, schedule: 'cosine' }, 9, 110)).toBeCloseTo(0.1, 12);
    // Half-way through the post-warm-up span: cos(π/2) = 0 → lr/2.
    expect(learningRate({ ...base, schedule: 'cosine' }, 60, 110)).toBeCloseTo(0.05, 12);
    expect(learningRate({ ...base, schedule: 'step' }, 10 + 70, 110)).toBeCloseTo(0.01, 12);
    expect(learningRate({ ...base, schedule: 'poly' }, 60, 110)).toBeCloseTo(0.025, 12);
  });
});
