import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImageFolder, scanImageFolder } from '../../src/data/image-folder.js';
import { CorruptFileError, InvalidArgumentError } from '../../src/errors.js';

/** A height×width×3 image whose pixel (y, x, c) is `base + 10·y + 2·x + c` (distinct, < 256). */
function pattern(height: number, width: number, base: number): Uint8Array {
  const out = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = base + 10 * y + 2 * x + c;
  return out;
}

const encode = (pixels: Uint8Array, height: number, width: number, channels: 1 | 3) =>
  sharp(Buffer.from(pixels), { raw: { width, height, channels } });

let dir: string;
let pngBytes: Buffer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvl-folder-'));
  for (const d of ['bob', 'alice', 'carol', '.hidden']) await mkdir(join(dir, d));
  await encode(pattern(4, 4, 0), 4, 4, 3)
    .png()
    .toFile(join(dir, 'alice', 'x.png'));
  await encode(pattern(4, 4, 100), 4, 4, 3)
    .webp({ lossless: true })
    .toFile(join(dir, 'alice', 'y.WEBP'));
  await writeFile(join(dir, 'alice', 'notes.txt'), 'not an image');
  // 4 high × 6 wide: a centre crop to 4×4 keeps columns 1…4.
  pngBytes = await encode(pattern(4, 6, 50), 4, 6, 3)
    .png()
    .toBuffer();
  await writeFile(join(dir, 'bob', 'a.png'), pngBytes);
  await writeFile(join(dir, 'bob', 'b.png'), Buffer.from('definitely not a png'));
  await writeFile(join(dir, 'bob', 'c.png'), pngBytes.subarray(0, pngBytes.length >> 1));
  await writeFile(join(dir, '.hidden', 'z.png'), pngBytes);
  await writeFile(join(dir, 'top-level.png'), pngBytes);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('scanImageFolder', () => {
  it('sorts identities by name into class indices and ignores non-images', async () => {
    const index = await scanImageFolder(dir);
    // carol has no image: not a class (it would have weights and never a sample), but reported.
    expect(index.classNames).toEqual(['alice', 'bob']);
    expect(index.skipped).toEqual({ empty: ['carol'], linked: [] });
    expect(index.files).toEqual(['alice/x.png', 'alice/y.WEBP', 'bob/a.png', 'bob/b.png', 'bob/c.png']);
    expect(Array.from(index.labels)).toEqual([0, 0, 1, 1, 1]);
  });

  it('raises typed errors for a missing folder and a folder without identities', async () => {
    await expect(scanImageFolder(join(dir, 'nope'))).rejects.toThrow(CorruptFileError);
    await expect(scanImageFolder(join(dir, 'carol'))).rejects.toThrow(InvalidArgumentError);
  });
});

describe('scanImageFolder and symbolic links', () => {
  it('does not follow a link to a folder, inside or outside the data root', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fvl-folder-links-'));
    try {
      const data = join(root, 'data');
      await mkdir(join(data, 'alice'), { recursive: true });
      await mkdir(join(root, 'elsewhere'));
      const png = await encode(pattern(4, 4, 0), 4, 4, 3)
        .png()
        .toBuffer();
      await writeFile(join(data, 'alice', 'a.png'), png);
      await writeFile(join(root, 'elsewhere', 'secret.png'), png);
      await symlink(join(root, 'elsewhere'), join(data, 'outside'));
      await symlink(join(data, 'alice'), join(data, 'alias'));
      const index = await scanImageFolder(data);
      expect(index.classNames).toEqual(['alice']);
      expect(index.files).toEqual(['alice/a.png']);
      expect(index.skipped).toEqual({ empty: [], linked: ['alias', 'outside'] });
      // Only links left (alias now dangles): no identity at all, and the message says why.
      await rm(join(data, 'alice'), { recursive: true });
      await expect(scanImageFolder(data)).rejects.toThrow(
        /symbolic links to folders are not followed: outside/,
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('openImageFolder', () => {
  const shape = { height: 4, width: 4, channels: 3 } as const;

  it('decodes PNG and lossless WebP to the exact pixels written', async () => {
    const ds = await openImageFolder(dir, { shape });
    expect(ds.numClasses).toBe(2);
    expect(ds.size).toBe(5);
    const x = await ds.read(0);
    expect(x).toMatchObject({ label: 0, id: 'alice/x.png' });
    expect(Array.from(x.pixels)).toEqual(Array.from(pattern(4, 4, 0)));
    expect(Array.from((await ds.read(1)).pixels)).toEqual(Array.from(pattern(4, 4, 100)));
  });

  it('centre-crops a wider image (cover)', async () => {
    const ds = await openImageFolder(dir, { shape });
    const a = await ds.read(2);
    const full = pattern(4, 6, 50);
    const expected: number[] = [];
    for (let y = 0; y < 4; y++)
      for (let x = 1; x <= 4; x++) for (let c = 0; c < 3; c++) expected.push(full[(y * 6 + x) * 3 + c]);
    expect(Array.from(a.pixels)).toEqual(expected);
  });

  it('converts to one grey channel', async () => {
    const ds = await openImageFolder(dir, { shape: { height: 4, width: 4, channels: 1 } });
    const x = await ds.read(0);
    expect(x.pixels.length).toBe(16);
    // Pixel (0, 0) is RGB (0, 1, 2): any luminance weighting gives a value within [0, 2].
    expect(x.pixels[0]).toBeGreaterThanOrEqual(0);
    expect(x.pixels[0]).toBeLessThanOrEqual(2);
    // Pixel (3, 3) is RGB (36, 37, 38).
    expect(Math.abs(x.pixels[15] - 37)).toBeLessThanOrEqual(1);
  });

  it('names the unreadable file in a CorruptFileError', async () => {
    const ds = await openImageFolder(dir, { shape });
    const garbage = await ds.read(3).catch((e) => e);
    expect(garbage).toBeInstanceOf(CorruptFileError);
    expect(garbage.path).toBe(join(dir, 'bob', 'b.png'));
    const truncated = await ds.read(4).catch((e) => e);
    expect(truncated).toBeInstanceOf(CorruptFileError);
    expect(truncated.path).toBe(join(dir, 'bob', 'c.png'));
  });

  it('streams batches, failing on corrupt files or skipping and counting them', async () => {
    const ds = await openImageFolder(dir, { shape });
    await expect(
      (async () => {
        for await (const _ of ds.batches({ batchSize: 2, shuffle: false })) {
        }
      })(),
    ).rejects.toThrow(CorruptFileError);
    const stream = ds.batches({ batchSize: 2, shuffle: false, onCorrupt: 'skip' });
    const ids: string[] = [];
    for await (const batch of stream) ids.push(...batch.ids);
    expect(ids).toEqual(['alice/x.png', 'alice/y.WEBP', 'bob/a.png']);
    expect(stream.skipped.map((s) => s.id)).toEqual([join(dir, 'bob', 'b.png'), join(dir, 'bob', 'c.png')]);
  });

  it('rejects a bad shape', async () => {
    await expect(openImageFolder(dir, { shape: { height: 0, width: 4, channels: 3 } })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(openImageFolder(dir, { shape: { height: 4, width: 4, channels: 2 as 3 } })).rejects.toThrow(
      InvalidArgumentError,
    );
  });
});
