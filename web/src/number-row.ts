/**
 * A labelled number setting: a slider for quick moves and a number input beside it for exact values
 * (which may go past the slider's range; the head's schema decides what is valid). The label sits on
 * its own line, so long parameter names never run into the slider.
 */
import { el } from './dom.js';

/** Range and starting value of a row. */
export interface NumberRowSpec {
  id: string;
  label: string;
  min: number;
  max: number;
  step: number;
  value: number;
  /** Text after the number (e.g. the angle in degrees). */
  suffix?: (v: number) => string;
}

/**
 * Build a row. `onInput` fires while the value moves (slider drag or typing), `onCommit` once it
 * settles (slider released, Enter or focus leaving the number input).
 */
export function numberRow(
  spec: NumberRowSpec,
  onInput: (v: number) => void,
  onCommit: (v: number) => void = () => {},
): HTMLElement {
  const slider = el('input', {
    type: 'range',
    id: spec.id,
    min: String(spec.min),
    max: String(spec.max),
    step: String(spec.step),
    value: String(spec.value),
  });
  slider.setAttribute('aria-label', spec.label);
  const number = el('input', {
    type: 'number',
    id: `${spec.id}-number`,
    step: 'any',
    value: String(spec.value),
  });
  number.setAttribute('aria-label', `${spec.label} value`);
  const suffix = el('span', { className: 'suffix', textContent: spec.suffix?.(spec.value) ?? '' });
  const show = (v: number) => {
    suffix.textContent = spec.suffix?.(v) ?? '';
  };
  slider.addEventListener('input', () => {
    const v = Number(slider.value);
    number.value = slider.value;
    show(v);
    onInput(v);
  });
  slider.addEventListener('change', () => onCommit(Number(slider.value)));
  number.addEventListener('input', () => {
    const v = number.valueAsNumber;
    if (!Number.isFinite(v)) return;
    slider.value = String(v);
    show(v);
    onInput(v);
  });
  number.addEventListener('change', () => {
    if (Number.isFinite(number.valueAsNumber)) onCommit(number.valueAsNumber);
  });
  const label = el('label', { htmlFor: spec.id, textContent: spec.label, title: spec.label });
  return el('div', { className: 'control number-row' }, [
    label,
    el('div', { className: 'inputs' }, [slider, number]),
    suffix,
  ]);
}
