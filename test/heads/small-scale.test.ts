/**
 * Each head's parameters for ten classes in a plane (`smallScale`): valid for its own schema, and the
 * choices the page and `compare` rely on.
 */
import { describe, expect, it } from 'vitest';
import { headDefinition, headNames, resolveParams } from '../../src/heads/registry.js';

describe('small-scale parameters', () => {
  it.each([...headNames])('%s: panel and compare parameters pass its schema', (name) => {
    const small = headDefinition(name).smallScale;
    expect(() => resolveParams(name, small?.panel ?? {})).not.toThrow();
    expect(() => resolveParams(name, small?.compare ?? {})).not.toThrow();
    if (small?.compareForSteps) expect(() => resolveParams(name, small.compareForSteps?.(400))).not.toThrow();
  });

  it('margin heads start the panels with a margin and a scale that does not saturate', () => {
    const withMargin = headNames.filter((n) => 'margin' in resolveParams(n, {}));
    expect(withMargin.length).toBeGreaterThan(10);
    for (const name of withMargin) {
      const p = resolveParams(name, headDefinition(name).smallScale?.panel ?? {});
      expect(p.margin, name).toBeGreaterThan(0);
      expect(p.scale, name).toBeLessThanOrEqual(32);
    }
  });

  it('SphereFace in compare reaches its λ floor halfway through the run', () => {
    const steps = 400;
    const p = resolveParams('sphereface', headDefinition('sphereface').smallScale?.compareForSteps?.(steps));
    const lambda = (iter: number) =>
      Math.max(
        p.lambdaMin as number,
        (p.lambdaBase as number) * (1 + (p.lambdaGamma as number) * iter) ** -(p.lambdaPower as number),
      );
    expect(lambda(steps / 2)).toBeCloseTo(p.lambdaMin as number, 9);
    expect(lambda(steps / 4)).toBeGreaterThan((p.lambdaMin as number) * 1.5);
  });
});
