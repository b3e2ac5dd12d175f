/**
 * The effective-margin readout each head defines, against the head's own logits: MagFace's m(‖x‖) and
 * AdaFace's quality margins must reproduce the target logit the head computes, and the explorer shows
 * the head's line.
 */
import { describe, expect, it } from 'vitest';
import { type AdaFaceParams, type AdaFaceState, adafaceMargins } from '../../src/heads/adaface.js';
import { type MagFaceParams, magfaceMargin } from '../../src/heads/magface.js';
import { buildHead, defaultSetting } from '../../web/src/explorer/controls.js';
import { effectiveMarginText } from '../../web/src/explorer/effective-margin.js';
import { pairLogits } from '../../web/src/explorer/margin-grid.js';

const THETAS = [0.3, 0.7, 1.1, 1.5];

function targetLogits(name: string, xNorm: number, state: Record<string, number> = {}) {
  const base = defaultSetting(name);
  const setting = { ...base, xNorm, state: { ...base.state, ...state } };
  const head = buildHead(setting);
  const ty = Float64Array.from(THETAS);
  const tj = new Float64Array(THETAS.length).fill(Math.PI / 2);
  const logits = pairLogits(head, ty, tj, xNorm);
  return { setting, head, target: THETAS.map((_, i) => logits[2 * i]) };
}

describe('effective margin readout', () => {
  it.each([5, 10, 40, 110, 200])('MagFace at ‖x‖ = %d matches s·cos(θ + m(‖x‖))', (norm) => {
    const { setting, head, target } = targetLogits('magface', norm);
    const p = head.params as MagFaceParams;
    const m = magfaceMargin(p, norm);
    for (const [i, t] of THETAS.entries()) expect(target[i]).toBeCloseTo(p.scale * Math.cos(t + m), 9);
    expect(effectiveMarginText(setting)).toContain(`m(‖x‖) = ${m.toFixed(3)}`);
  });

  it('MagFace clamps the norm to its bounds', () => {
    const p = buildHead(defaultSetting('magface')).params as MagFaceParams;
    expect(magfaceMargin(p, 1)).toBeCloseTo(p.lowerMargin, 12);
    expect(magfaceMargin(p, 1000)).toBeCloseTo(p.upperMargin, 12);
  });

  it.each([5, 20, 60])('AdaFace at ‖x‖ = %d matches s·(cos(θ + angular) − additive)', (norm) => {
    const { setting, head, target } = targetLogits('adaface', norm, { batchMean: 20, batchStd: 100 });
    const p = head.params as AdaFaceParams;
    const a = adafaceMargins(p, head.getState() as AdaFaceState, norm);
    for (const [i, t] of THETAS.entries())
      expect(target[i]).toBeCloseTo(p.scale * (Math.cos(t + a.angular) - a.additive), 9);
    expect(Math.abs(a.quality)).toBeLessThanOrEqual(1);
    expect(effectiveMarginText(setting)).toContain(`quality ẑ = ${a.quality.toFixed(3)}`);
  });

  it('names CurricularFace’s t and nothing for fixed-margin heads', () => {
    const c = { ...defaultSetting('curricularface'), state: { t: 0.25 } };
    expect(effectiveMarginText(c)).toMatch(/^t = 0\.250/);
    expect(effectiveMarginText(defaultSetting('cosface'))).toBeNull();
  });
});
