/**
 * What the page exposes on `window.faceverloss` for scripted use (and its end-to-end test): the state
 * of the explorer pictures and of the training panels, and a way to run training steps.
 */
import type { HeadSetting } from './explorer/controls.js';

/** Explorer state after the latest redraw. */
export interface ExplorerReadout {
  setting: HeadSetting;
  /** Share of the (θy, θj) plane where the target wins. */
  winFraction: number;
  /** Number of boundary segments drawn. */
  segments: number;
  /** Pixel checksums of the two canvases. */
  boundaryChecksum: string;
  curvesChecksum: string;
  redraws: number;
  /** Message of the last refused parameter value, if any. */
  error: string | null;
}

/** A training panel's progress. */
export interface TrainingReadout {
  head: string;
  params: Record<string, number>;
  /** TF.js backend the worker runs on (`webgl` or `cpu`), empty until ready. */
  backend: string;
  step: number;
  /** Loss of every step so far. */
  losses: number[];
  /** Share of the shown digits classified correctly by the head's logits. */
  accuracy: number;
  running: boolean;
  error: string | null;
}

/** The `window.faceverloss` object. */
export interface PageHooks {
  ready: boolean;
  explorer: ExplorerReadout | null;
  training: Record<string, TrainingReadout>;
  /** Run `steps` training steps in every panel (stopping any free run first); resolves when all are done. */
  trainSteps(steps: number): Promise<void>;
}

declare global {
  interface Window {
    faceverloss: PageHooks;
  }
}

/** The page's hook object, created on first use. */
export function pageHooks(): PageHooks {
  window.faceverloss ??= {
    ready: false,
    explorer: null,
    training: {},
    trainSteps: async () => {},
  };
  return window.faceverloss;
}
