/**
 * The training section: 2–4 panels side by side sharing one seed (so one batch order) and, under "same
 * start", one set of initial weights; their smoothed losses and held-out accuracies overlaid on shared
 * axes, with each panel's steps per second.
 */
import { ADDED_PANEL_HEAD } from '../default-heads.js';
import { el } from '../dom.js';
import { exportButtons, paint } from '../export-plot.js';
import { pageHooks } from '../hooks.js';
import { drawSeries, type Series, smoothLosses } from './draw-compare.js';
import { CLASS_COLOURS } from './draw-features.js';
import { PANEL_COLOURS } from './line-colours.js';
import { mountTrainingPanel, type TrainingPanel } from './panel.js';
import { trainingDefaults } from './training-defaults.js';
import {
  defaultTrainingState,
  MAX_PANELS,
  MIN_PANELS,
  type PanelSettings,
  type SharedSettings,
  type TrainingState,
} from './training-state.js';
import { VERIFY_DIGITS, VERIFY_FAR } from './verification.js';

/** The mounted section. */
export interface TrainingSection {
  /** Resolves when every current panel's worker is ready. */
  ready(): Promise<void>;
  getState(): TrainingState;
  /** Called after every change the user makes. */
  onChange: () => void;
  redraw(): void;
}

function classLegend(): HTMLElement {
  return el(
    'ul',
    { className: 'class-legend', id: 'class-legend' },
    CLASS_COLOURS.map((colour, digit) => {
      const dot = el('span', { className: 'swatch' });
      dot.style.background = colour;
      return el('li', {}, [dot, String(digit)]);
    }),
  );
}

/** Mount the section into `root`, starting from `initial`. */
export function mountTraining(root: HTMLElement, initial: TrainingState): TrainingSection {
  const hooks = pageHooks();
  let shared: SharedSettings = { ...initial.shared };
  const panels: TrainingPanel[] = [];
  let serial = 0;

  const seedInput = el('input', {
    type: 'number',
    id: 'shared-seed',
    min: '0',
    step: '1',
    value: String(shared.seed),
  });
  const sameStart = el('input', { type: 'checkbox', id: 'same-start', checked: shared.sameStart });
  const addButton = el('button', { type: 'button', id: 'add-panel', textContent: 'Add head' });
  const trainAll = el('button', { type: 'button', id: 'train-all', textContent: 'Train all' });
  const resetAll = el('button', { type: 'button', id: 'reset-all', textContent: 'Reset all' });
  const grid = el('div', { className: 'panels', id: 'panels' });
  const lossCanvas = el('canvas', { id: 'compare-loss', className: 'plot chart' });
  const accCanvas = el('canvas', { id: 'compare-accuracy', className: 'plot chart' });
  const tarCanvas = el('canvas', { id: 'compare-tar', className: 'plot chart' });
  const key = el('ul', { className: 'series-key', id: 'series-key' });
  root.append(
    el('div', { className: 'toolbar' }, [
      el('label', { className: 'option' }, ['Seed', seedInput]),
      el('label', { className: 'option' }, [sameStart, 'same start (identical initial weights)']),
      trainAll,
      resetAll,
      addButton,
    ]),
    classLegend(),
    grid,
    el('h3', { textContent: 'On shared axes' }),
    key,
    el('div', { className: 'charts' }, [
      el('figure', {}, [
        lossCanvas,
        el('figcaption', { textContent: 'Training loss (moving average) by step.' }),
        exportButtons(lossCanvas, 'loss', 'the loss curves'),
      ]),
      el('figure', {}, [
        accCanvas,
        el('figcaption', { textContent: 'Held-out accuracy by step (500 digits not trained on).' }),
        exportButtons(accCanvas, 'accuracy', 'the accuracy curves'),
      ]),
      el('figure', {}, [
        tarCanvas,
        el('figcaption', {
          textContent: `Verification: TAR at FAR ${VERIFY_FAR} over all pairs of ${VERIFY_DIGITS} held-out digits (cosine scores).`,
        }),
        exportButtons(tarCanvas, 'tar', 'the TAR curves'),
      ]),
    ]),
  );

  const section: TrainingSection = {
    ready: () => Promise.all(panels.map((p) => p.ready)).then(() => {}),
    getState: () => ({ panels: panels.map((p) => p.settings()), shared: { ...shared } }),
    onChange: () => {},
    redraw: () => {
      for (const p of panels) p.redraw();
      scheduleDraw();
    },
  };

  let pending = false;
  const draw = () => {
    pending = false;
    const series = (pick: (p: TrainingPanel) => [number, number][]): Series[] =>
      panels.map((p, k) => ({ name: p.readout.head, colour: PANEL_COLOURS[k], points: pick(p) }));
    const percent = (v: number) => `${Math.round(100 * v)}%`;
    const loss = series((p) => smoothLosses(p.run.losses));
    paint(lossCanvas, (c) => drawSeries(c, loss, { x: 'step', y: 'loss' }));
    const acc = series((p) => p.run.accuracy.map((a): [number, number] => [a.step, a.value]));
    paint(accCanvas, (c) =>
      drawSeries(c, acc, { x: 'step', y: 'held-out accuracy', yFormat: percent }, [0, 1]),
    );
    const tar = series((p) => p.run.tar.map((a): [number, number] => [a.step, a.value]));
    const tarLabels = { x: 'step', y: `TAR at FAR ${VERIFY_FAR}`, yFormat: percent };
    paint(tarCanvas, (c) => drawSeries(c, tar, tarLabels, [0, 1]));
    trainAll.textContent = panels.some((p) => p.isRunning()) ? 'Pause all' : 'Train all';
    key.replaceChildren(
      ...panels.map((p, k) => {
        const dot = el('span', { className: 'swatch' });
        dot.style.background = PANEL_COLOURS[k];
        const rate = p.run.stepsPerSecond;
        const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
        return el('li', {}, [
          dot,
          `${p.readout.head}: step ${p.run.step}, accuracy ${pct(p.readout.accuracy)}, TAR ${pct(p.readout.tar)}, ${rate === null ? '–' : rate.toFixed(0)} steps/s`,
        ]);
      }),
    );
  };
  const scheduleDraw = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(draw);
  };

  const publish = () => {
    hooks.training = Object.fromEntries(panels.map((p) => [p.id, p.readout]));
    addButton.disabled = panels.length >= MAX_PANELS;
    for (const p of panels) {
      (p.element.querySelector(`#${p.id}-remove`) as HTMLButtonElement).disabled =
        panels.length <= MIN_PANELS;
    }
  };

  const addPanel = (settings: PanelSettings) => {
    const id = `panel-${serial++}`;
    const index = panels.length;
    const panel = mountTrainingPanel(
      { id, index, colour: PANEL_COLOURS[index], initial: settings },
      () => shared,
      scheduleDraw,
      () => {
        if (panels.length <= MIN_PANELS) return;
        panels.splice(panels.indexOf(panel), 1);
        panel.dispose();
        publish();
        scheduleDraw();
        section.onChange();
      },
    );
    panels.push(panel);
    grid.append(panel.element);
    // Panel changes (head, sliders) reach the URL too.
    panel.element.addEventListener('change', () => section.onChange());
    publish();
  };
  for (const p of initial.panels.slice(0, MAX_PANELS)) addPanel(p);
  while (panels.length < MIN_PANELS) addPanel(defaultTrainingState().panels[panels.length]);

  const restartAll = () => {
    for (const p of panels) p.configure();
  };
  seedInput.addEventListener('change', () => {
    const v = Math.trunc(seedInput.valueAsNumber);
    if (!Number.isFinite(v) || v < 0) {
      seedInput.value = String(shared.seed);
      return;
    }
    shared = { ...shared, seed: v };
    restartAll();
    section.onChange();
  });
  sameStart.addEventListener('change', () => {
    shared = { ...shared, sameStart: sameStart.checked };
    restartAll();
    section.onChange();
  });
  resetAll.addEventListener('click', restartAll);
  trainAll.addEventListener('click', () => {
    const anyRunning = panels.some((p) => p.isRunning());
    for (const p of panels) p.setRunning(!anyRunning);
    scheduleDraw();
  });
  addButton.addEventListener('click', () => {
    if (panels.length >= MAX_PANELS) return;
    addPanel({ head: ADDED_PANEL_HEAD, params: trainingDefaults(ADDED_PANEL_HEAD) });
    section.onChange();
  });

  hooks.trainSteps = async (steps: number) => {
    await Promise.all(panels.map((p) => p.trainSteps(steps)));
  };
  scheduleDraw();
  return section;
}
