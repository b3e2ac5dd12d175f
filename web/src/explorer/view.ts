/**
 * The explorer section: pick a head, move its parameters, and watch its binary decision boundary and
 * logit curves redraw; optionally in the cosine plane, shaded by the target's probability, with a second
 * head's boundary on top.
 */

import { headDefinition, headNames } from '../../../src/heads/registry.js';
import { EXPLORER_HEAD } from '../default-heads.js';
import { el } from '../dom.js';
import { exportButtons, paint } from '../export-plot.js';
import { pageHooks } from '../hooks.js';
import { numberRow } from '../number-row.js';
import { drawUnavailable } from '../plot.js';
import {
  buildHead,
  type Control,
  controlsInReach,
  defaultSetting,
  type HeadSetting,
  hasMargin,
  type NumberControl,
} from './controls.js';
import { drawBoundary, drawCurves, type Shading } from './draw.js';
import { effectiveMarginText } from './effective-margin.js';
import { formulaTable } from './formula-table.js';
import { formulaOf } from './formulas.js';
import { boundaryGrid, contourSegments, logitCurves, type Plane } from './margin-grid.js';

/** Samples per axis of the decision plane (1° steps) and of the curves. */
const GRID = 181;
const CURVE_SAMPLES = 361;

/** Everything the explorer shows, as the URL keeps it. */
export interface ExplorerState {
  setting: HeadSetting;
  plane: Plane;
  shading: Shading;
  overlay: string | null;
}

/** The explorer's handle: its state, to save in the URL and restore from it. */
export interface Explorer {
  getState(): ExplorerState;
  setState(state: ExplorerState): void;
  /** Called after every change the user makes. */
  onChange: () => void;
  /** Redraw at the current size (after a layout change). */
  redraw(): void;
}

function suffixOf(c: NumberControl): ((v: number) => string) | undefined {
  return c.angular ? (v) => `${((v * 180) / Math.PI).toFixed(1)}°` : undefined;
}

function select(id: string, options: [string, string][], label: string): HTMLSelectElement {
  const s = el(
    'select',
    { id },
    options.map(([value, text]) => el('option', { value, textContent: text })),
  );
  s.setAttribute('aria-label', label);
  return s;
}

/** Mount the explorer into `root`. */
export function mountExplorer(root: HTMLElement, initialHead = EXPLORER_HEAD): Explorer {
  const hooks = pageHooks();
  const headSelect = select(
    'head-select',
    headNames.map((n) => [n, n]),
    'Head',
  );
  const planeSelect = select(
    'plane-select',
    [
      ['angle', 'angles (θy, θj)'],
      ['cosine', 'cosines (cos θy, cos θj)'],
    ],
    'Plane',
  );
  const shadingSelect = select(
    'shading-select',
    [
      ['win', 'where the target wins'],
      ['probability', 'target probability'],
    ],
    'Shading',
  );
  const overlaySelect = select(
    'overlay-select',
    [['', 'none'], ...headNames.filter(hasMargin).map((n): [string, string] => [n, n])],
    'Compare with',
  );
  const summary = el('p', { className: 'summary' });
  const formula = el('p', { className: 'formula' });
  const controlsBox = el('div', { className: 'controls', id: 'head-controls' });
  const errorLine = el('p', { className: 'error', id: 'explorer-error', role: 'status' });
  const marginLine = el('p', { className: 'readout', id: 'effective-margin' });
  const boundaryCanvas = el('canvas', { id: 'boundary-canvas', className: 'plot square' });
  const curvesCanvas = el('canvas', { id: 'curves-canvas', className: 'plot square' });
  const readout = el('p', { className: 'readout', id: 'boundary-readout' });
  const noMargin = el('p', { className: 'note', hidden: true });
  const table = formulaTable();
  const labelled = (text: string, control: HTMLElement) =>
    el('label', { className: 'option' }, [text, control]);
  root.append(
    el('div', { className: 'explorer-side' }, [
      labelled('Head', headSelect),
      summary,
      formula,
      controlsBox,
      errorLine,
      marginLine,
      labelled('Plane', planeSelect),
      labelled('Shading', shadingSelect),
      labelled('Compare with', overlaySelect),
    ]),
    el('div', { className: 'explorer-plots' }, [
      el('figure', {}, [
        boundaryCanvas,
        el('figcaption', {
          textContent:
            'Target y vs one other class j. Shaded: the target logit wins (or its softmax probability). Solid: the head’s boundary; dashed grey: θj = θy (no margin).',
        }),
        readout,
        exportButtons(boundaryCanvas, 'decision-boundary', 'the decision boundary'),
      ]),
      el('figure', {}, [
        curvesCanvas,
        el('figcaption', {
          textContent: 'Target logit against θy and negative logit against θj; their gap is the margin.',
        }),
        exportButtons(curvesCanvas, 'logit-curves', 'the logit curves'),
      ]),
      noMargin,
      table,
    ]),
  );

  let state: ExplorerState = {
    setting: defaultSetting(initialHead),
    plane: 'angle',
    shading: 'win',
    overlay: null,
  };
  let redraws = 0;
  let pending = false;
  const explorer: Explorer = {
    getState: () => structuredClone(state),
    setState: (next) => {
      state = structuredClone(next);
      syncInputs();
    },
    onChange: () => {},
    redraw: () => scheduleRedraw(),
  };

  const redraw = () => {
    pending = false;
    const { setting } = state;
    const hasLogits = hasMargin(setting.name);
    boundaryCanvas.hidden = !hasLogits;
    curvesCanvas.hidden = !hasLogits;
    noMargin.hidden = hasLogits;
    noMargin.textContent = hasLogits
      ? ''
      : `${setting.name} has no logits, so there is no decision boundary.`;
    let error: string | null = null;
    let winFraction = Number.NaN;
    let segments = 0;
    let marginText: string | null = null;
    readout.textContent = '';
    if (hasLogits) {
      try {
        const head = buildHead(setting);
        const grid = boundaryGrid(head, GRID, setting.xNorm, state.plane);
        const contour = contourSegments(grid);
        let overlay: { segments: Float64Array; name: string } | undefined;
        if (state.overlay) {
          const other = defaultSetting(state.overlay);
          const otherGrid = boundaryGrid(buildHead(other), GRID, other.xNorm, state.plane);
          overlay = { segments: contourSegments(otherGrid), name: `${state.overlay} (defaults)` };
        }
        const extras = { shading: state.shading, overlay, name: setting.name };
        paint(boundaryCanvas, (c) => drawBoundary(c, grid, contour, extras));
        const curves = logitCurves(head, CURVE_SAMPLES, setting.xNorm);
        paint(curvesCanvas, (c) => drawCurves(c, curves));
        winFraction = grid.winFraction;
        segments = contour.length / 4;
        marginText = effectiveMarginText(setting);
        readout.textContent = `Target wins on ${(100 * winFraction).toFixed(1)}% of the plane (no margin: 50%).`;
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
        // The pictures of the last valid setting would mislead: grey them and say why.
        const reason = `Invalid setting: ${error}`;
        paint(boundaryCanvas, (c) => drawUnavailable(c, reason));
        paint(curvesCanvas, (c) => drawUnavailable(c, 'No curves for an invalid setting.'));
      }
    }
    errorLine.textContent = error ?? '';
    marginLine.textContent = marginText ?? '';
    marginLine.hidden = marginText === null;
    boundaryCanvas.dataset.state = error ? 'invalid' : 'drawn';
    for (const tr of Array.from(table.querySelectorAll('tr[data-head]'))) {
      const heads = (tr as HTMLElement).dataset.heads?.split(' ') ?? [];
      tr.classList.toggle('current', heads.includes(setting.name));
    }
    redraws++;
    hooks.explorer = {
      setting: structuredClone(setting),
      plane: state.plane,
      shading: state.shading,
      overlay: state.overlay,
      winFraction,
      segments,
      effectiveMargin: marginText,
      redraws,
      error,
    };
  };
  const scheduleRedraw = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(redraw);
  };
  const changed = () => {
    scheduleRedraw();
    explorer.onChange();
  };

  const controlRow = (c: Control, apply: (v: unknown) => void, structural: boolean): HTMLElement => {
    const id = `control-${c.key}`;
    const label = el('label', { htmlFor: id, textContent: c.key, title: c.key });
    if (c.kind === 'number') {
      return numberRow(
        { id, label: c.key, min: c.min, max: c.max, step: c.step, value: c.value, suffix: suffixOf(c) },
        (v) => {
          apply(v);
          changed();
        },
      );
    }
    if (c.kind === 'choice') {
      const input = el(
        'select',
        { id },
        c.options.map((o) => el('option', { value: o, textContent: o, selected: o === c.value })),
      );
      input.addEventListener('change', () => {
        apply(input.value);
        if (structural) renderControls();
        changed();
      });
      return el('div', { className: 'control' }, [label, input]);
    }
    const input = el('input', { type: 'checkbox', id, checked: c.value });
    input.addEventListener('change', () => {
      apply(input.checked);
      if (structural) renderControls();
      changed();
    });
    return el('div', { className: 'control' }, [label, input]);
  };

  // Choices and toggles can change which parameters matter (ArcFace's fallbackMargin only counts for
  // fallback 'am'), so they rebuild the controls; sliders only redraw.
  const renderControls = () => {
    const controls = controlsInReach(state.setting);
    const set = (patch: (s: HeadSetting, v: unknown) => HeadSetting) => (v: unknown) => {
      state = { ...state, setting: patch(state.setting, v) };
    };
    const rows: HTMLElement[] = controls.params.map((c) =>
      controlRow(
        c,
        set((s, v) => ({ ...s, params: { ...s.params, [c.key]: v } })),
        true,
      ),
    );
    for (const c of controls.state) {
      rows.push(
        controlRow(
          c,
          set((s, v) => ({ ...s, state: { ...s.state, [c.key]: v as number } })),
          false,
        ),
      );
    }
    if (controls.xNorm) {
      rows.push(
        controlRow(
          controls.xNorm,
          set((s, v) => ({ ...s, xNorm: v as number })),
          false,
        ),
      );
    }
    if (rows.length === 0)
      rows.push(el('p', { className: 'note', textContent: 'No parameter moves the margin.' }));
    controlsBox.replaceChildren(...rows);
  };

  const syncInputs = () => {
    const name = state.setting.name;
    headSelect.value = name;
    planeSelect.value = state.plane;
    shadingSelect.value = state.shading;
    overlaySelect.value = state.overlay ?? '';
    summary.textContent = headDefinition(name).summary;
    formula.textContent = formulaOf(name);
    renderControls();
    scheduleRedraw();
  };

  headSelect.addEventListener('change', () => {
    state = { ...state, setting: defaultSetting(headSelect.value) };
    syncInputs();
    explorer.onChange();
  });
  planeSelect.addEventListener('change', () => {
    state = { ...state, plane: planeSelect.value as Plane };
    changed();
  });
  shadingSelect.addEventListener('change', () => {
    state = { ...state, shading: shadingSelect.value as Shading };
    changed();
  });
  overlaySelect.addEventListener('change', () => {
    state = { ...state, overlay: overlaySelect.value || null };
    changed();
  });
  syncInputs();
  return explorer;
}
