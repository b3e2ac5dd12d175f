/** The training section's settings, as the URL keeps them (free of the DOM and of TF.js). */
import { FIRST_PANEL_HEADS } from '../default-heads.js';
import { trainingDefaults } from './training-defaults.js';

export const MIN_PANELS = 2;
export const MAX_PANELS = 4;

/** Settings shared by every panel: the batch order's seed and whether initial weights are shared. */
export interface SharedSettings {
  seed: number;
  sameStart: boolean;
}

/** A panel's head and parameters. */
export interface PanelSettings {
  head: string;
  params: Record<string, unknown>;
}

/** The whole section. */
export interface TrainingState {
  panels: PanelSettings[];
  shared: SharedSettings;
}

/** The section's starting panels: Softmax against ArcFace, one seed, same start. */
export function defaultTrainingState(): TrainingState {
  return {
    panels: FIRST_PANEL_HEADS.map((head) => ({ head, params: trainingDefaults(head) })),
    shared: { seed: 1, sameStart: true },
  };
}

/** The initial-weights seed of the panel at `index`: the shared seed under "same start". */
export function initSeedOf(shared: SharedSettings, index: number): number {
  return shared.sameStart ? shared.seed : shared.seed + 1000 * (index + 1);
}
