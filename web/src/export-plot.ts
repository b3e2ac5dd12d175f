/**
 * PNG and SVG downloads of a plot. The PNG is the canvas at device resolution; the SVG wraps that
 * picture at the plot's CSS size with its title, so it scales in documents and slides. Both are data
 * URLs made in the page: nothing is uploaded.
 */
import { el } from './dom.js';

/** An SVG document showing `pngUrl` at `width` × `height`. */
export function svgWrapping(pngUrl: string, width: number, height: number, title: string): string {
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${esc(title)}</title>`,
    `<image width="${width}" height="${height}" xlink:href="${pngUrl}" href="${pngUrl}"/>`,
    '</svg>',
  ].join('');
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
    const text = svgWrapping(canvas.toDataURL('image/png'), canvas.clientWidth, canvas.clientHeight, title);
    download(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`, `${baseName}.svg`);
  });
  return el('div', { className: 'export' }, [png, svg]);
}
