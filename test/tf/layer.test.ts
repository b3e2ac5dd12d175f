/**
 * HeadLayer + marginLoss in `model.fit` and in custom loops, evaluation without margins, parameters
 * replaced in forward, and save/load through `model.json` + `weights.bin` with head state.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { createHead } from '../../src/heads/registry.js';
import { loadModel, saveModel } from '../../src/node/io.js';
import { createRng } from '../../src/rng.js';
import { HeadLayer, marginLoss } from '../../src/tf/layer.js';

const B = 24;
const IN = 6;
const D = 8;
const C = 4;
let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'faceverloss-tf-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Four noisy clusters: each class a random centre plus small noise. */
function dataset(seed: number): { x: tf.Tensor2D; labels: tf.Tensor1D; oneHot: tf.Tensor2D } {
  const rng = createRng(seed);
  const centres = Array.from({ length: C }, () => Array.from({ length: IN }, () => rng.normal()));
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < B; i++) {
    const y = i % C;
    ys.push(y);
    for (let d = 0; d < IN; d++) xs.push(centres[y][d] + 0.2 * rng.normal());
  }
  const labels = tf.tensor1d(ys, 'int32');
  return { x: tf.tensor2d(xs, [B, IN]), labels, oneHot: tf.oneHot(labels, C) as tf.Tensor2D };
}

function model(head: HeadLayer, seed: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: D,
        inputShape: [IN],
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      head,
    ],
  });
}

describe('HeadLayer training', () => {
  it('an ArcFace head trains to a lower loss with model.fit', async () => {
    const head = new HeadLayer({ head: 'arcface', params: { scale: 16, margin: 0.3 }, classes: C, seed: 1 });
    const m = model(head, 2);
    m.compile({ optimizer: tf.train.sgd(0.05), loss: marginLoss(head) });
    const { x, oneHot } = dataset(5);
    const h = await m.fit(x, oneHot, { epochs: 15, batchSize: B, verbose: 0, shuffle: false });
    const losses = h.history.loss as number[];
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
  });

  it('an ArcFace head trains to a lower loss in a custom loop (optimizer.minimize, variableGrads)', () => {
    const head = new HeadLayer({ head: 'arcface', params: { scale: 16, margin: 0.3 }, classes: C, seed: 3 });
    const m = model(head, 4);
    const { x, labels } = dataset(6);
    const loss = marginLoss(head);
    const opt = tf.train.sgd(0.05);
    const losses: number[] = [];
    for (let k = 0; k < 15; k++) {
      const l = opt.minimize(() => loss(labels, m.apply(x, { training: true }) as tf.Tensor), true)!;
      losses.push(l.dataSync()[0]);
      l.dispose();
    }
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    // variableGrads reaches the class weights and the backbone.
    const { value, grads } = tf.variableGrads(() =>
      loss(labels, m.apply(x, { training: true }) as tf.Tensor),
    );
    const names = Object.keys(grads);
    expect(names.some((n) => n.endsWith('/kernel') && n.includes(head.name))).toBe(true);
    expect(names.length).toBe(3);
    for (const g of Object.values(grads)) expect(tf.util.sizeFromShape(g.shape)).toBeGreaterThan(0);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
  });

  it('outputs cosines and applies no margin outside training (matches the fp64 head)', () => {
    const head = new HeadLayer({ head: 'cosface', params: { scale: 10, margin: 0.4 }, classes: C, seed: 2 });
    const m = model(head, 3);
    const { x, labels } = dataset(7);
    const emb = (m.layers[0].apply(x) as tf.Tensor).dataSync();
    const W = head.kernel!.read().dataSync();
    const ref = createHead('cosface', { scale: 10, margin: 0.4 }).forward(
      { X: emb, W, labels: labels.dataSync() },
      { training: false },
    );
    const cos = m.predict(x) as tf.Tensor;
    const got = cos.dataSync();
    for (let i = 0; i < ref.cos.length; i++) expect(Math.abs(got[i] - ref.cos[i])).toBeLessThan(1e-5);
    const evalLoss = marginLoss(head)(labels, m.apply(x, { training: false }) as tf.Tensor).dataSync()[0];
    expect(Math.abs(evalLoss - ref.loss)).toBeLessThan(1e-4 * Math.max(1, ref.loss));
    const trainLoss = marginLoss(head)(labels, m.apply(x, { training: true }) as tf.Tensor).dataSync()[0];
    // The margin makes the target harder: the training loss is strictly larger.
    expect(trainLoss).toBeGreaterThan(evalLoss + 0.1);
  });

  it('stores parameters the head replaces in forward (normalised W with weightNorm: overwrite)', async () => {
    const head = new HeadLayer({
      head: 'amsoftmax',
      params: { weightNorm: 'overwrite', scale: 10 },
      classes: C,
      seed: 4,
    });
    const m = model(head, 5);
    m.compile({ optimizer: tf.train.sgd(0), loss: marginLoss(head) });
    const { x, oneHot } = dataset(8);
    await m.fit(x, oneHot, { epochs: 1, batchSize: B, verbose: 0 });
    const W = head.kernel!.read().arraySync() as number[][];
    for (const row of W) expect(Math.hypot(...row)).toBeCloseTo(1, 5);
  });

  it('learns AdaM margins and updates CurricularFace state only in training', async () => {
    const adam = new HeadLayer({
      head: 'adamsoftmax',
      params: { scale: 10, lambda: 1 },
      classes: C,
      seed: 5,
    });
    const m = model(adam, 6);
    m.compile({ optimizer: tf.train.sgd(0.1), loss: marginLoss(adam) });
    const before = adam.extraWeights.margins.read().dataSync().slice();
    const { x, oneHot, labels } = dataset(9);
    await m.fit(x, oneHot, { epochs: 2, batchSize: B, verbose: 0 });
    const after = adam.extraWeights.margins.read().dataSync();
    expect(Math.max(...after.map((v, i) => Math.abs(v - before[i])))).toBeGreaterThan(1e-3);

    const curr = new HeadLayer({ head: 'curricularface', params: { scale: 16 }, classes: C, seed: 6 });
    const m2 = model(curr, 7);
    m2.compile({ optimizer: tf.train.sgd(0.05), loss: marginLoss(curr) });
    expect(curr.getHeadState()).toEqual({ t: 0 });
    marginLoss(curr)(labels, m2.apply(x, { training: false }) as tf.Tensor);
    expect(curr.getHeadState()).toEqual({ t: 0 });
    await m2.fit(x, oneHot, { epochs: 2, batchSize: B, verbose: 0 });
    expect(curr.getHeadState().t).not.toBe(0);
  });

  it('rejects a loss call on a tensor that is not its output, and bad labels', () => {
    const head = new HeadLayer({ head: 'arcface', classes: C });
    const m = model(head, 8);
    const { x } = dataset(10);
    const out = m.apply(x, { training: true }) as tf.Tensor;
    expect(() => marginLoss(head)(tf.tensor1d([0, 1]), tf.zeros([2, 7]))).toThrow(InvalidArgumentError);
    expect(() => marginLoss(head)(tf.fill([B], 7), out)).toThrow(InvalidArgumentError);
    // A tensor of the right shape that the layer did not produce, or whose call is no longer kept.
    const labels = tf.tensor1d(Array.from({ length: B }, (_, i) => i % C));
    expect(() => marginLoss(head)(labels, tf.zeros([B, C]))).toThrow(InvalidArgumentError);
    m.apply(x, { training: true });
    m.apply(x, { training: true });
    expect(() => marginLoss(head)(labels, out)).toThrow(InvalidArgumentError);
    expect(() => new HeadLayer({ head: 'arcface', classes: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('save and load', () => {
  it('reloads with identical outputs and identical head state', async () => {
    const head = new HeadLayer({
      head: 'curricularface',
      params: { scale: 16, margin: 0.3 },
      classes: C,
      seed: 7,
    });
    const m = model(head, 9);
    m.compile({ optimizer: tf.train.sgd(0.05), loss: marginLoss(head) });
    const { x, oneHot, labels } = dataset(11);
    await m.fit(x, oneHot, { epochs: 3, batchSize: B, verbose: 0 });
    const state = head.getHeadState();
    expect(state.t).not.toBe(0);

    const target = join(dir, 'curricular');
    await saveModel(m, target);
    expect(readdirSync(target).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(readFileSync(join(target, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['./weights.bin']);
    expect(JSON.stringify(json.modelTopology)).toContain('FaceVerLossHead');

    const loaded = await loadModel(target);
    const head2 = loaded.layers[1] as HeadLayer;
    expect(head2).toBeInstanceOf(HeadLayer);
    expect(head2.getHeadState()).toEqual(state);
    expect(head2.headParams).toEqual(head.headParams);
    const a = (m.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));

    // The restored state drives the next training step exactly as the original would.
    const l1 = marginLoss(head)(labels, m.apply(x, { training: true }) as tf.Tensor).dataSync()[0];
    const l2 = marginLoss(head2)(labels, loaded.apply(x, { training: true }) as tf.Tensor).dataSync()[0];
    expect(l2).toBe(l1);
    expect(head2.getHeadState()).toEqual(head.getHeadState());
  });

  it('overwrites an existing save atomically and reports unreadable directories', async () => {
    const head = new HeadLayer({ head: 'normface', classes: C, seed: 8 });
    const m = model(head, 10);
    const target = join(dir, 'normface');
    await saveModel(m, target);
    await saveModel(m, target);
    expect(readdirSync(target).sort()).toEqual(['model.json', 'weights.bin']);
    await expect(loadModel(join(dir, 'missing'))).rejects.toThrow(/model JSON/);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
