/**
 * The operator under fuzzing: random heads with random valid parameters, random shapes and finite
 * inputs. The fp64 oracle stays finite; the TF.js fp32 path (cpu backend) and the native fused kernel
 * (when built) agree with it within 1e-3 of max|ref| and never return NaN/Inf where it is finite.
 */
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { nativeImplementation } from '../../src/engine/margin.js';
import { loadEngine } from '../../src/engine/native.js';
import { tfjsImplementation } from '../../src/tf/implementation.js';
import {
  type Agreement,
  compareWithOracle,
  describeCase,
  type Fp32Implementation,
  headOf,
  inputsOf,
  operatorCase,
  outputFinite,
} from './operator.js';

const SEED = 20261128;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Runs the agreement property and returns how the cases were decided. */
function agreementRuns(impl: Fp32Implementation, numRuns: number): Record<Agreement['kind'], number> {
  const counts = { agree: 0, skipped: 0, disagree: 0 };
  fc.assert(
    fc.property(operatorCase, (c) => {
      const r = compareWithOracle(c, impl);
      counts[r.kind]++;
      if (r.kind === 'disagree') throw new Error(`${r.message} for ${describeCase(c)}`);
    }),
    { numRuns, seed: SEED },
  );
  return counts;
}

describe('the margin-softmax operator under fuzzing', () => {
  it('the fp64 oracle is finite on finite inputs with valid parameters (300 cases)', () => {
    fc.assert(
      fc.property(operatorCase, (c) => {
        const out = headOf(c).forward(inputsOf(c, headOf(c)));
        const bad = outputFinite(out);
        if (bad !== undefined) throw new Error(`${bad} for ${describeCase(c)}`);
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it('TF.js fp32 (cpu) agrees with the oracle (150 cases)', () => {
    const counts = agreementRuns(tfjsImplementation, 150);
    // Skips (rows at |cos| ≈ 1, branch thresholds, heads without a TF.js path) must stay the exception.
    expect(counts.agree).toBeGreaterThan(100);
  });

  it('the native fused kernel agrees with the oracle (200 cases)', (ctx) => {
    if (loadEngine() === null) ctx.skip('the native engine is not built on this machine');
    const counts = agreementRuns(nativeImplementation, 200);
    expect(counts.agree).toBeGreaterThan(130);
  });
});
