/**
 * A live-training panel: any registered head with its own plane defaults and sliders, Train/Reset, and
 * the held-out feature distribution redrawn as its worker reports. Every (re)configuration starts a new
 * run id; reports of older runs are dropped, so a restart never shows the previous setting's numbers.
 */

import { headDefinition, resolveParams } from '../../../src/heads/registry.js';
import { el } from '../dom.js';
import { controlsInReach, type NumberControl } from '../explorer/controls.js';
import { exportButtons, paint } from '../export-plot.js';
import type { TrainingReadout } from '../hooks.js';
import { numberRow } from '../number-row.js';
import { drawFeatures } from './draw-features.js';
import type { FromWorker, RunSettings, ToWorker } from './protocol.js';
import { applyProgress, latestAccuracy, newRun, type RunRecord } from './run-state.js';
import TrainWorker from './train.worker.ts?worker&inline';
import { TRAINABLE_HEADS, trainingDefaults } from './training-defaults.js';
import { initSeedOf, type PanelSettings, type SharedSettings } from './training-state.js';

/**
 * Progress reports come every this many steps. Each carries a held-out evaluation (a forward pass over
 * 500 digits and 31,125 verification pairs), so reports are spaced to keep training the main work.
 */
const REPORT_EVERY = 10;

/** A mounted panel. */
export interface TrainingPanel {
  readonly id: string;
  readonly element: HTMLElement;
  readonly readout: TrainingReadout;
  readonly run: RunRecord;
  /** Resolves when the worker has a backend and the digits (rejects if it cannot). */
  ready: Promise<void>;
  settings(): PanelSettings;
  /** Start a new run with these settings (keeps running if it was). */
  configure(settings?: PanelSettings): void;
  /** Run `steps` more steps; resolves when they are reported. */
  trainSteps(steps: number): Promise<void>;
  setRunning(on: boolean): void;
  /** Whether the panel trains freely (Train pressed, not paused). */
  isRunning(): boolean;
  /** Redraw the embeddings at the current size. */
  redraw(): void;
  /** Stop the worker and remove the panel. */
  dispose(): void;
}

/** Numeric parameters that move this head's margin, with the plane defaults as values. */
function numberControls(settings: PanelSettings): NumberControl[] {
  const { params } = controlsInReach({ name: settings.head, params: settings.params, state: {}, xNorm: 1 });
  return params.filter((c): c is NumberControl => c.kind === 'number');
}

/** Mount a panel. `shared` is read at every (re)configuration; `onUpdate` fires after every report. */
/** Heads on raw class weights (Softmax, CenterLoss) are drawn in the plane; normalised ones on the circle. */
function featureView(settings: PanelSettings): 'plane' | 'circle' {
  const p = resolveParams(settings.head, settings.params);
  return headDefinition(settings.head).geometry(p).normalizeW === 'none' ? 'plane' : 'circle';
}

export function mountTrainingPanel(
  options: { id: string; index: number; colour: string; initial: PanelSettings },
  shared: () => SharedSettings,
  onUpdate: () => void,
  onRemove: () => void,
): TrainingPanel {
  const { id } = options;
  let settings: PanelSettings = { head: options.initial.head, params: { ...options.initial.params } };
  let run = newRun(0);
  const readout: TrainingReadout = {
    head: settings.head,
    params: { ...settings.params },
    backend: '',
    runId: 0,
    step: 0,
    losses: run.losses,
    accuracy: null,
    tar: null,
    stepsPerSecond: null,
    running: false,
    error: null,
  };

  const headSelect = el(
    'select',
    { id: `${id}-head` },
    TRAINABLE_HEADS.map((n) => el('option', { value: n, textContent: n })),
  );
  headSelect.value = settings.head;
  const sliders = el('div', { className: 'controls' });
  const trainButton = el('button', {
    type: 'button',
    id: `${id}-train`,
    textContent: 'Train',
    disabled: true,
  });
  const resetButton = el('button', {
    type: 'button',
    id: `${id}-reset`,
    textContent: 'Reset',
    disabled: true,
  });
  const removeButton = el('button', { type: 'button', id: `${id}-remove`, textContent: 'Remove' });
  const features = el('canvas', { id: `${id}-features`, className: 'plot features' });
  const status = el('p', { className: 'readout', id: `${id}-status` });
  const swatch = el('span', { className: 'swatch' });
  swatch.style.background = options.colour;
  const element = el('div', { className: 'panel', id }, [
    // Sliders last: their number varies by head, and the pictures of neighbouring panels stay level.
    el('label', { className: 'option' }, [swatch, 'Head', headSelect]),
    el('div', { className: 'buttons' }, [trainButton, resetButton, removeButton]),
    features,
    status,
    exportButtons(features, `${id}-embeddings`, 'the embeddings'),
    sliders,
  ]);

  const worker = new TrainWorker();
  const send = (msg: ToWorker) => worker.postMessage(msg);
  let waiters: { runId: number; step: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  let markReady: () => void = () => {};
  let markFailed: (e: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  // A failure is shown in the panel's status; a panel added later has no other listener.
  ready.catch(() => {});
  let workerReady = false;
  let backendNote = '';
  /** The latest report's embeddings, redrawn when the layout changes size. */
  let lastPicture: { embeddings: Float32Array; labels: Uint8Array; weights: Float32Array } | null = null;
  const drawPicture = () => {
    if (!lastPicture) return;
    const view = featureView(settings);
    const { embeddings, labels, weights } = lastPicture;
    paint(features, (c) => drawFeatures(c, embeddings, labels, weights, view));
  };
  let nextRunId = 1;
  /** Whether the user wants the run going (it resumes after a restart). */
  let wantRunning = false;

  const showStatus = () => {
    const last = run.losses.at(-1);
    const acc = latestAccuracy(run);
    const parts = [
      readout.backend ? `${readout.backend}${backendNote ? ` (${backendNote})` : ''}` : 'starting',
      `step ${run.step}`,
      `loss ${last === undefined ? '–' : last.toFixed(3)}`,
      `held-out accuracy ${acc === null ? '–' : `${(100 * acc).toFixed(1)}%`}`,
      `${run.stepsPerSecond === null ? '–' : run.stepsPerSecond.toFixed(0)} steps/s`,
    ];
    status.textContent = readout.error ? `Error: ${readout.error}` : parts.join(' · ');
    trainButton.textContent = wantRunning ? 'Pause' : 'Train';
    readout.runId = run.runId;
    readout.step = run.step;
    readout.losses = run.losses;
    readout.accuracy = acc;
    readout.tar = run.tar.at(-1)?.value ?? null;
    readout.stepsPerSecond = run.stepsPerSecond;
    readout.running = run.running;
  };

  const renderSliders = () => {
    const rows = numberControls(settings).map((c) =>
      numberRow(
        {
          id: `${id}-${c.key}`,
          label: c.key,
          min: c.min,
          max: c.max,
          step: c.step,
          value: c.value,
        },
        () => {},
        // A new value restarts the run: the picture is only meaningful for one setting.
        (v) => configure({ head: settings.head, params: { ...settings.params, [c.key]: v } }),
      ),
    );
    sliders.replaceChildren(...rows);
  };

  const configure = (next: PanelSettings = settings) => {
    settings = { head: next.head, params: { ...next.params } };
    headSelect.value = settings.head;
    readout.head = settings.head;
    readout.params = { ...settings.params };
    readout.error = null;
    for (const w of waiters) w.reject(new Error('run restarted'));
    waiters = [];
    run = newRun(nextRunId++);
    renderSliders();
    if (workerReady) {
      const all = shared();
      const runSettings: RunSettings = {
        head: settings.head,
        params: settings.params,
        seed: all.seed,
        initSeed: initSeedOf(all, options.index),
      };
      send({ type: 'configure', runId: run.runId, settings: runSettings });
      if (wantRunning) send({ type: 'run', runId: run.runId, steps: null, every: REPORT_EVERY });
    }
    showStatus();
    onUpdate();
  };

  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const msg = event.data;
    if (msg.type === 'ready') {
      readout.backend = msg.backend;
      backendNote = msg.note;
      workerReady = true;
      trainButton.disabled = false;
      resetButton.disabled = false;
      configure();
      markReady();
    } else if (msg.type === 'progress') {
      if (!applyProgress(run, msg)) return;
      lastPicture = msg;
      drawPicture();
      const due = waiters.filter((w) => w.runId === run.runId && msg.step >= w.step);
      waiters = waiters.filter((w) => !due.includes(w));
      for (const w of due) w.resolve();
    } else {
      if (msg.runId !== null && msg.runId !== run.runId) return;
      readout.error = msg.message;
      wantRunning = false;
      run.running = false;
      for (const w of waiters) w.reject(new Error(msg.message));
      waiters = [];
      if (msg.runId === null) markFailed(new Error(msg.message));
    }
    showStatus();
    onUpdate();
  };
  worker.onerror = (event: ErrorEvent) => {
    readout.error = event.message || 'worker failed to start';
    markFailed(new Error(event.message || 'worker failed to start'));
    showStatus();
  };

  const setRunning = (on: boolean) => {
    if (!workerReady) return;
    wantRunning = on;
    if (on) send({ type: 'run', runId: run.runId, steps: null, every: REPORT_EVERY });
    else send({ type: 'stop', runId: run.runId });
    showStatus();
  };
  trainButton.addEventListener('click', () => setRunning(!wantRunning));
  resetButton.addEventListener('click', () => configure());
  removeButton.addEventListener('click', onRemove);
  headSelect.addEventListener('change', () => {
    configure({ head: headSelect.value, params: trainingDefaults(headSelect.value) });
  });

  // ?backend=cpu (or wasm, webgl) pins the backend; otherwise the fastest that works is used.
  const pinned = new URLSearchParams(location.search).get('backend');
  send({ type: 'init', backends: pinned ? [pinned] : ['webgl', 'wasm', 'cpu'] });
  renderSliders();
  showStatus();

  return {
    id,
    element,
    readout,
    get run() {
      return run;
    },
    ready,
    settings: () => ({ head: settings.head, params: { ...settings.params } }),
    configure,
    setRunning,
    isRunning: () => wantRunning,
    redraw: drawPicture,
    async trainSteps(steps: number) {
      // Until its worker is ready a panel has no run to extend (a new panel is still loading).
      await ready;
      return new Promise<void>((resolve, reject) => {
        if (readout.error) {
          reject(new Error(readout.error));
          return;
        }
        wantRunning = false;
        send({ type: 'stop', runId: run.runId });
        waiters.push({ runId: run.runId, step: run.step + steps, resolve, reject });
        send({ type: 'run', runId: run.runId, steps, every: REPORT_EVERY });
        showStatus();
      });
    },
    dispose() {
      for (const w of waiters) w.reject(new Error('panel removed'));
      worker.terminate();
      element.remove();
    },
  };
}
