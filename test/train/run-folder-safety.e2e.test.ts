/**
 * A fresh `train --out DIR` changes nothing on disk until everything is checked, never removes a file it
 * did not write, and replaces an old run only once the new one has a checkpoint: a folder that is not a
 * run is refused (also with --force when a file there has a run output's name); a run failing while it
 * starts leaves the old run as it was; a huge --batch is refused naming it; an undecodable image is
 * skipped and counted instead of stopping the run midway.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { readCheckpoint, train } from '../../src/train/index.js';
import { tinyConfig } from './helpers.js';

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'fvl-run-safety-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Every file under `dir` with its content, to compare a folder before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
      else out[`${prefix}${e.name}`] = readFileSync(join(d, e.name)).toString('base64');
    }
  };
  walk(dir, '');
  return out;
}

const quiet = { pictures: false } as const;

describe('train --out', () => {
  it('refuses a folder that is not a run, and --force never replaces its files', async () => {
    const out = join(root, 'mine');
    mkdirSync(out);
    writeFileSync(join(out, 'report.html'), '<p>my own report</p>');
    const before = snapshot(out);
    const refused = await rejection(train(tinyConfig({ maxSteps: 1 }), { out, ...quiet }));
    expect(refused).toBeInstanceOf(InvalidArgumentError);
    expect((refused as Error).message).toMatch(/--out/);
    const forced = await rejection(train(tinyConfig({ maxSteps: 1 }), { out, force: true, ...quiet }));
    expect(forced).toBeInstanceOf(InvalidArgumentError);
    expect((forced as Error).message).toMatch(/report\.html/);
    expect(snapshot(out)).toEqual(before);
  }, 60_000);

  it('--force writes a run into a foreign folder and keeps its files', async () => {
    const out = join(root, 'forced');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'keep me');
    await train(tinyConfig({ maxSteps: 1 }), { out, force: true, ...quiet });
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('keep me');
    expect(readCheckpoint(out).state.step).toBe(1);
  }, 60_000);

  it('a new run failing while it starts leaves the old run whole; a new run keeps the user files', async () => {
    const out = join(root, 'replaced');
    await train(tinyConfig({ maxSteps: 2 }), { out, ...quiet });
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const before = snapshot(out);
    // Fails after validation, while the new run is written beside the old one (before its checkpoint).
    const failing = () => {
      throw new Error('stopped while starting');
    };
    const error = await rejection(
      train(tinyConfig({ maxSteps: 1, seed: 9 }), { out, log: failing, ...quiet }),
    );
    expect((error as Error).message).toBe('stopped while starting');
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(root).filter((n) => n.startsWith('.replaced'))).toEqual([]);
    // A new run that starts replaces the old run's files and keeps the user's.
    await train(tinyConfig({ maxSteps: 1, seed: 9 }), { out, ...quiet });
    expect(readCheckpoint(out).state.step).toBe(1);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(metrics.filter((l) => l.includes('"loss"')).map((l) => JSON.parse(l).step)).toEqual([1]);
  }, 120_000);

  it('a huge --batch is refused naming --batch before anything is written', async () => {
    const fresh = join(root, 'huge-batch');
    const e1 = await rejection(train(tinyConfig({ batch: 99999999 }), { out: fresh, ...quiet }));
    expect(e1).toBeInstanceOf(InvalidArgumentError);
    expect((e1 as InvalidArgumentError).argument).toBe('--batch');
    expect((e1 as Error).message).toMatch(/at most the 40 training images/);
    expect(existsSync(fresh)).toBe(false);
    const existing = join(root, 'replaced');
    const before = snapshot(existing);
    const e2 = await rejection(train(tinyConfig({ batch: 99999999 }), { out: existing, ...quiet }));
    expect(e2).toBeInstanceOf(InvalidArgumentError);
    expect(snapshot(existing)).toEqual(before);
  }, 60_000);

  it('an image that cannot be decoded is skipped and counted, before the run starts', async () => {
    const data = join(root, 'faces');
    for (let k = 0; k < 4; k++) {
      mkdirSync(join(data, `id${k}`), { recursive: true });
      for (let i = 0; i < 6; i++) {
        const pixels = Buffer.alloc(16 * 16 * 3, (k * 60 + i * 7) % 256);
        const png = await sharp(pixels, { raw: { width: 16, height: 16, channels: 3 } })
          .png()
          .toBuffer();
        // One truncated file among the training images of id1.
        writeFileSync(join(data, `id${k}`, `${i}.png`), k === 1 && i === 2 ? png.subarray(0, 20) : png);
      }
    }
    const out = join(root, 'folder-run');
    const config = tinyConfig({
      data,
      imageSize: 16,
      trainPerClass: 3,
      perClass: undefined,
      batch: 4,
      pairs: 20,
    });
    await train({ ...config, heldoutPerClass: undefined, maxSteps: 3 }, { out, ...quiet });
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(saved.split).toMatch(/1 image\(s\) that cannot be decoded were skipped \(1 training, 0 held out/);
    expect(saved.split).toContain(join('id1', '2.png'));
    expect(readCheckpoint(out).state.step).toBe(3);
  }, 120_000);
});
