/**
 * The heads the page opens with. These are choices of the page, not knowledge of the heads: everything
 * about a head (its parameters for a plane, its formulas, its pictures) comes from its own file.
 */

/** The explorer's head on a fresh page. */
export const EXPLORER_HEAD = 'arcface';
/** The training section's starting panels: Softmax against ArcFace. */
export const FIRST_PANEL_HEADS: readonly string[] = ['softmax', 'arcface'];
/** The head of a panel added with "Add panel". */
export const ADDED_PANEL_HEAD = 'cosface';
