/**
 * The golden conformance suite (test/fixtures/golden, or FACEVERLOSS_GOLDEN) through the fp32 TF.js path, at the tolerance
 * documented on TFJS_TOLERANCE, on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadFixture } from '../../src/golden/fixture.js';
import { fixtureFiles, formatFailures, runFixture, runGoldenDir } from '../../src/golden/runner.js';
import { TFJS_TOLERANCE, tfjsImplementation } from '../../src/tf/implementation.js';
import { GOLDEN_DIR } from '../helpers/golden-dir.js';

const dir = GOLDEN_DIR;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('golden fixtures through TF.js (fp32)', () => {
  it('passes every dev fixture', () => {
    const results = runGoldenDir(dir, { impl: tfjsImplementation, tolerance: TFJS_TOLERANCE });
    expect(results.length).toBeGreaterThanOrEqual(184);
    expect(formatFailures(results)).toEqual([]);
    expect(results.every((r) => r.compared > 0)).toBe(true);
  });

  it('fails a fixture when the tolerance is far below fp32 precision', () => {
    // Guards the comparison itself: fp32 results cannot meet an fp64 bound.
    const files = fixtureFiles(dir).filter((f) => f.includes('arcface.') && f.includes('basic'));
    expect(files.length).toBeGreaterThan(0);
    const result = runFixture(loadFixture(files[0]), { impl: tfjsImplementation, tolerance: 1e-12 });
    expect(result.passed).toBe(false);
    expect(result.mismatches.length).toBeGreaterThan(0);
  });
});
