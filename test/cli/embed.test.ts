/**
 * `embed` reproduces PyTorch: the fixtures' input through each `.pth` (zip float32, legacy float16,
 * zip bfloat16) and through the `.onnx` export gives the embeddings PyTorch computed, within
 * 5e-4 · max|ref|. The larger fixture of the shared interop folder is checked too where it exists.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy, readNpy } from '../../src/interop/index.js';
import { runCliForErrors } from '../train/helpers.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/interop');
const SHARED = join(import.meta.dirname, '../../../shared/interop');
const dir = mkdtempSync(join(tmpdir(), 'faceverloss-embed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** max |got − ref| / max |ref|. */
function relativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(got.length).toBe(ref.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return worst / scale;
}

async function embed(model: string, input: string, out: string): Promise<void> {
  const { exitCode, errors } = await runCliForErrors([
    'embed',
    '--model',
    model,
    '--input',
    input,
    '--out',
    out,
  ]);
  expect(errors).toBe('');
  expect(exitCode).toBe(0);
}

describe('embed reproduces PyTorch', () => {
  const input = join(FIXTURES, 'input.npy');
  it.each([
    ['iresnet-1111-w8.pth', 'expected-1111-w8.npy'],
    ['iresnet-2111-w8-f16-legacy.pth', 'expected-2111-w8-f16-legacy.npy'],
    ['iresnet-1211-w8-bf16.pth', 'expected-1211-w8-bf16.npy'],
    ['iresnet-1111-w8.onnx', 'expected-1111-w8.npy'],
  ])(
    '%s',
    async (model, expected) => {
      const out = join(dir, `${model}.npy`);
      await embed(join(FIXTURES, model), input, out);
      const got = readNpy(out);
      const ref = readNpy(join(FIXTURES, expected));
      expect(got.shape).toEqual(ref.shape);
      expect(relativeError(got.data as Float32Array, ref.data as Float32Array)).toBeLessThanOrEqual(5e-4);
    },
    60_000,
  );

  it('reads NHWC input as well and writes CSV rows named by index', async () => {
    const nchw = readNpy(input);
    const [n, c, h, w] = nchw.shape;
    const src = nchw.data as Float32Array;
    const nhwc = new Float32Array(src.length);
    for (let b = 0; b < n; b++)
      for (let k = 0; k < c; k++)
        for (let p = 0; p < h * w; p++) nhwc[(b * h * w + p) * c + k] = src[(b * c + k) * h * w + p];
    const path = join(dir, 'nhwc.npy');
    writeFileSync(path, encodeNpy(nhwc, [n, h, w, c]));
    const out = join(dir, 'nhwc.csv');
    await embed(join(FIXTURES, 'iresnet-1111-w8.pth'), path, out);
    const rows = readFileSync(out, 'utf8').trim().split('\n');
    expect(rows.map((r) => r.split(',')[0])).toEqual(['0', '1']);
    const values = rows.flatMap((r) => r.split(',').slice(1).map(Number));
    const ref = readNpy(join(FIXTURES, 'expected-1111-w8.npy')).data as Float32Array;
    expect(relativeError(values, ref)).toBeLessThanOrEqual(5e-4);
  }, 60_000);

  it('refuses an input of another size with a typed error naming --input', async () => {
    const path = join(dir, 'small.npy');
    writeFileSync(path, encodeNpy(new Float32Array(2 * 3 * 56 * 56), [2, 3, 56, 56]));
    const { exitCode, errors } = await runCliForErrors([
      'embed',
      '--model',
      join(FIXTURES, 'iresnet-1111-w8.pth'),
      '--input',
      path,
      '--out',
      join(dir, 'never.npy'),
    ]);
    expect(exitCode).toBe(2);
    expect(errors).toMatch(/shape mismatch for '--input': expected a float array N×3×112×112 \(NCHW\)/);
    expect(existsSync(join(dir, 'never.npy'))).toBe(false);
  }, 60_000);

  const shared = join(SHARED, 'iresnet-1111-f64.json');
  it.skipIf(!existsSync(shared))(
    'the shared 64-feature fixture, through .pth and .onnx',
    async () => {
      const fixture = JSON.parse(readFileSync(shared, 'utf8'));
      const path = join(dir, 'shared-input.npy');
      writeFileSync(path, encodeNpy(Float32Array.from(fixture.input.data), fixture.input.shape));
      for (const model of ['iresnet-1111-f64.pth', 'iresnet-1111-f64.onnx']) {
        const out = join(dir, `${model}.npy`);
        await embed(join(SHARED, model), path, out);
        const got = readNpy(out);
        expect(got.shape).toEqual(fixture.embeddings.shape);
        expect(relativeError(got.data as Float32Array, fixture.embeddings.data), model).toBeLessThanOrEqual(
          5e-4,
        );
      }
    },
    120_000,
  );
});
