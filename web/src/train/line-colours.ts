/** Colours of the compared panels' curves (distinct from the digit colours' order). */
export const PANEL_COLOURS = ['#0b3d91', '#d35400', '#2e7d32', '#8e24aa'];
