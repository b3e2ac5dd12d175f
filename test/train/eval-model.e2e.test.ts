/**
 * `eval --model RUN --bin FILE`: a run trained for a few steps is loaded as an embedder and evaluates a
 * verification .bin built from held-out digits.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { verificationBinBytes } from '../../examples/lib/verification-bin.js';
import { main } from '../../src/cli/main.js';
import { loadMnist } from '../../src/data/index.js';
import { loadRunEmbedder } from '../../src/train/embedder.js';

const dir = mkdtempSync(join(tmpdir(), 'fvl-eval-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function capture(argv: string[]): Promise<string> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((c: string | Uint8Array) => {
    chunks.push(String(c));
    return true;
  }) as typeof process.stdout.write;
  try {
    await main(['node', 'faceverloss', ...argv]);
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

describe('eval --model --bin', () => {
  it('embeds the .bin images with the trained backbone and reports verification metrics', async () => {
    const run = join(dir, 'run');
    await capture([
      'train',
      '--head',
      'cosface',
      '--data',
      'mnist',
      '--per-class',
      '20',
      '--epochs',
      '1',
      '--batch',
      '32',
      '--max-steps',
      '2',
      '--width',
      '0.25',
      '--embedding-dim',
      '8',
      '--out',
      run,
    ]);
    const data = await loadMnist({ perClass: 30 });
    const images: Uint8Array[] = [];
    const issame: boolean[] = [];
    for (let k = 0; k < 20; k++) {
      const a = await data.read(k);
      const b = await data.read((k * 7 + 3) % data.size!);
      for (const s of [a, b]) {
        images.push(
          await sharp(Buffer.from(s.pixels), { raw: { width: 28, height: 28, channels: 1 } })
            .png()
            .toBuffer(),
        );
      }
      issame.push(a.label === b.label);
    }
    // Both classes must be present for the metrics.
    issame[0] = true;
    issame[1] = false;
    const bin = join(dir, 'digits.bin');
    writeFileSync(bin, verificationBinBytes(images, issame));
    const embed = await loadRunEmbedder(run);
    const rows = await embed(images.slice(0, 3), { flip: false });
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveLength(8);
    const out = await capture(['eval', '--model', run, '--bin', bin, '--json']);
    const report = JSON.parse(out.trim().split('\n').pop()!);
    expect(report.accuracy).toBeGreaterThanOrEqual(0);
    expect(report.accuracy).toBeLessThanOrEqual(1);
    expect(Number.isFinite(report.auc)).toBe(true);
  }, 240_000);
});
