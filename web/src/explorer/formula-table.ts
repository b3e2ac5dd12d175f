/** The table of decision-boundary formulas shown beside the explorer's pictures. */
import type { BoundaryFormula } from '../../../src/heads/picture.js';
import { headDefinition, headNames } from '../../../src/heads/registry.js';
import { el } from '../dom.js';

/** The heads with a boundary formula, in registry order; an alias (AM-Softmax) joins its head's row. */
export function boundaryRows(): { heads: string[]; formula: BoundaryFormula }[] {
  const rows = new Map<BoundaryFormula, string[]>();
  for (const name of headNames) {
    const formula = headDefinition(name).picture?.boundary;
    if (formula) rows.set(formula, [...(rows.get(formula) ?? []), name]);
  }
  return [...rows].map(([formula, heads]) => ({ heads, formula }));
}

/**
 * One row per head of the table, marked with `data-head` (the head) and `data-heads` (it and its
 * aliases, space-separated) so the current head can be highlighted.
 */
export function formulaTable(): HTMLElement {
  const rows = boundaryRows().map(({ heads, formula }) => {
    const tr = el('tr', {}, [
      el('th', { scope: 'row', textContent: formula.label }),
      el('td', { textContent: formula.easy }),
      el('td', { textContent: formula.hard ?? 'same' }),
    ]);
    tr.dataset.head = heads[0];
    tr.dataset.heads = heads.join(' ');
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
