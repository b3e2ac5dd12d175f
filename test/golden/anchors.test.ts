/**
 * `fromAnchor` finds a reference class in the head that lists it: the fixture's own head first, else
 * the one head that covers the arguments, and a clear error when none or several do.
 */
import { describe, expect, it } from 'vitest';
import { UnsupportedConfigError } from '../../src/errors.js';
import { fromAnchor } from '../../src/golden/anchors.js';
import { headDefinition, headNames } from '../../src/heads/registry.js';

describe('fromAnchor', () => {
  it('translates a class with the head that lists it, defaults filled in', () => {
    const m = fromAnchor('arcface', 'cavaface', 'ArcFace', { s: 32 });
    expect(m).toEqual({
      head: 'arcface',
      params: { scale: 32, margin: 0.5, fallback: 'thmm' },
      tensors: { W: 'W' },
      outputs: { logits: 'logits', loss: 'loss' },
      state: {},
    });
  });

  it('gives NormFace for a CosFace class at m = 0 of a NormFace fixture, CosFace otherwise', () => {
    expect(fromAnchor('normface', 'insightface', 'CosFace', { s: 64, m: 0 }).head).toBe('normface');
    const margined = fromAnchor('normface', 'insightface', 'CosFace', { s: 64, m: 0.4 });
    expect(margined.head).toBe('cosface');
    expect(margined.params).toMatchObject({ scale: 64, margin: 0.4, loss: 'distce' });
    expect(margined.outputs).toHaveProperty('cos_in', 'cos');
    // AM-Softmax is CosFace under another name: its fixtures use the same translation.
    const am = fromAnchor('amsoftmax', 'facexzoo', 'AM_Softmax', {});
    expect(am.params).toEqual({ scale: 32, margin: 0.35 });
  });

  it('refuses a class no head lists, and one several heads cover without naming which', () => {
    expect(() => fromAnchor('arcface', 'cavaface', 'NoSuchLoss', {})).toThrow(UnsupportedConfigError);
    expect(() => fromAnchor('arcface', 'cavaface-cosface', 'CosFace', { s: 64, m: 0 })).toThrow(
      /normface, cosface/,
    );
    expect(() => fromAnchor('arcface', 'cavaface-cosface', 'CosFace', { s: 64, m: 0.2 })).not.toThrow();
  });

  it('every listed class belongs to one head or to an alias of it', () => {
    const owners = new Map<string, Set<unknown>>();
    for (const name of headNames) {
      for (const [key, translate] of Object.entries(headDefinition(name).anchors ?? {})) {
        expect(key, name).toMatch(/^[a-z_-]+:[A-Za-z_]+$/);
        owners.set(key, (owners.get(key) ?? new Set()).add(translate));
      }
    }
    expect(owners.size).toBe(35);
    // Only the cosine classes are shared (CosFace and NormFace at m = 0).
    const shared = [...owners].filter(([, fns]) => fns.size > 1).map(([key]) => key);
    expect(shared.every((key) => /CosFace|Am_softmax|AM_Softmax|AMSoftmax/.test(key))).toBe(true);
  });
});
