/**
 * Every parser on arbitrary input gives a well-formed result or a typed error (small budget; run
 * `npm run fuzz` for the long version of the same properties).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parserProperties } from './parsers.js';

const RUNS = 200;

describe('parsers under fuzzing', () => {
  for (const [name, property] of Object.entries(parserProperties)) {
    it(`${name}: a result or a typed error on ${RUNS} arbitrary inputs`, async () => {
      await fc.assert(property(), { numRuns: RUNS, seed: 20261128 });
    });
  }
});
