/**
 * Pieces shared by the self-contained HTML pages (run report, comparison page): escaping and inlining
 * rendered SVG figures.
 */

/** Text made safe for HTML element content and attribute values. */
export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Prepare an SVG for inlining: scripts dropped, ids (vega's clip paths) given `prefix` so several
 * figures in one page cannot capture each other's references.
 */
export function inlineSvg(svg: string, prefix: string): string {
  return svg
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/\sid="([^"]+)"/g, ` id="${prefix}$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`);
}
