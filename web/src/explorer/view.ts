/**
 * The explorer section: pick a head, move its parameters, and watch its binary decision boundary and
 * logit curves redraw.
 */
import { headDefinition, headNames } from '../../../src/heads/registry.js';
import { pageHooks } from '../hooks.js';
import { canvasChecksum } from '../plot.js';
import {
  buildHead,
  type Control,
  controlsFor,
  defaultSetting,
  type HeadSetting,
  hasMargin,
  type NumberControl,
} from './controls.js';
import { drawBoundary, drawCurves } from './draw.js';
import { formulaOf } from './formulas.js';
import { boundaryGrid, contourSegments, logitCurves } from './margin-grid.js';

/** Samples per axis of the decision plane (1° steps) and of the curves. */
const GRID = 181;
const CURVE_SAMPLES = 361;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  children: (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function formatValue(c: NumberControl, v: number): string {
  const digits = c.step >= 1 ? 0 : Math.min(4, Math.ceil(-Math.log10(c.step)));
  const text = v.toFixed(digits);
  return c.angular ? `${text} rad (${((v * 180) / Math.PI).toFixed(1)}°)` : text;
}

/** Mount the explorer into `root`. */
export function mountExplorer(root: HTMLElement, initialHead = 'arcface'): void {
  const hooks = pageHooks();
  const select = el(
    'select',
    { id: 'head-select' },
    headNames.map((n) => el('option', { value: n, textContent: n })),
  );
  const summary = el('p', { className: 'summary' });
  const formula = el('p', { className: 'formula' });
  const controlsBox = el('div', { className: 'controls', id: 'head-controls' });
  const errorLine = el('p', { className: 'error', id: 'explorer-error' });
  const boundaryCanvas = el('canvas', { id: 'boundary-canvas', className: 'plot square' });
  const curvesCanvas = el('canvas', { id: 'curves-canvas', className: 'plot wide' });
  const readout = el('p', { className: 'readout', id: 'boundary-readout' });
  const noMargin = el('p', { className: 'note', hidden: true });
  root.append(
    el('div', { className: 'explorer-side' }, [
      el('label', {}, ['Head ', select]),
      summary,
      formula,
      controlsBox,
      errorLine,
    ]),
    el('div', { className: 'explorer-plots' }, [
      el('figure', {}, [
        boundaryCanvas,
        el('figcaption', {
          textContent:
            'Target y vs one other class j. Shaded: the target logit wins. Solid: the head’s boundary; dashed: θj = θy (no margin).',
        }),
        readout,
      ]),
      el('figure', {}, [
        curvesCanvas,
        el('figcaption', {
          textContent: 'Target logit against θy and negative logit against θj; their gap is the margin.',
        }),
      ]),
      noMargin,
    ]),
  );

  let setting: HeadSetting = defaultSetting(initialHead);
  let redraws = 0;
  let pending = false;

  const redraw = () => {
    pending = false;
    const hasLogits = hasMargin(setting.name);
    boundaryCanvas.hidden = !hasLogits;
    curvesCanvas.hidden = !hasLogits;
    noMargin.hidden = hasLogits;
    noMargin.textContent = hasLogits
      ? ''
      : `${setting.name} has no logits, so there is no decision boundary.`;
    if (!hasLogits) readout.textContent = '';
    let error: string | null = null;
    let winFraction = Number.NaN;
    let segments = 0;
    if (hasLogits) {
      try {
        const head = buildHead(setting);
        const grid = boundaryGrid(head, GRID, setting.xNorm);
        const contour = contourSegments(grid);
        drawBoundary(boundaryCanvas, grid, contour);
        drawCurves(curvesCanvas, logitCurves(head, CURVE_SAMPLES, setting.xNorm));
        winFraction = grid.winFraction;
        segments = contour.length / 4;
        readout.textContent = `Target wins on ${(100 * winFraction).toFixed(1)}% of the plane (no margin: 50%).`;
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
    }
    errorLine.textContent = error ?? '';
    redraws++;
    const boundaryChecksum = canvasChecksum(boundaryCanvas);
    boundaryCanvas.dataset.checksum = boundaryChecksum;
    boundaryCanvas.dataset.winFraction = String(winFraction);
    hooks.explorer = {
      setting: structuredClone(setting),
      winFraction,
      segments,
      boundaryChecksum,
      curvesChecksum: canvasChecksum(curvesCanvas),
      redraws,
      error,
    };
  };
  const scheduleRedraw = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(redraw);
  };

  const controlRow = (c: Control, apply: (v: unknown) => void, structural: boolean): HTMLElement => {
    const id = `control-${c.key}`;
    if (c.kind === 'number') {
      const value = el('output', { textContent: formatValue(c, c.value) });
      const input = el('input', {
        type: 'range',
        id,
        min: String(c.min),
        max: String(c.max),
        step: String(c.step),
        value: String(c.value),
      });
      input.dataset.key = c.key;
      input.addEventListener('input', () => {
        const v = Number(input.value);
        value.textContent = formatValue(c, v);
        apply(v);
        scheduleRedraw();
      });
      return el('div', { className: 'control' }, [
        el('label', { htmlFor: id, textContent: c.key }),
        input,
        value,
      ]);
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
        scheduleRedraw();
      });
      return el('div', { className: 'control' }, [el('label', { htmlFor: id, textContent: c.key }), input]);
    }
    const input = el('input', { type: 'checkbox', id, checked: c.value });
    input.addEventListener('change', () => {
      apply(input.checked);
      if (structural) renderControls();
      scheduleRedraw();
    });
    return el('div', { className: 'control' }, [el('label', { htmlFor: id, textContent: c.key }), input]);
  };

  // Choices and toggles can change which parameters matter (ArcFace's fallbackMargin only counts for
  // fallback 'am'), so they rebuild the controls; sliders only redraw.
  const renderControls = () => {
    const { params, state, xNorm } = controlsFor(setting);
    const rows: HTMLElement[] = params.map((c) =>
      controlRow(
        c,
        (v) => {
          setting = { ...setting, params: { ...setting.params, [c.key]: v } };
        },
        true,
      ),
    );
    for (const c of state) {
      rows.push(
        controlRow(
          c,
          (v) => {
            setting = { ...setting, state: { ...setting.state, [c.key]: v as number } };
          },
          false,
        ),
      );
    }
    if (xNorm) {
      rows.push(
        controlRow(
          xNorm,
          (v) => {
            setting = { ...setting, xNorm: v as number };
          },
          false,
        ),
      );
    }
    if (rows.length === 0)
      rows.push(el('p', { className: 'note', textContent: 'No parameter moves the margin.' }));
    controlsBox.replaceChildren(...rows);
  };

  const selectHead = (name: string) => {
    setting = defaultSetting(name);
    select.value = name;
    summary.textContent = headDefinition(name).summary;
    formula.textContent = formulaOf(name);
    renderControls();
    scheduleRedraw();
  };
  select.addEventListener('change', () => selectHead(select.value));
  selectHead(initialHead);
}
