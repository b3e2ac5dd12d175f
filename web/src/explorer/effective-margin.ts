/**
 * A readout of the margin a head actually applies under the current setting, for heads whose margin
 * moves with the sample or with training (MagFace's m(‖x‖), AdaFace's quality margins, CurricularFace's
 * t). The head's own definition writes the line (`effectiveMargin`); this only hands it the setting.
 */
import { buildHead, type HeadSetting } from './controls.js';

/** The readout line for a setting, or null for heads whose margin is a fixed parameter. */
export function effectiveMarginText(setting: HeadSetting): string | null {
  const head = buildHead(setting);
  return head.definition.effectiveMargin?.(head.params, head.getState(), setting.xNorm) ?? null;
}
