/**
 * The face backbones train end to end on an image folder: two steps leave finite losses and moved
 * weights, and the saved run embeds the held-out images (never seen in training) to finite vectors.
 * Inputs are 16×16, the smallest side at which MobileFaceNet's four stride-2 stages still end on a
 * 1×1 map for its global depthwise convolution (resnet-lite pools twice, to 4×4).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/node/index.js';
import { buildModel, loadRunEmbedder, parseTrainConfig, train } from '../../src/train/index.js';
import { readMetrics } from '../../src/viz/metrics-file.js';

const SIDE = 16;
const IDENTITIES = 4;
const PER_IDENTITY = 6;
const TRAIN_PER_CLASS = 2;

let dir: string;
let folder: string;

/** A 16×16 RGB PNG: a colour per identity plus seeded noise per image. */
async function image(identity: number, n: number): Promise<Uint8Array> {
  const pixels = new Uint8Array(SIDE * SIDE * 3);
  let state = (identity * 7919 + n * 104729 + 1) >>> 0;
  for (let i = 0; i < pixels.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    pixels[i] = ((identity * 61 + (i % 3) * 83) % 256) ^ (state >>> 27);
  }
  return sharp(Buffer.from(pixels), { raw: { width: SIDE, height: SIDE, channels: 3 } })
    .png()
    .toBuffer();
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'faceverloss-backbones-'));
  folder = join(dir, 'faces');
  for (let k = 0; k < IDENTITIES; k++) {
    await mkdir(join(folder, `id${k}`), { recursive: true });
    for (let i = 0; i < PER_IDENTITY; i++) {
      await writeFile(join(folder, `id${k}`, `${i}.png`), await image(k, i));
    }
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Largest absolute difference between two weight lists of the same architecture, per tensor. */
function weightDiffs(a: tf.Tensor[], b: tf.Tensor[]): number[] {
  expect(a.map((w) => w.shape)).toEqual(b.map((w) => w.shape));
  return a.map((w, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(w, b[i]))).dataSync()[0]));
}

describe.each(['mobilefacenet', 'resnet-lite'] as const)('%s on a tiny image folder', (backbone) => {
  it('trains two steps with finite losses, moves the weights and embeds held-out images', async () => {
    const config = parseTrainConfig({
      head: 'arcface',
      params: { scale: 16, margin: 0.2 },
      data: folder,
      backbone,
      imageSize: SIDE,
      width: 0.25,
      embeddingDim: 8,
      batch: 4,
      epochs: 1,
      maxSteps: 2,
      trainPerClass: TRAIN_PER_CLASS,
      weightDecay: 0,
      lr: 0.05,
      pairs: 40,
      logEvery: 1,
    });
    const out = join(dir, backbone);
    const result = await train(config, { out, pictures: false });
    expect(result.steps).toBe(2);
    const losses = readMetrics(join(out, 'metrics.jsonl'))
      .map((r) => r.loss)
      .filter((l) => l !== undefined);
    expect(losses.length).toBe(2);
    for (const loss of losses) expect(Number.isFinite(loss)).toBe(true);

    // The seeded initial weights, built twice to show they are reproducible, against the checkpoint.
    const shape: [number, number, number] = [SIDE, SIDE, 3];
    const [first, second] = [buildModel(config, shape, IDENTITIES), buildModel(config, shape, IDENTITIES)];
    const trained = await loadModel(join(out, 'checkpoint'));
    expect(Math.max(...weightDiffs(first.model.getWeights(), second.model.getWeights()))).toBe(0);
    const kernels = first.model.trainableWeights
      .map((w, i) => ({ rank: w.shape.length, i }))
      .filter((w) => w.rank === 4)
      .map((w) => w.i);
    expect(kernels.length).toBeGreaterThan(4);
    const initial = first.model.trainableWeights.map((w) => w.read());
    const after = trained.trainableWeights.map((w) => w.read());
    const diffs = weightDiffs(initial, after);
    // Every convolution kernel received a gradient step (weight decay is off, so only gradients move them).
    for (const i of kernels) expect(diffs[i], first.model.trainableWeights[i].name).toBeGreaterThan(0);
    for (const d of diffs) expect(Number.isFinite(d)).toBe(true);
    for (const m of [first.model, second.model, trained]) m.dispose();

    // Held-out images: the files after the first TRAIN_PER_CLASS of each identity, in file order.
    const heldout: Uint8Array[] = [];
    for (let k = 0; k < IDENTITIES; k++) {
      const files = readdirSync(join(folder, `id${k}`)).sort();
      for (const f of files.slice(TRAIN_PER_CLASS)) heldout.push(readFileSync(join(folder, `id${k}`, f)));
    }
    const embed = await loadRunEmbedder(out);
    for (const flip of [false, true]) {
      const rows = await embed(heldout, { flip });
      expect(rows.length).toBe(heldout.length);
      for (const row of rows) {
        expect(row.length).toBe(8);
        expect(Array.from(row).every(Number.isFinite)).toBe(true);
        expect(Math.hypot(...Array.from(row))).toBeGreaterThan(0);
      }
    }
  }, 90_000);
});
