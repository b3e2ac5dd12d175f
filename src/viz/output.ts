/**
 * Writing pictures: choose the format from the file extension, render, and write atomically (a temp
 * file in the same folder renamed over the target) so a reader never sees half a file.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { type RasterOptions, renderSvg, svgToPng, type VegaLiteSpec } from './render.js';

/** Picture formats a chart can be written as. */
export type ImageFormat = 'svg' | 'png';

/** The format named by `path`'s extension; `allowed` lists the accepted ones. */
export function formatOf<F extends string>(path: unknown, argument: string, allowed: readonly F[]): F {
  if (typeof path !== 'string' || path.length === 0) {
    throw new InvalidArgumentError(
      argument,
      `a file path ending in ${allowed.map((f) => `.${f}`).join(' or ')}`,
      path,
    );
  }
  const ext = extname(path).slice(1).toLowerCase();
  if (!(allowed as readonly string[]).includes(ext)) {
    throw new InvalidArgumentError(
      argument,
      `a file path ending in ${allowed.map((f) => `.${f}`).join(' or ')}`,
      path,
    );
  }
  return ext as F;
}

let counter = 0;

/**
 * Create `dir` and missing parents one level at a time. (Node 20's `mkdirSync(…, { recursive: true })`
 * never returns for some paths under /proc, so it is not used.)
 */
function ensureDir(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) ensureDir(parent);
  mkdirSync(dir);
}

/** Write `data` to `path` atomically, creating parent folders; failures name `argument`. */
export function writeFileAtomic(path: string, data: string | Uint8Array, argument: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${counter++}.tmp`);
  try {
    ensureDir(dirname(path));
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The temp file never existed (its folder could not be made); nothing to clean up.
    }
    const reason =
      err instanceof Error && 'code' in err ? ` (${String((err as { code: unknown }).code)})` : '';
    throw new InvalidArgumentError(argument, `a writable file path${reason}`, path);
  }
}

/** Render a vega-lite chart and write it as SVG or PNG (by extension) to `path`. */
export async function writeChart(
  spec: VegaLiteSpec,
  path: string,
  argument = 'out',
  options: RasterOptions = {},
): Promise<void> {
  const format = formatOf(path, argument, ['svg', 'png'] as const);
  const svg = await renderSvg(spec);
  writeFileAtomic(path, format === 'svg' ? svg : svgToPng(svg, options), argument);
}
