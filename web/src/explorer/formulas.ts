/**
 * Display formulas: one short line per head for the page, from the head's own file (the numbers the
 * page draws come from the head's code, not from these strings).
 */
import { headDefinition, headNames } from '../../../src/heads/registry.js';

/** The display formula of a head (its name if it is not registered). */
export function formulaOf(name: string): string {
  return headNames.includes(name) ? headDefinition(name).formula : name;
}
