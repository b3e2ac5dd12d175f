import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerPlot } from '../../src/cli/plot.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { boundaryChart, headBoundaries } from '../../src/viz/boundary-chart.js';
import { writeEmbeddingSnapshot } from '../../src/viz/embeddings-file.js';
import { featuresGif } from '../../src/viz/features-animation.js';
import { renderSvg, svgToPng, svgToRgba } from '../../src/viz/render.js';

const dir = mkdtempSync(join(tmpdir(), 'faceverloss-viz-render-'));

/** Frames and logical screen size of a GIF, by walking its blocks. */
function gifInfo(bytes: Uint8Array): { width: number; height: number; frames: number } {
  const u16 = (o: number) => bytes[o] | (bytes[o + 1] << 8);
  expect(String.fromCharCode(...bytes.slice(0, 6))).toBe('GIF89a');
  let o = 13;
  if (bytes[10] & 0x80) o += 3 * 2 ** ((bytes[10] & 7) + 1);
  const skipSubBlocks = () => {
    while (bytes[o] !== 0) o += bytes[o] + 1;
    o++;
  };
  let frames = 0;
  for (;;) {
    const tag = bytes[o++];
    if (tag === 0x3b) break;
    if (tag === 0x21) {
      o++;
      skipSubBlocks();
    } else if (tag === 0x2c) {
      const packed = bytes[o + 8];
      o += 9;
      if (packed & 0x80) o += 3 * 2 ** ((packed & 7) + 1);
      o++;
      skipSubBlocks();
      frames++;
    } else throw new Error(`unexpected GIF block 0x${tag.toString(16)} at ${o - 1}`);
  }
  return { width: u16(6), height: u16(8), frames };
}

const pngSize = (png: Uint8Array) => {
  const v = new DataView(png.buffer, png.byteOffset);
  return { width: v.getUint32(16), height: v.getUint32(20) };
};

describe('rendering', () => {
  it('PNG: same bytes twice, size = SVG size × scale, stable ink coverage', async () => {
    const data = headBoundaries('cosface', { spaces: ['angle'], resolution: 41 });
    const svg = await renderSvg(boundaryChart(data, ['angle'], 200));
    expect(await renderSvg(boundaryChart(data, ['angle'], 200))).toBe(svg);
    const a = svgToPng(svg, { scale: 2 });
    const b = svgToPng(svg, { scale: 2 });
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
    expect([...a.slice(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    const w = Number(/width="(\d+)"/.exec(svg)![1]);
    const h = Number(/height="(\d+)"/.exec(svg)![1]);
    expect(pngSize(a)).toEqual({ width: 2 * w, height: 2 * h });
    // Ink: share of pixels that are not white. The shaded region alone covers about a third of a
    // 200×200 plot, so a sensible chart lies well inside (0.1, 0.6).
    const ink = (img: { pixels: Uint8Array }) => {
      let n = 0;
      for (let i = 0; i < img.pixels.length; i += 4)
        if (img.pixels[i] + img.pixels[i + 1] + img.pixels[i + 2] < 750) n++;
      return n / (img.pixels.length / 4);
    };
    const first = ink(svgToRgba(svg, { scale: 2 }));
    expect(first).toBeGreaterThan(0.1);
    expect(first).toBeLessThan(0.6);
    expect(ink(svgToRgba(svg, { scale: 2 }))).toBe(first);
  });

  it('GIF: one frame per epoch snapshot, frames share one size', async () => {
    const run = join(dir, 'run-gif');
    const files = [0, 1, 2].map((epoch) =>
      writeEmbeddingSnapshot(run, {
        epoch,
        labels: [0, 1, 2, 0, 1, 2],
        embeddings: [
          [1, 0],
          [0, 1],
          [-1, -1],
          [2 + epoch, 0.1],
          [0.1, 2 + epoch],
          [-2, -1 - epoch],
        ],
      }),
    );
    const gif = await featuresGif(files, { delayMs: 100 });
    const info = gifInfo(gif);
    expect(info.frames).toBe(3);
    expect(info.width).toBeGreaterThan(300);
    expect(info.height).toBeGreaterThan(300);
  });
});

async function plot(args: string[]): Promise<string> {
  let out = '';
  const program = new Command().exitOverride();
  registerPlot(program, { write: (text) => (out += text) });
  await program.parseAsync(['node', 'faceverloss', 'plot', ...args]);
  return out;
}

async function rejection(args: string[]): Promise<InvalidArgumentError> {
  const err = await plot(args).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, args.join(' ')).toBeInstanceOf(InvalidArgumentError);
  return err as InvalidArgumentError;
}

describe('faceverloss plot', () => {
  it('boundary writes an SVG with the head’s caption', async () => {
    const out = join(dir, 'arc.svg');
    expect(
      await plot(['boundary', '--head', 'arcface', '--space', 'angle', '--resolution', '21', '--out', out]),
    ).toBe(`wrote ${out}\n`);
    const svg = readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('cos(θy');
  });

  it('bad input names the argument', async () => {
    const out = join(dir, 'x.svg');
    // A plain file where a folder would have to be: the path cannot be written.
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, '');
    expect((await rejection(['boundary', '--head', 'nope', '--out', out])).argument).toBe('--head');
    expect(
      (await rejection(['boundary', '--head', 'arcface', '--param', 'margin', '--out', out])).argument,
    ).toBe('--param');
    expect(
      (await rejection(['boundary', '--head', 'arcface', '--param', 'margin=9', '--out', out])).argument,
    ).toBe('arcface.margin');
    expect((await rejection(['boundary', '--head', 'arcface', '--out', join(dir, 'x.jpg')])).argument).toBe(
      '--out',
    );
    expect(
      (
        await rejection([
          'boundary',
          '--head',
          'arcface',
          '--resolution',
          '21',
          '--out',
          join(blocker, 'sub', 'a.svg'),
        ])
      ).argument,
    ).toBe('--out');
    expect(
      (await rejection(['boundary', '--head', 'arcface', '--space', 'polar', '--out', out])).argument,
    ).toBe('--space');
    expect((await rejection(['features', join(dir, 'missing'), '--out', out])).argument).toBe('source');
    expect((await rejection(['features', dir, '--animate', '--out', out])).argument).toBe('--out');
  });
});
