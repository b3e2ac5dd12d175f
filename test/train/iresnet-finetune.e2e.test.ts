/**
 * Fine-tuning an insightface checkpoint: `init` with a `.pth` loads it into the run's IResNet (the
 * network then computes PyTorch's embeddings), a short run on a 112×112 image folder trains and
 * evaluates end to end, and `eval --model x.pth --bin` scores a verification set with flip TTA.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verificationBinBytes } from '../../examples/lib/verification-bin.js';
import { CheckpointMismatchError } from '../../src/errors.js';
import { readNpy } from '../../src/interop/index.js';
import { loadModel, useBestBackend } from '../../src/node/index.js';
import { buildModel, loadRunEmbedder, parseTrainConfig, train } from '../../src/train/index.js';
import { warmStart } from '../../src/train/warm-start.js';
import { readMetrics } from '../../src/viz/metrics-file.js';
import { runCliForErrors } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/interop');
const CHECKPOINT = join(FIXTURES, 'iresnet-1111-w8.pth');
const SIDE = 112;
const IDENTITIES = 4;
const PER_IDENTITY = 4;

let dir: string;
let folder: string;
const images: Uint8Array[] = [];

/** A 112×112 RGB PNG: a colour per identity plus seeded noise per image. */
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
  await useBestBackend();
  dir = mkdtempSync(join(tmpdir(), 'faceverloss-iresnet-'));
  folder = join(dir, 'faces');
  for (let k = 0; k < IDENTITIES; k++) {
    await mkdir(join(folder, `id${k}`), { recursive: true });
    for (let i = 0; i < PER_IDENTITY; i++) {
      const png = await image(k, i);
      images.push(png);
      await writeFile(join(folder, `id${k}`, `${i}.png`), png);
    }
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (overrides: Record<string, unknown> = {}) =>
  parseTrainConfig({
    head: 'arcface',
    params: { scale: 16, margin: 0.2 },
    data: folder,
    backbone: 'iresnet-1-1-1-1',
    width: 0.125,
    embeddingDim: 32,
    init: CHECKPOINT,
    imageSize: SIDE,
    batch: 4,
    epochs: 2,
    trainPerClass: 1,
    pairs: 10,
    weightDecay: 0,
    lr: 0.01,
    logEvery: 1,
    ...overrides,
  });

describe('IResNet from an insightface checkpoint', () => {
  it('init loads the checkpoint: the run starts from PyTorch’s network', () => {
    const { backbone, head, model } = buildModel(config(), [SIDE, SIDE, 3], IDENTITIES);
    expect(warmStart(CHECKPOINT, backbone, head)).toMatch(/iresnet-1-1-1-1, 8-channel stem, 32 features/);
    const input = readNpy(join(FIXTURES, 'input.npy'));
    const ref = readNpy(join(FIXTURES, 'expected-1111-w8.npy')).data as Float32Array;
    const got = tf.tidy(() => {
      const nchw = tf.tensor4d(input.data as Float32Array, input.shape as [number, number, number, number]);
      return (backbone.predict(tf.transpose(nchw, [0, 2, 3, 1])) as tf.Tensor).dataSync();
    });
    const scale = Math.max(...ref.map(Math.abs));
    expect(Math.max(...ref.map((r, i) => Math.abs(got[i] - r)))).toBeLessThanOrEqual(5e-4 * scale);
    model.dispose();
  });

  it('fine-tunes two steps with a margin head, evaluates, and keeps the features scale at 1', async () => {
    const out = join(dir, 'run');
    const lines: string[] = [];
    const result = await train(config(), { out, pictures: false, log: (l) => lines.push(l) });
    expect(lines.some((l) => l.startsWith(`init: backbone from ${CHECKPOINT}`))).toBe(true);
    expect(result.steps).toBe(2);
    const losses = readMetrics(join(out, 'metrics.jsonl'))
      .map((r) => r.loss)
      .filter((l) => l !== undefined);
    expect(losses).toHaveLength(2);
    for (const loss of losses) expect(Number.isFinite(loss)).toBe(true);
    const last = result.epochs[result.epochs.length - 1];
    expect(last.verificationAccuracy).toBeGreaterThanOrEqual(0);
    expect(last.verificationAccuracy).toBeLessThanOrEqual(1);
    const embed = await loadRunEmbedder(out);
    const rows = await embed(images.slice(0, 3), { flip: true });
    expect(rows.map((r) => r.length)).toEqual([32, 32, 32]);
    for (const row of rows) expect(Array.from(row).every(Number.isFinite)).toBe(true);
    // insightface freezes features.weight at 1: it reloads frozen and was not moved by training.
    const saved = readFileSync(join(out, 'checkpoint', 'model.json'), 'utf8');
    expect(saved).toContain('"trainable_gamma":false');
    const trained = await loadModel(join(out, 'checkpoint'));
    const gamma = trained.getLayer('features').weights.find((w) => w.name.includes('gamma'))!;
    expect(gamma.trainable).toBe(false);
    expect(Array.from(gamma.read().dataSync())).toEqual(new Array(32).fill(1));
    const conv = trained.getLayer('layer1.0.conv1').getWeights()[0];
    const before = buildModel(config(), [SIDE, SIDE, 3], IDENTITIES);
    warmStart(CHECKPOINT, before.backbone, before.head);
    const initial = before.backbone.getLayer('layer1.0.conv1').getWeights()[0];
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(conv, initial))).dataSync()[0])).toBeGreaterThan(0);
    before.model.dispose();
    trained.dispose();
  }, 120_000);

  it('refuses a checkpoint of another depth before touching the run folder, saying what it holds', async () => {
    const out = join(dir, 'wrong');
    let error: unknown;
    try {
      await train(config({ backbone: 'iresnet-2-1-1-1' }), { out, pictures: false });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CheckpointMismatchError);
    expect((error as Error).message).toMatch(
      /use --backbone iresnet-1-1-1-1 --embedding-dim 32 --image-size 112 --width 0\.125/,
    );
    expect((error as CheckpointMismatchError).missing).toContain('layer1.1.conv1');
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('eval --model x.pth|x.onnx --bin scores a verification set with flip TTA, both alike', async () => {
    const pairs = [
      [0, 1, true],
      [4, 5, true],
      [8, 10, true],
      [0, 4, false],
      [5, 9, false],
      [2, 14, false],
    ] as const;
    const bin = join(dir, 'faces.bin');
    writeFileSync(
      bin,
      verificationBinBytes(
        pairs.flatMap(([a, b]) => [images[a], images[b]]),
        pairs.map((p) => p[2]),
      ),
    );
    // The checkpoint and its ONNX export are one network: the same scores, so the same metrics.
    const reports: Record<string, number>[] = [];
    for (const model of [CHECKPOINT, join(FIXTURES, 'iresnet-1111-w8.onnx')]) {
      let out = '';
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((c: string | Uint8Array) => {
        out += String(c);
        return true;
      }) as typeof process.stdout.write;
      let exitCode: number;
      try {
        ({ exitCode } = await runCliForErrors([
          'eval',
          '--model',
          model,
          '--bin',
          bin,
          '--folds',
          '2',
          '--json',
        ]));
      } finally {
        process.stdout.write = write;
      }
      expect(exitCode, model).toBe(0);
      reports.push(JSON.parse(out.trim().split('\n').pop()!));
    }
    const [pth, onnx] = reports;
    expect(pth.pairs).toBe(6);
    expect(pth.auc).toBeGreaterThanOrEqual(0);
    expect(pth.auc).toBeLessThanOrEqual(1);
    expect(onnx.auc).toBe(pth.auc);
    expect(onnx.accuracy).toBeCloseTo(pth.accuracy, 9);
  }, 60_000);
});
