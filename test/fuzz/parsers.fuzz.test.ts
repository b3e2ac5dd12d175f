/**
 * Every parser on arbitrary input gives a well-formed result or a typed error. CI's budget (a few
 * seconds): large enough to meet the embeddings reader's former float32 overflow (see regressions.ts) with this seed;
 * `npm run fuzz -- --runs N` runs the same properties longer.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parserProperties } from './parsers.js';

const RUNS = 2000;

describe('parsers under fuzzing', () => {
  for (const [name, property] of Object.entries(parserProperties)) {
    it(`${name}: a result or a typed error on ${RUNS} arbitrary inputs`, async () => {
      await fc.assert(property(), { numRuns: RUNS, seed: 20261128 });
    });
  }
});
