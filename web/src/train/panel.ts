/**
 * A live-training panel: a head with its scale and margin, Train/Pause/Reset, the held-out feature
 * distribution redrawn as the worker reports, and the loss curve.
 */
import { resolveParams } from '../../../src/heads/registry.js';
import { pageHooks, type TrainingReadout } from '../hooks.js';
import { drawFeatures, drawLoss } from './draw-features.js';
import { MNIST_ASSET } from './mnist-format.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { TRAINABLE_HEADS, type TrainableHead, type TrainableParams, usesParam } from './trainable.js';

/** Initial settings of a panel. */
export interface PanelOptions {
  id: string;
  head: TrainableHead;
  params: TrainableParams;
  seed?: number;
}

/** Slider ranges: 2-D embeddings need far smaller scales and margins than the heads' defaults. */
const SLIDERS: Record<keyof TrainableParams, { min: number; max: number; step: number }> = {
  scale: { min: 1, max: 64, step: 0.5 },
  margin: { min: 0, max: 1, step: 0.01 },
};

/** Progress reports per second of free-running training is about 1000 / (step time · this). */
const REPORT_EVERY = 5;

/** A mounted panel; `trainSteps` resolves once the worker has run that many more steps. */
export interface TrainingPanel {
  /** Resolves when the worker has loaded the digits and a backend (rejects if it cannot). */
  ready: Promise<void>;
  trainSteps(steps: number): Promise<void>;
}

/** Mount a training panel into `root`. */
export function mountTrainingPanel(root: HTMLElement, options: PanelOptions): TrainingPanel {
  const hooks = pageHooks();
  let head = options.head;
  const params: TrainableParams = { ...options.params };
  const seed = options.seed ?? 1;
  const readout: TrainingReadout = {
    head,
    params: { ...params },
    backend: '',
    step: 0,
    losses: [],
    accuracy: 0,
    running: false,
    error: null,
  };
  hooks.training[options.id] = readout;

  const select = document.createElement('select');
  for (const name of TRAINABLE_HEADS) select.add(new Option(name, name, false, name === head));
  const status = document.createElement('p');
  status.className = 'readout';
  const features = document.createElement('canvas');
  features.className = 'plot features';
  features.id = `${options.id}-features`;
  const loss = document.createElement('canvas');
  loss.className = 'plot loss';
  loss.id = `${options.id}-loss`;
  const trainButton = document.createElement('button');
  trainButton.textContent = 'Train';
  trainButton.id = `${options.id}-train`;
  trainButton.disabled = true;
  const resetButton = document.createElement('button');
  resetButton.textContent = 'Reset';
  resetButton.disabled = true;
  const sliders = document.createElement('div');
  sliders.className = 'controls';

  const sliderRows = (Object.keys(SLIDERS) as (keyof TrainableParams)[]).map((key) => {
    const range = SLIDERS[key];
    const input = document.createElement('input');
    Object.assign(input, {
      type: 'range',
      min: range.min,
      max: range.max,
      step: range.step,
      value: params[key],
    });
    input.id = `${options.id}-${key}`;
    const out = document.createElement('output');
    out.textContent = String(params[key]);
    input.addEventListener('input', () => {
      out.textContent = input.value;
    });
    // A new value restarts training: the picture is only meaningful for one setting.
    input.addEventListener('change', () => {
      params[key] = Number(input.value);
      configure();
    });
    const label = document.createElement('label');
    label.htmlFor = input.id;
    label.textContent = key === 'scale' ? 's' : 'm';
    const row = document.createElement('div');
    row.className = 'control';
    row.append(label, input, out);
    return { key, row };
  });
  sliders.append(...sliderRows.map((r) => r.row));

  const headLabel = document.createElement('label');
  headLabel.append('Head ', select);
  const buttons = document.createElement('div');
  buttons.className = 'buttons';
  buttons.append(trainButton, resetButton);
  root.append(headLabel, sliders, buttons, features, loss, status);

  const worker = new Worker(new URL('./train.worker.ts', import.meta.url), { type: 'module' });
  const send = (msg: ToWorker) => worker.postMessage(msg);
  let waiters: { step: number; resolve: () => void }[] = [];
  let markReady: () => void = () => {};
  let markFailed: (e: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });

  const showStatus = () => {
    const last = readout.losses.at(-1);
    status.textContent = readout.error
      ? `Error: ${readout.error}`
      : `${readout.backend || 'starting'} · step ${readout.step} · loss ${last === undefined ? '–' : last.toFixed(3)} · held-out accuracy ${(100 * readout.accuracy).toFixed(1)}%`;
    trainButton.textContent = readout.running ? 'Pause' : 'Train';
  };

  const configure = () => {
    // Check the values against the library's schema for the head (the same errors the CLI gives).
    if (head !== 'softmax') resolveParams(head, head === 'normface' ? { scale: params.scale } : params);
    for (const { key, row } of sliderRows) row.hidden = !usesParam(head, key);
    readout.head = head;
    readout.params = { ...params };
    readout.step = 0;
    readout.losses = [];
    readout.running = false;
    send({ type: 'configure', head, params: { ...params }, seed });
    showStatus();
  };

  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const msg = event.data;
    if (msg.type === 'ready') {
      readout.backend = msg.backend;
      trainButton.disabled = false;
      resetButton.disabled = false;
      configure();
      markReady();
    } else if (msg.type === 'progress') {
      readout.step = msg.step;
      readout.losses.push(...msg.losses);
      readout.accuracy = msg.accuracy;
      readout.running = msg.running;
      drawFeatures(
        features,
        msg.embeddings,
        msg.labels,
        msg.weights,
        head === 'softmax' ? 'plane' : 'circle',
      );
      drawLoss(loss, readout.losses);
      const due = waiters.filter((w) => msg.step >= w.step);
      waiters = waiters.filter((w) => msg.step < w.step);
      for (const w of due) w.resolve();
    } else {
      readout.error = msg.message;
      readout.running = false;
      markFailed(new Error(msg.message));
    }
    showStatus();
  };
  worker.onerror = (event) => {
    readout.error = event.message || 'worker failed to start';
    markFailed(new Error(readout.error));
    showStatus();
  };

  trainButton.addEventListener('click', () => {
    if (readout.running) send({ type: 'stop' });
    else {
      readout.running = true;
      send({ type: 'run', steps: null, every: REPORT_EVERY });
    }
    showStatus();
  });
  resetButton.addEventListener('click', configure);
  select.addEventListener('change', () => {
    head = select.value as TrainableHead;
    configure();
  });

  const dataUrl = new URL(`${import.meta.env.BASE_URL}${MNIST_ASSET}`, document.baseURI).href;
  // ?backend=cpu (or wasm, webgl) pins the backend; otherwise the fastest that works is used.
  const pinned = new URLSearchParams(location.search).get('backend');
  send({ type: 'init', dataUrl, backends: pinned ? [pinned] : ['webgl', 'wasm', 'cpu'] });
  showStatus();

  return {
    ready,
    trainSteps(steps: number) {
      return new Promise<void>((resolve, reject) => {
        if (readout.error) {
          reject(new Error(readout.error));
          return;
        }
        send({ type: 'stop' });
        waiters.push({ step: readout.step + steps, resolve });
        readout.running = true;
        send({ type: 'run', steps, every: REPORT_EVERY });
      });
    },
  };
}
