/**
 * A readout of the margin a head actually applies under the current setting, for heads whose margin
 * moves with the sample or with training: MagFace's m(‖x‖), AdaFace's quality-dependent margins and
 * CurricularFace's t. The pictures come from the head's own code; this line only names the numbers
 * (its agreement with the head's logits is checked in the tests).
 */
import type { HeadSetting } from './controls.js';

const deg = (rad: number) => `${((rad * 180) / Math.PI).toFixed(1)}°`;
const num = (v: unknown) => (typeof v === 'number' ? v : Number.NaN);

/** MagFace's angular margin at feature norm a: linear from lowerMargin to upperMargin over the norm bounds. */
export function magfaceMargin(params: Record<string, unknown>, norm: number): number {
  const [la, ua, lm, um] = ['lowerNorm', 'upperNorm', 'lowerMargin', 'upperMargin'].map((k) =>
    num(params[k]),
  );
  const a = Math.min(ua, Math.max(la, norm));
  return lm + ((um - lm) * (a - la)) / (ua - la);
}

/** AdaFace's normalised norm ẑ and its angular and additive margins at feature norm ‖x‖. */
export function adafaceMargins(
  params: Record<string, unknown>,
  state: Record<string, number>,
  norm: number,
): { quality: number; angular: number; additive: number } {
  const m = num(params.margin);
  const z = (num(params.h) * (norm - state.batchMean)) / (state.batchStd + num(params.eps));
  const quality = Math.min(1, Math.max(-1, z));
  return { quality, angular: -m * quality, additive: m + m * quality };
}

/** The readout line for a setting, or null for heads whose margin is a fixed parameter. */
export function effectiveMarginText(setting: HeadSetting): string | null {
  const { name, params, state, xNorm } = setting;
  if (name === 'magface') {
    const m = magfaceMargin(params, xNorm);
    return `Effective margin at ‖x‖ = ${xNorm}: m(‖x‖) = ${m.toFixed(3)} rad (${deg(m)})`;
  }
  if (name === 'adaface') {
    const a = adafaceMargins(params, state, xNorm);
    return `At ‖x‖ = ${xNorm}: quality ẑ = ${a.quality.toFixed(3)}, angular margin ${a.angular.toFixed(3)} rad (${deg(a.angular)}), additive margin ${a.additive.toFixed(3)}`;
  }
  if (name === 'curricularface') {
    const t = state.t ?? 0;
    return `t = ${t.toFixed(3)}: hard negatives (cos θj > cos(θy + m)) become cos θj·(t + cos θj)${t > 0 ? ', emphasised' : ''}`;
  }
  return null;
}
