/**
 * Everything about a head is in its file: the registry hands out each definition's display formula and
 * picture, and the TF.js path finds the TF.js forms of whatever the head computes besides its margin.
 */
import { describe, expect, it } from 'vitest';
import { headDefinition, headNames, resolveParams } from '../../src/heads/registry.js';
import { headPicture } from '../../src/viz/head-pictures.js';

describe('head definitions', () => {
  it.each(headNames)('%s has a display formula of its own', (name) => {
    const { formula } = headDefinition(name);
    expect(typeof formula).toBe('string');
    expect(formula.length).toBeGreaterThan(name.length);
  });

  it.each(headNames)('%s is pictured with at least one labelled curve at its defaults', (name) => {
    const picture = headPicture(name);
    const curves = picture.variants(resolveParams(name), new Set());
    expect(curves.length).toBeGreaterThan(0);
    for (const c of curves) expect(c.label.length).toBeGreaterThan(0);
  });

  it('pictures a name it does not know with the default single curve', () => {
    expect(headPicture('no-such-head').variants({}, new Set())).toEqual([{ label: 'defaults' }]);
  });

  it.each(headNames)('%s has TF.js forms for what its margin does not express', (name) => {
    const def = headDefinition(name);
    if (def.compute) expect(typeof def.tf?.compute, 'tf.compute').toBe('function');
    if (def.extraTerms) expect(typeof def.tf?.extraLoss, 'tf.extraLoss').toBe('function');
  });
});
