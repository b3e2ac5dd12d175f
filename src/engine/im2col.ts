/**
 * Patch gathering for convolutions as matrix products (NHWC, filters `[fH, fW, inC, outC]`).
 *
 * A 2-D convolution over a batch is one product `Y = P · W`: each row of `P` holds the receptive field of
 * one output pixel (batch-major, then output row, then output column), laid out `(fy, fx, c)` like a
 * flattened filter, so `W` is the filter read as a `(fH·fW·inC) × outC` matrix and `Y` is the NHWC output.
 * {@link im2col} builds rows of `P` (zeros where the field hangs over the padding); {@link col2im} is its
 * adjoint, adding rows of a patch-gradient matrix back into an NHWC input gradient.
 */

/** Sizes of one NHWC convolution, as `backend_util.computeConv2DInfo` reports them. */
export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  fH: number;
  fW: number;
  strideH: number;
  strideW: number;
  dilH: number;
  dilW: number;
  /** Rows of implicit zeros above the input. */
  padTop: number;
  /** Columns of implicit zeros left of the input. */
  padLeft: number;
}

/** Length of one patch row: `fH · fW · inC`. */
export function patchSize(g: ConvGeometry): number {
  return g.fH * g.fW * g.inC;
}

/** Number of patch rows over the whole batch: `batch · outH · outW`. */
export function patchRows(g: ConvGeometry): number {
  return g.batch * g.outH * g.outW;
}

/**
 * Whether `P` is the input itself (1×1 filter, unit stride, no padding), so no gathering is needed.
 */
export function isPointwise(g: ConvGeometry): boolean {
  return (
    g.fH === 1 &&
    g.fW === 1 &&
    g.strideH === 1 &&
    g.strideW === 1 &&
    g.padTop === 0 &&
    g.padLeft === 0 &&
    g.outH === g.inH &&
    g.outW === g.inW
  );
}

/**
 * Where patch row `row` (one output pixel, batch-major) starts in the input: the row offset of its image
 * (`b·inH`) and the top-left input coordinates of its window, padding included.
 */
function patchOrigin(g: ConvGeometry, row: number): { image: number; y0: number; x0: number } {
  const perImage = g.outH * g.outW;
  const b = Math.floor(row / perImage);
  const pix = row - b * perImage;
  const oy = Math.floor(pix / g.outW);
  const ox = pix - oy * g.outW;
  return { image: b * g.inH, y0: oy * g.strideH - g.padTop, x0: ox * g.strideW - g.padLeft };
}

/**
 * Write patch rows `first … first + count − 1` of input `x` (NHWC) into `out` (row-major,
 * `count × patchSize`). Every element of those rows is written.
 */
export function im2col(
  g: ConvGeometry,
  x: Float32Array,
  first: number,
  count: number,
  out: Float32Array,
): void {
  const { inH, inW, inC, fH, fW, dilH, dilW } = g;
  const K = patchSize(g);
  for (let r = 0; r < count; r++) {
    const { image, y0, x0 } = patchOrigin(g, first + r);
    let o = r * K;
    for (let fy = 0; fy < fH; fy++) {
      const iy = y0 + fy * dilH;
      if (iy < 0 || iy >= inH) {
        out.fill(0, o, o + fW * inC);
        o += fW * inC;
        continue;
      }
      const line = (image + iy) * inW;
      for (let fx = 0; fx < fW; fx++) {
        const ix = x0 + fx * dilW;
        if (ix < 0 || ix >= inW) {
          out.fill(0, o, o + inC);
        } else {
          const src = (line + ix) * inC;
          // The channels of one input pixel are contiguous in NHWC: a block copy per tap pays off once
          // there are enough of them to outweigh making the view.
          if (inC >= 32) out.set(x.subarray(src, src + inC), o);
          else for (let c = 0; c < inC; c++) out[o + c] = x[src + c];
        }
        o += inC;
      }
    }
  }
}

/**
 * Add patch-gradient rows `first … first + count − 1` (`cols`, row-major `count × patchSize`) into the
 * NHWC input gradient `dx` at the positions {@link im2col} read them from. Taps over the padding are
 * dropped.
 */
export function col2im(
  g: ConvGeometry,
  cols: Float32Array,
  first: number,
  count: number,
  dx: Float32Array,
): void {
  const { inH, inW, inC, fH, fW, dilH, dilW } = g;
  const K = patchSize(g);
  for (let r = 0; r < count; r++) {
    const { image, y0, x0 } = patchOrigin(g, first + r);
    let o = r * K;
    for (let fy = 0; fy < fH; fy++) {
      const iy = y0 + fy * dilH;
      if (iy < 0 || iy >= inH) {
        o += fW * inC;
        continue;
      }
      const line = (image + iy) * inW;
      for (let fx = 0; fx < fW; fx++) {
        const ix = x0 + fx * dilW;
        if (ix >= 0 && ix < inW) {
          const dst = (line + ix) * inC;
          for (let c = 0; c < inC; c++) dx[dst + c] += cols[o + c];
        }
        o += inC;
      }
    }
  }
}
