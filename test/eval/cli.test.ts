import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerEval } from '../../src/cli/eval.js';
import { CorruptFileError, InvalidArgumentError, UnsupportedConfigError } from '../../src/errors.js';
import type { BinEmbedder } from '../../src/eval/index.js';
import { verificationBinPickle } from './pickle-bytes.js';

const dir = mkdtempSync(join(tmpdir(), 'faceverloss-eval-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function run(args: string[], loadModel?: (run: string) => Promise<BinEmbedder>): Promise<string> {
  let out = '';
  const program = new Command().exitOverride();
  registerEval(program, { write: (text) => (out += text), loadModel });
  await program.parseAsync(['node', 'faceverloss', 'eval', ...args]);
  return out;
}

function lastJson(out: string): Record<string, unknown> {
  const lines = out.trimEnd().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

// The ten pairs of the k-fold example (test/eval/kfold.test.ts): accuracy .1 ± .3, mean threshold
// .45. Same pairs .9 .8 .6 .4 .1, different .7 .5 .3 .2 .85: AUC = (5+4+3+2+0)/25 = .56.
// Sorted: .9+ .85− .8+ .7− .6+ … → (fpr, fnr) after .6 is (.4, .4): EER .4 at threshold .6.
// Five different pairs cannot resolve FAR 1e-1 (needs ≥ 10), so tar_at_far is empty.
const tenPairs = 'score,label\n0.9,1\n0.8,1\n0.7,0\n0.6,1\n0.5,0\n0.4,1\n0.3,0\n0.2,0\n0.85,0\n0.1,1\n';

function expectTenPairMetrics(json: Record<string, unknown>, tolerance: number): void {
  expect(json.pairs).toBe(10);
  expect(json.accuracy as number).toBeCloseTo(0.1, tolerance);
  expect(json.accuracy_std as number).toBeCloseTo(0.3, tolerance);
  expect(json.threshold as number).toBeCloseTo(0.45, tolerance);
  expect(json.auc as number).toBeCloseTo(0.56, tolerance);
  expect(json.eer as number).toBeCloseTo(0.4, tolerance);
  expect(json.tar_at_far).toEqual([]);
}

describe('faceverloss eval', () => {
  it('--scores --json prints the metrics as one JSON object on the last line', async () => {
    const out = await run(['--scores', file('ten.csv', tenPairs), '--json']);
    expectTenPairMetrics(lastJson(out), 12);
  });

  it('--scores prints a readable table by default', async () => {
    const out = await run(['--scores', file('ten.csv', tenPairs)]);
    expect(out).toMatch(/^pairs\s+10 \(5 same, 5 different\)$/m);
    expect(out).toMatch(/^accuracy \(10-fold\)\s+10\.00% ± 30\.00%\s+\(mean threshold 0\.4500\)$/m);
    expect(out).toMatch(/^AUC\s+0\.560000$/m);
    expect(out).toMatch(/^EER\s+40\.00%/m);
  });

  it('--pairs with --embeddings scores LFW pairs by cosine similarity', async () => {
    // Pair p: first image (1,0), second (c, √(1−c²)), so its cosine is c — the same ten scores,
    // same pairs first as in pairs.txt. With one pair per fold the fold results do not depend on
    // order, so the expected metrics are those of the score file above (float32 storage: 1e-6).
    const same = [0.9, 0.8, 0.6, 0.4, 0.1];
    const diff = [0.7, 0.5, 0.3, 0.2, 0.85];
    const lines = ['5'];
    const emb: string[] = [];
    const second = (c: number) => `${c},${Math.sqrt(1 - c * c)}`;
    same.forEach((c, i) => {
      lines.push(`S${i} 1 2`);
      emb.push(`S${i}/S${i}_0001,1,0`, `S${i}/S${i}_0002.jpg,${second(c)}`);
    });
    diff.forEach((c, i) => {
      lines.push(`D${i} 1 E${i} 1`);
      emb.push(`D${i}/D${i}_0001 1 0`, `E${i}/E${i}_0001 ${second(c).replace(',', ' ')}`);
    });
    const out = await run([
      '--pairs',
      file('pairs.txt', `${lines.join('\n')}\n`),
      '--embeddings',
      file('emb.csv', `${emb.join('\n')}\n`),
      '--json',
    ]);
    expectTenPairMetrics(lastJson(out), 6);
  });

  it('--gallery with --probe reports rank-1, rank-5 and the CMC', async () => {
    // A probe (1,0.1) is closest to A; B probe (0.8,0.6) is closer to A (.8) than to B (.6).
    const gallery = file('gallery.csv', 'A/A_0001,1,0\nB/B_0001,0,1\n');
    const probe = file('probe.csv', 'A/A_0002,1,0.1\nB/B_0002,0.8,0.6\n');
    const json = lastJson(await run(['--gallery', gallery, '--probe', probe, '--json']));
    expect(json.rank1).toBeCloseTo(0.5, 12);
    expect(json.rank5).toBeCloseTo(1, 12);
    expect(json.cmc).toEqual([0.5, 1]);
  });

  it('--model without a model loader says loading is not available yet', async () => {
    const bin = file(
      'x.bin',
      verificationBinPickle([Uint8Array.of(1), Uint8Array.of(2)], [true], 'protocol4'),
    );
    await expect(run(['--model', 'runs/a', '--bin', bin])).rejects.toThrow(UnsupportedConfigError);
    await expect(run(['--model', 'runs/a', '--bin', bin])).rejects.toThrow(
      /--model: loading a trained model is not available/,
    );
  });

  it('--model with a loader embeds the .bin images (flip TTA)', async () => {
    // images carry their own 2-D embedding in bytes 0–1; the mirrored view is the same vector,
    // so flip TTA leaves directions unchanged. Pairs: (1,0)/(1,0) same → 1, (1,0)/(0,1) diff → 0,
    // repeated five times: ten separable pairs → accuracy 1, AUC 1, EER 0.
    const images: Uint8Array[] = [];
    const issame: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      images.push(Uint8Array.of(1, 0), Uint8Array.of(1, 0), Uint8Array.of(1, 0), Uint8Array.of(0, 1));
      issame.push(true, false);
    }
    const bin = file('toy.bin', verificationBinPickle(images, issame, 'python2'));
    const loaded: string[] = [];
    const loader = async (runDir: string): Promise<BinEmbedder> => {
      loaded.push(runDir);
      return async (batch) => batch.map((b) => [b[0], b[1]]);
    };
    const json = lastJson(
      await run(['--model', 'runs/a', '--bin', bin, '--json', '--batch-size', '3'], loader),
    );
    expect(loaded).toEqual(['runs/a']);
    expect(json.accuracy).toBe(1);
    expect(json.auc).toBe(1);
    expect(json.eer).toBe(0);
  });

  it('rejects missing, mixed or incomplete inputs with typed errors', async () => {
    const scores = file('ten.csv', tenPairs);
    await expect(run([])).rejects.toThrow(InvalidArgumentError);
    await expect(run(['--scores', scores, '--gallery', scores])).rejects.toThrow(/exactly one of/);
    await expect(run(['--pairs', scores])).rejects.toThrow(/'--embeddings'/);
    await expect(run(['--scores', scores, '--folds', '0'])).rejects.toThrow(/'--folds'/);
    await expect(run(['--scores', file('bad.csv', 'score,label\n0.5,1\n0.4,x\n')])).rejects.toThrow(
      CorruptFileError,
    );
    await expect(run(['--scores', file('bad.csv', 'score,label\n0.5,1\n0.4,x\n')])).rejects.toThrow(
      /bad\.csv: line 3/,
    );
  });
});
