/** The table of decision-boundary formulas shown beside the explorer's pictures. */
import { el } from '../dom.js';
import { BOUNDARY_FORMULAS } from './boundary-formulas.js';

/** One row per head of the table, marked with `data-head` so the current head can be highlighted. */
export function formulaTable(): HTMLElement {
  const rows = BOUNDARY_FORMULAS.map((f) => {
    const tr = el('tr', {}, [
      el('th', { scope: 'row', textContent: f.label }),
      el('td', { textContent: f.easy }),
      el('td', { textContent: f.hard ?? 'same' }),
    ]);
    tr.dataset.head = f.head;
    return tr;
  });
  return el('table', { className: 'boundary-formulas', id: 'boundary-formulas' }, [
    el('caption', { textContent: 'Decision boundary between target y and class j' }),
    el('thead', {}, [
      el('tr', {}, [
        el('th', { textContent: 'Head' }),
        el('th', { textContent: 'Easy sample' }),
        el('th', { textContent: 'Hard sample' }),
      ]),
    ]),
    el('tbody', {}, rows),
  ]);
}
