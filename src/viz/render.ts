/**
 * Rendering: vega-lite spec → vega → SVG string (headless, renderer `none`), SVG → PNG / RGBA pixels with
 * resvg and the bundled DejaVu Sans font. System fonts are never loaded, so the same spec gives the same
 * bytes on every machine.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { resolveOptionalFile } from '../optional-packages.js';

/** A vega-lite specification (kept loose: the charts in this folder build them as plain objects). */
export type VegaLiteSpec = Record<string, unknown>;

/** The font every chart names; resvg is given exactly this file. */
export const FONT_FAMILY = 'DejaVu Sans';

let fontFile: string | undefined;

/** Absolute path of the bundled DejaVuSans.ttf. */
export function fontPath(): string {
  fontFile ??= resolveOptionalFile('rendering a picture', 'dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
  return fontFile;
}

/** Chart-wide defaults: the bundled font everywhere, white background, no vega "actions". */
export const baseConfig = {
  font: FONT_FAMILY,
  // Per-item ARIA labels would double the size of charts with thousands of marks.
  aria: false,
  background: 'white',
  view: { stroke: '#bbbbbb' },
  axis: { labelFontSize: 10, titleFontSize: 11, grid: true, gridColor: '#eeeeee' },
  legend: { labelFontSize: 10, titleFontSize: 10 },
  title: { fontSize: 13, subtitleFontSize: 10, subtitleColor: '#444444', anchor: 'start' },
} as const;

/** Compile a vega-lite spec and render it to an SVG document string. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const withConfig = { ...spec, config: { ...baseConfig, ...(spec.config as object | undefined) } };
  // Scale-merging notices from vega-lite are expected in layered charts; keep the console quiet.
  const compiled = vl.compile(withConfig as unknown as vl.TopLevelSpec, {
    logger: vega.logger(vega.None),
  }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.None });
  try {
    return renumberIds(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * vega numbers clip paths with a process-wide counter; renumber them in order of appearance so the same
 * spec always gives the same SVG, however many charts were rendered before.
 */
function renumberIds(svg: string): string {
  const ids = new Map<string, string>();
  for (const m of svg.matchAll(/\sid="(clip\d+)"/g)) if (!ids.has(m[1])) ids.set(m[1], `clip${ids.size + 1}`);
  if (ids.size === 0) return svg;
  return svg.replace(/(\sid="|url\(#)(clip\d+)/g, (whole, lead: string, id: string) =>
    ids.has(id) ? `${lead}${ids.get(id)}` : whole,
  );
}

/** Raster options: `scale` multiplies the SVG's own pixel size (2 gives crisp text on screens). */
export interface RasterOptions {
  scale?: number;
}

function rasterizer(svg: string, options: RasterOptions): Resvg {
  return new Resvg(svg, {
    font: { fontFiles: [fontPath()], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY },
    fitTo: { mode: 'zoom', value: options.scale ?? 2 },
    background: 'white',
  });
}

/** Rasterise an SVG document to PNG bytes. */
export function svgToPng(svg: string, options: RasterOptions = {}): Uint8Array {
  return rasterizer(svg, options).render().asPng();
}

/** Rasterised pixels: `width × height` RGBA, row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** Rasterise an SVG document to RGBA pixels (GIF frames, pixel checks). */
export function svgToRgba(svg: string, options: RasterOptions = {}): RgbaImage {
  const img = rasterizer(svg, options).render();
  return { width: img.width, height: img.height, pixels: new Uint8Array(img.pixels) };
}
