/**
 * The explorer's effective-margin readout against the head's own logits: MagFace's m(‖x‖) and AdaFace's
 * quality margins must reproduce the target logit the head computes.
 */
import { describe, expect, it } from 'vitest';
import { buildHead, defaultSetting } from '../../web/src/explorer/controls.js';
import {
  adafaceMargins,
  effectiveMarginText,
  magfaceMargin,
} from '../../web/src/explorer/effective-margin.js';
import { pairLogits } from '../../web/src/explorer/margin-grid.js';

const THETAS = [0.3, 0.7, 1.1, 1.5];

function targetLogits(name: string, xNorm: number, state: Record<string, number> = {}) {
  const base = defaultSetting(name);
  const setting = { ...base, xNorm, state: { ...base.state, ...state } };
  const head = buildHead(setting);
  const ty = Float64Array.from(THETAS);
  const tj = new Float64Array(THETAS.length).fill(Math.PI / 2);
  const logits = pairLogits(head, ty, tj, xNorm);
  return { setting, target: THETAS.map((_, i) => logits[2 * i]) };
}

describe('effective margin readout', () => {
  it.each([5, 10, 40, 110, 200])('MagFace at ‖x‖ = %d matches s·cos(θ + m(‖x‖))', (norm) => {
    const { setting, target } = targetLogits('magface', norm);
    const m = magfaceMargin(setting.params, norm);
    const s = setting.params.scale as number;
    for (const [i, t] of THETAS.entries()) expect(target[i]).toBeCloseTo(s * Math.cos(t + m), 9);
    expect(effectiveMarginText(setting)).toContain(m.toFixed(3));
  });

  it('MagFace clamps the norm to its bounds', () => {
    const p = defaultSetting('magface').params;
    expect(magfaceMargin(p, 1)).toBeCloseTo(p.lowerMargin as number, 12);
    expect(magfaceMargin(p, 1000)).toBeCloseTo(p.upperMargin as number, 12);
  });

  it.each([5, 20, 60])('AdaFace at ‖x‖ = %d matches s·(cos(θ + angular) − additive)', (norm) => {
    const { setting, target } = targetLogits('adaface', norm, { batchMean: 20, batchStd: 100 });
    const a = adafaceMargins(setting.params, setting.state, norm);
    const s = setting.params.scale as number;
    for (const [i, t] of THETAS.entries())
      expect(target[i]).toBeCloseTo(s * (Math.cos(t + a.angular) - a.additive), 9);
    expect(Math.abs(a.quality)).toBeLessThanOrEqual(1);
  });

  it('names CurricularFace’s t and nothing for fixed-margin heads', () => {
    const c = { ...defaultSetting('curricularface'), state: { t: 0.25 } };
    expect(effectiveMarginText(c)).toMatch(/^t = 0\.250/);
    expect(effectiveMarginText(defaultSetting('cosface'))).toBeNull();
  });
});
