/**
 * What to draw for each head: its own `picture` (caption and curves, in its head file), or one curve
 * at its parameters for a head that names none.
 */

import { DEFAULT_PICTURE, type HeadPicture } from '../heads/picture.js';
import { headDefinition, headNames } from '../heads/registry.js';

export type { BoundaryFormula, BoundaryVariant, HeadPicture, VariantsOf } from '../heads/picture.js';

/** How `name` is pictured. */
export function headPicture(name: string): HeadPicture {
  return (headNames.includes(name) ? headDefinition(name).picture : undefined) ?? DEFAULT_PICTURE;
}
