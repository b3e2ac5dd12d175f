/** The SVG export: a picture drawn into the recording context comes out as vectors at the right places. */
import { describe, expect, it } from 'vitest';
import { drawUnavailable } from '../../web/src/plot.js';
import { drawToSvg } from '../../web/src/svg-context.js';
import { drawSeries } from '../../web/src/train/draw-compare.js';

describe('SVG export', () => {
  it('draws a chart as paths and text, in CSS pixels', () => {
    const svg = drawToSvg(400, 250, 'loss <curves>', (canvas) =>
      drawSeries(
        canvas,
        [
          {
            name: 'a',
            colour: '#0b3d91',
            points: [
              [0, 0],
              [10, 1],
            ],
          },
        ],
        { x: 'step', y: 'loss' },
        [0, 1],
      ),
    );
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="400" height="250"/);
    expect(svg).toContain('<title>loss &lt;curves&gt;</title>');
    // Frame: left 62, top 12, width 400 − 62 − 18 = 320, height 250 − 48 = 202. The series runs from
    // (0, 0) at the bottom-left corner to (10, 1) at the top-right one.
    expect(svg).toContain('<path d="M62 214L382 12" fill="none" stroke="#0b3d91" stroke-width="2"/>');
    expect(svg).toContain('>step</text>');
    expect(svg).toContain('>loss</text>');
    // The curve is clipped to the frame; every opened group is closed.
    expect(svg).toContain('<clipPath id="clip0">');
    expect((svg.match(/<g /g) ?? []).length).toBe((svg.match(/<\/g>/g) ?? []).length);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('rotates the y label', () => {
    const svg = drawToSvg(300, 200, 't', (canvas) => drawSeries(canvas, [], { x: 'x', y: 'why' }));
    const label = svg.split('\n').find((l) => l.includes('>why</text>'));
    // translate(11, top + height/2 = 12 + 76) then rotate(−90°): matrix(0 −1 1 0 11 88).
    expect(label).toContain('transform="matrix(0 -1 1 0 11 88)"');
  });

  it('writes the reason of an unavailable plot as text on grey', () => {
    const svg = drawToSvg(300, 300, 't', (canvas) =>
      drawUnavailable(canvas, 'Invalid setting: upperNorm must exceed lowerNorm'),
    );
    expect(svg).toContain('fill="#d9d9d9"');
    expect(svg).toContain('Invalid setting:');
  });
});
