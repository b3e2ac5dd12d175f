/**
 * Pictures that can be saved: `paint` draws a picture and remembers how, so the "SVG" button can draw
 * it again as vectors (svg-context.ts); "PNG" saves the canvas at device resolution. Both are data URLs
 * made in the page: nothing is uploaded.
 */
import { el } from './dom.js';
import { drawToSvg } from './svg-context.js';

const painters = new WeakMap<HTMLCanvasElement, (canvas: HTMLCanvasElement) => void>();

/** Draw a picture into `canvas` with `draw`, and keep `draw` for the SVG export. */
export function paint(canvas: HTMLCanvasElement, draw: (canvas: HTMLCanvasElement) => void): void {
  draw(canvas);
  painters.set(canvas, draw);
}

/** The SVG of the picture last painted into `canvas`, at its CSS size (null if none was painted). */
export function svgOf(canvas: HTMLCanvasElement, title: string): string | null {
  const draw = painters.get(canvas);
  if (!draw) return null;
  return drawToSvg(canvas.clientWidth || 300, canvas.clientHeight || 150, title, draw);
}

function download(url: string, fileName: string): void {
  const a = el('a', { href: url, download: fileName });
  document.body.append(a);
  a.click();
  a.remove();
}

/** "PNG" and "SVG" buttons saving `canvas` as `<baseName>.png` / `.svg`. */
export function exportButtons(canvas: HTMLCanvasElement, baseName: string, title: string): HTMLElement {
  const png = el('button', { type: 'button', textContent: 'PNG', title: `Save ${title} as PNG` });
  png.dataset.export = 'png';
  png.addEventListener('click', () => download(canvas.toDataURL('image/png'), `${baseName}.png`));
  const svg = el('button', { type: 'button', textContent: 'SVG', title: `Save ${title} as SVG` });
  svg.dataset.export = 'svg';
  svg.addEventListener('click', () => {
    const text = svgOf(canvas, title);
    if (text) download(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`, `${baseName}.svg`);
  });
  return el('div', { className: 'export' }, [png, svg]);
}
