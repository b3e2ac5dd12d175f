/**
 * A recording stand-in for the part of CanvasRenderingContext2D the page's pictures use, writing SVG:
 * paths, rectangles, circles, text, dashes, rectangular clips, translate/rotate, and images (the
 * shaded decision plane, which is a raster by nature, stays an embedded image). Drawing a picture into
 * it gives a vector file of the same picture.
 */

type Matrix = [number, number, number, number, number, number];

const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0];

function multiply(m: Matrix, n: Matrix): Matrix {
  return [
    m[0] * n[0] + m[2] * n[1],
    m[1] * n[0] + m[3] * n[1],
    m[0] * n[2] + m[2] * n[3],
    m[1] * n[2] + m[3] * n[3],
    m[0] * n[4] + m[2] * n[5] + m[4],
    m[1] * n[4] + m[3] * n[5] + m[5],
  ];
}

const esc = (t: string) =>
  t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: number) => String(Math.round(v * 100) / 100);

interface Style {
  fillStyle: string;
  strokeStyle: string;
  lineWidth: number;
  font: string;
  textAlign: CanvasTextAlign;
  textBaseline: CanvasTextBaseline;
  dash: number[];
  matrix: Matrix;
  /** Groups opened (clips) since the matching save. */
  groups: number;
}

/** Records drawing calls as SVG elements. */
export class SvgContext {
  fillStyle = '#000';
  strokeStyle = '#000';
  lineWidth = 1;
  font = '10px sans-serif';
  textAlign: CanvasTextAlign = 'start';
  textBaseline: CanvasTextBaseline = 'alphabetic';
  imageSmoothingEnabled = true;
  private dash: number[] = [];
  private matrix: Matrix = IDENTITY;
  private path: string[] = [];
  private readonly body: string[] = [];
  private readonly stack: Style[] = [];
  private openGroups = 0;
  private clipCount = 0;
  /** A real 2-D context for text widths (absent outside a browser, where widths are estimated). */
  private readonly measurer: CanvasRenderingContext2D | null =
    typeof document === 'undefined' ? null : document.createElement('canvas').getContext('2d');

  private point(x: number, y: number): string {
    const m = this.matrix;
    return `${num(m[0] * x + m[2] * y + m[4])} ${num(m[1] * x + m[3] * y + m[5])}`;
  }

  private dashAttr(): string {
    return this.dash.length > 0 ? ` stroke-dasharray="${this.dash.join(' ')}"` : '';
  }

  setTransform(): void {
    // The device-pixel scaling of a real canvas: SVG user units are CSS pixels already.
    this.matrix = IDENTITY;
  }
  translate(x: number, y: number): void {
    this.matrix = multiply(this.matrix, [1, 0, 0, 1, x, y]);
  }
  rotate(a: number): void {
    this.matrix = multiply(this.matrix, [Math.cos(a), Math.sin(a), -Math.sin(a), Math.cos(a), 0, 0]);
  }
  save(): void {
    this.stack.push({
      fillStyle: this.fillStyle,
      strokeStyle: this.strokeStyle,
      lineWidth: this.lineWidth,
      font: this.font,
      textAlign: this.textAlign,
      textBaseline: this.textBaseline,
      dash: this.dash,
      matrix: this.matrix,
      groups: this.openGroups,
    });
    this.openGroups = 0;
  }
  restore(): void {
    const s = this.stack.pop();
    if (!s) return;
    for (; this.openGroups > 0; this.openGroups--) this.body.push('</g>');
    Object.assign(this, { ...s, openGroups: s.groups });
  }
  setLineDash(d: number[]): void {
    this.dash = [...d];
  }
  clearRect(): void {}
  beginPath(): void {
    this.path = [];
  }
  moveTo(x: number, y: number): void {
    this.path.push(`M${this.point(x, y)}`);
  }
  lineTo(x: number, y: number): void {
    this.path.push(`L${this.point(x, y)}`);
  }
  rect(x: number, y: number, w: number, h: number): void {
    this.path.push(
      `M${this.point(x, y)}L${this.point(x + w, y)}L${this.point(x + w, y + h)}L${this.point(x, y + h)}Z`,
    );
  }
  arc(x: number, y: number, r: number, a0: number, a1: number): void {
    const steps = Math.max(8, Math.ceil((Math.abs(a1 - a0) * r) / 3));
    for (let k = 0; k <= steps; k++) {
      const a = a0 + ((a1 - a0) * k) / steps;
      this.path.push(
        `${k === 0 && this.path.length === 0 ? 'M' : 'L'}${this.point(x + r * Math.cos(a), y + r * Math.sin(a))}`,
      );
    }
  }
  stroke(): void {
    if (this.path.length === 0) return;
    this.body.push(
      `<path d="${this.path.join('')}" fill="none" stroke="${esc(this.strokeStyle)}" stroke-width="${this.lineWidth}"${this.dashAttr()}/>`,
    );
  }
  fill(): void {
    if (this.path.length === 0) return;
    this.body.push(`<path d="${this.path.join('')}" fill="${esc(this.fillStyle)}"/>`);
  }
  clip(): void {
    const id = `clip${this.clipCount++}`;
    this.body.push(
      `<clipPath id="${id}"><path d="${this.path.join('')}"/></clipPath><g clip-path="url(#${id})">`,
    );
    this.openGroups++;
  }
  fillRect(x: number, y: number, w: number, h: number): void {
    this.beginPath();
    this.rect(x, y, w, h);
    this.fill();
  }
  strokeRect(x: number, y: number, w: number, h: number): void {
    this.beginPath();
    this.rect(x, y, w, h);
    this.stroke();
  }
  measureText(text: string): TextMetrics {
    if (!this.measurer)
      return { width: 0.6 * text.length * (Number.parseFloat(this.font) || 10) } as TextMetrics;
    this.measurer.font = this.font;
    return this.measurer.measureText(text);
  }
  fillText(text: string, x: number, y: number): void {
    const anchor =
      this.textAlign === 'center'
        ? 'middle'
        : this.textAlign === 'right' || this.textAlign === 'end'
          ? 'end'
          : 'start';
    const baseline =
      this.textBaseline === 'top' ? 'hanging' : this.textBaseline === 'middle' ? 'central' : 'alphabetic';
    const m = this.matrix;
    this.body.push(
      `<text transform="matrix(${m.map(num).join(' ')})" x="${num(x)}" y="${num(y)}" style="font: ${esc(this.font)}" fill="${esc(this.fillStyle)}" text-anchor="${anchor}" dominant-baseline="${baseline}">${esc(text)}</text>`,
    );
  }
  drawImage(image: HTMLCanvasElement, x: number, y: number, w: number, h: number): void {
    const m = this.matrix;
    const smooth = this.imageSmoothingEnabled ? '' : ' style="image-rendering: pixelated"';
    this.body.push(
      `<image transform="matrix(${m.map(num).join(' ')})" x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" preserveAspectRatio="none"${smooth} href="${image.toDataURL('image/png')}"/>`,
    );
  }

  /** The SVG document of everything drawn, `width` × `height` CSS pixels. */
  document(width: number, height: number, title: string): string {
    const close = '</g>'.repeat(this.openGroups + this.stack.reduce((n, s) => n + s.groups, 0));
    return [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
      `<title>${esc(title)}</title>`,
      `<rect width="${width}" height="${height}" fill="#fff"/>`,
      ...this.body,
      close,
      '</svg>',
    ].join('\n');
  }
}

/**
 * Run `draw` against a stand-in canvas of `width` × `height` CSS pixels and return the SVG it drew.
 * `draw` is one of the page's picture functions, which take a canvas and draw through its 2-D context.
 */
export function drawToSvg(
  width: number,
  height: number,
  title: string,
  draw: (canvas: HTMLCanvasElement) => void,
): string {
  const ctx = new SvgContext();
  const canvas = {
    clientWidth: width,
    clientHeight: height,
    width,
    height,
    getAttribute: () => null,
    getContext: () => ctx,
  } as unknown as HTMLCanvasElement;
  draw(canvas);
  return ctx.document(width, height, title);
}
