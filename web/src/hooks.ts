/**
 * What the page exposes on `window.faceverloss` for scripted use (and its end-to-end tests): the state
 * of the explorer pictures and of the training panels, a way to run training steps, and pixel checksums
 * computed only when asked (never on a normal redraw).
 */
import type { HeadSetting } from './explorer/controls.js';
import { canvasChecksum } from './plot.js';

/** Explorer state after the latest redraw. */
export interface ExplorerReadout {
  setting: HeadSetting;
  plane: string;
  shading: string;
  /** Head whose boundary is overlaid, or null. */
  overlay: string | null;
  /** Share of the plane where the target wins (NaN when the setting is invalid). */
  winFraction: number;
  /** Number of boundary segments drawn. */
  segments: number;
  /** The effective-margin line, if the head has one. */
  effectiveMargin: string | null;
  redraws: number;
  /** Why the setting is invalid (the plots are greyed), or null. */
  error: string | null;
}

/** A training panel's current run. */
export interface TrainingReadout {
  head: string;
  params: Record<string, unknown>;
  /** TF.js backend the worker runs on (`webgl`, `wasm` or `cpu`), empty until ready. */
  backend: string;
  runId: number;
  step: number;
  /** Loss of every step of the current run. */
  losses: number[];
  /** Latest held-out accuracy, null before the first evaluation. */
  accuracy: number | null;
  /** Latest held-out TAR at FAR 1e-2 (VERIFY_FAR), null before the first evaluation. */
  tar: number | null;
  stepsPerSecond: number | null;
  running: boolean;
  error: string | null;
}

/** The `window.faceverloss` object. */
export interface PageHooks {
  ready: boolean;
  explorer: ExplorerReadout | null;
  /** Panels by id (`panel-0` …), in page order. */
  training: Record<string, TrainingReadout>;
  /** Run `steps` training steps in every panel (stopping any free run first); resolves when all are done. */
  trainSteps(steps: number): Promise<void>;
  /** FNV-1a checksum of a canvas's pixels, by element id. */
  checksum(canvasId: string): string;
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
    checksum: (id) => {
      const canvas = document.getElementById(id);
      return canvas instanceof HTMLCanvasElement ? canvasChecksum(canvas) : '';
    },
  };
  return window.faceverloss;
}
