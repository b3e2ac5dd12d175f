/**
 * Training on an insightface RecordIO file end to end: a tiny real `.rec` (identity records included)
 * is split per identity exactly like the same images as a folder, trains through `train()` and through
 * the `train` command, and leaves a run folder whose split names the file.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { writeInsightfaceRecordIO } from '../../src/data/recordio/writer.js';
import { openRunData, parseTrainConfig, train } from '../../src/train/index.js';
import { readMetrics } from '../../src/viz/metrics-file.js';

/**
 * Images per identity: four with four held out each (24 same-identity pairs, enough for the 10-fold
 * held-out verification at the end of an epoch) and one with fewer images than the training split takes.
 */
const SIZES = [8, 8, 8, 8, 3];
const SIDE = 32;

let dir: string;
let rec: string;
let folder: string;

/** A 32×32 RGB PNG: a colour per identity plus seeded noise per image. */
async function image(identity: number, n: number): Promise<Uint8Array> {
  const pixels = new Uint8Array(SIDE * SIDE * 3);
  let state = (identity * 7919 + n * 104729 + 1) >>> 0;
  for (let i = 0; i < pixels.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const base = (identity * 53 + (i % 3) * 71) % 256;
    pixels[i] = (base + (state >>> 26)) % 256;
  }
  return sharp(Buffer.from(pixels), { raw: { width: SIDE, height: SIDE, channels: 3 } })
    .png()
    .toBuffer();
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'faceverloss-rec-train-'));
  const identities = await Promise.all(
    SIZES.map((n, k) => Promise.all(Array.from({ length: n }, (_, i) => image(k, i)))),
  );
  rec = join(dir, 'train.rec');
  await writeInsightfaceRecordIO(rec, join(dir, 'train.idx'), identities);
  folder = join(dir, 'folder');
  for (let k = 0; k < identities.length; k++) {
    const sub = join(folder, `id${k}`);
    await mkdir(sub, { recursive: true });
    for (let i = 0; i < identities[k].length; i++) await writeFile(join(sub, `${i}.png`), identities[k][i]);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = {
  head: 'cosface',
  params: { scale: 16, margin: 0.1 },
  backbone: 'lenetpp',
  imageSize: SIDE,
  width: 0.25,
  embeddingDim: 2,
  maxSteps: 3,
  batch: 4,
  epochs: 1,
  trainPerClass: 4,
  pairs: 20,
  logEvery: 1,
} as const;

describe('train --data file.rec', () => {
  it('splits a .rec per identity exactly as the same images in a folder', async () => {
    const fromRec = await openRunData({ ...parseTrainConfig({ ...CONFIG, data: rec }) });
    const fromFolder = await openRunData({ ...parseTrainConfig({ ...CONFIG, data: folder }) });
    try {
      for (const part of ['train', 'heldout'] as const) {
        expect(Array.from(fromRec[part].labels ?? [])).toEqual(Array.from(fromFolder[part].labels ?? []));
        expect(fromRec[part].numClasses).toBe(SIZES.length);
        // Same pixels at the same positions: the record order is the folder's file order.
        for (const i of [0, (fromRec[part].size ?? 1) - 1]) {
          const [a, b] = [await fromRec[part].read(i), await fromFolder[part].read(i)];
          expect(Array.from(a.pixels)).toEqual(Array.from(b.pixels));
        }
      }
      const perTrain = SIZES.map((n) => Math.min(n, CONFIG.trainPerClass));
      expect(fromRec.train.size).toBe(perTrain.reduce((a, b) => a + b, 0));
      // The identity with three images trains and has nothing held out, as in a folder.
      expect(fromRec.heldout.labels?.includes(4)).toBe(false);
      expect(fromRec.split).toContain(rec);
      expect(fromRec.split).toMatch(/insightface RecordIO, 35 images of 5 identities/);
      expect(fromRec.split).toMatch(/record key order/);
    } finally {
      await fromRec.close();
      await fromFolder.close();
    }
  });

  it('train() finishes on a .rec and writes metrics, checkpoint and config.json', async () => {
    const out = join(dir, 'run');
    const result = await train(parseTrainConfig({ ...CONFIG, data: rec }), { out, pictures: false });
    expect(result.steps).toBe(3);
    const losses = readMetrics(join(out, 'metrics.jsonl'))
      .map((r) => r.loss)
      .filter((l) => l !== undefined);
    expect(losses.length).toBe(3);
    for (const loss of losses) expect(Number.isFinite(loss)).toBe(true);
    for (const f of ['config.json', 'checkpoint/model.json', 'checkpoint/weights.bin']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(saved.config.data).toBe(rec);
    expect(saved.split).toContain(rec);
    expect(saved.split).toMatch(/insightface RecordIO/);
  }, 60_000);

  it('the train command does the same', async () => {
    const out = join(dir, 'cli');
    let output = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output += String(chunk);
      return true;
    });
    try {
      process.exitCode = 0;
      await main([
        'node',
        'faceverloss',
        'train',
        '--head',
        'cosface',
        '--param',
        'scale=16',
        '--param',
        'margin=0.1',
        '--data',
        rec,
        '--backbone',
        'lenetpp',
        '--image-size',
        String(SIDE),
        '--width',
        '0.25',
        '--embedding-dim',
        '2',
        '--max-steps',
        '3',
        '--batch',
        '4',
        '--epochs',
        '1',
        '--train-per-class',
        '4',
        '--pairs',
        '20',
        '--backend',
        'cpu',
        '--out',
        out,
      ]);
    } finally {
      spy.mockRestore();
    }
    expect(process.exitCode ?? 0).toBe(0);
    expect(output).toContain(`split: ${rec}`);
    const losses = readMetrics(join(out, 'metrics.jsonl'))
      .map((r) => r.loss)
      .filter((l) => l !== undefined);
    expect(losses.length).toBeGreaterThan(0);
    for (const loss of losses) expect(Number.isFinite(loss)).toBe(true);
    expect(existsSync(join(out, 'checkpoint', 'model.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).split).toContain(rec);
  }, 60_000);
});

describe('a split that leaves too few held-out images', () => {
  it('is refused before training, naming --train-per-class, and leaves no run folder', async () => {
    // Seven of eight images of each identity train: one held-out image per identity, no same pair.
    const out = join(dir, 'too-few');
    const config = parseTrainConfig({ ...CONFIG, data: rec, trainPerClass: 7 });
    await expect(train(config, { out })).rejects.toThrow(/--train-per-class.*at least 10 balanced/);
    expect(existsSync(out)).toBe(false);
  }, 30_000);
});
