/**
 * Fixed cases that random fuzzing once found (test/fuzz/regressions.ts): each must now pass, whatever
 * the seed and budget of the random suites.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { nativeImplementation } from '../../src/engine/head-step.js';
import { loadEngine } from '../../src/engine/native.js';
import { tfjsImplementation } from '../../src/tf/implementation.js';
import { compareWithOracle, FP32_RELATIVE } from './operator.js';
import { parserChecks } from './parsers.js';
import { OPERATOR_REGRESSIONS, PARSER_REGRESSIONS } from './regressions.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('operator regressions: the fp32 implementations agree with the oracle', () => {
  for (const { found, case: c } of OPERATOR_REGRESSIONS) {
    it(`native — ${c.head}: ${found}`, (ctx) => {
      if (loadEngine() === null) ctx.skip('the native engine is not built on this machine');
      const r = compareWithOracle(c, nativeImplementation);
      // Not skipped either: these rows are away from |cos| = 1 and from branch thresholds.
      expect(r).toMatchObject({ kind: 'agree' });
      if (r.kind === 'agree') expect(r.worst).toBeLessThan(FP32_RELATIVE / 2);
    });
    it(`TF.js — ${c.head}: ${found}`, () => {
      expect(compareWithOracle(c, tfjsImplementation)).toMatchObject({ kind: 'agree' });
    });
  }
});

describe('parser regressions: a typed error or a well-formed result', () => {
  for (const { found, parser, input } of PARSER_REGRESSIONS) {
    it(`${parser}: ${found}`, async () => {
      await expect(Promise.resolve().then(() => parserChecks[parser](input))).resolves.toBeUndefined();
    });
  }
});
