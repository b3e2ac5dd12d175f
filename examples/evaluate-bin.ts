/**
 * Face-verification metrics two ways: on an insightface-style `.bin` verification set with an
 * embedding function, and on a CSV of precomputed pair scores.
 *
 *   npx tsx examples/evaluate-bin.ts [--quick] [--out DIR]
 *
 * What it shows:
 * 1. Building a tiny verification set in insightface's `.bin` layout: held-out MNIST digits play the
 *    identities (same digit = same person), `verificationPairs` draws balanced pairs, sharp encodes
 *    the images as PNG, and `lib/verification-bin.ts` pickles them as insightface does.
 * 2. `readVerificationBin` + `evaluateBin`: embed every image and its mirror image (flip
 *    test-time augmentation, as insightface's `verification.py`), score each pair by cosine
 *    similarity, and report 10-fold accuracy, AUC, EER and TAR@FAR. The embedding function here is a
 *    fixed random projection of the pixels; a trained model's `predict` goes in its place.
 * 3. The `--scores` route (`faceverloss eval --scores pairs.csv`): when the scores were computed
 *    elsewhere, a `score,label` CSV is all the metrics need. The individual metric functions
 *    (`auc`, `eer`, `tarAtFar`, `rocCurve`) work on the same ranked scores.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage, type ImageShape, loadMnist, verificationPairs } from '../src/data/index.js';
import {
  auc,
  type BinEmbedder,
  eer,
  evaluateBin,
  evaluateVerification,
  formatVerificationTable,
  mirrorPixels,
  rankScores,
  readScoresFile,
  readVerificationBin,
  rocCurve,
  tarAtFar,
} from '../src/eval/index.js';
import { createRng } from '../src/rng.js';
import { verificationBinBytes } from './lib/verification-bin.js';

const quick = process.argv.includes('--quick');
const outFlag = process.argv.indexOf('--out');
const PAIRS = quick ? 100 : 3000;
const SHAPE: ImageShape = { height: 28, width: 28, channels: 1 };
const DIM = 128;

/** Encodes a 28×28 grey image as PNG bytes, as the images inside a real `.bin` are JPEG/PNG files. */
function png(pixels: Uint8Array): Promise<Uint8Array> {
  return sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
}

/**
 * Stands in for a trained network: a fixed DIM×784 Gaussian matrix applied to the pixels scaled to
 * [0, 1]. A random projection roughly keeps the angles between the pixel vectors, so pairs of the
 * same digit score higher on average: the metrics come out better than chance (AUC ≈ 0.7), and far
 * below what a trained model reaches.
 */
function randomProjection(seed: number): (pixels: Uint8Array) => Float32Array {
  const rng = createRng(seed);
  const P = Float32Array.from({ length: DIM * 784 }, () => rng.normal());
  return (pixels) => {
    const out = new Float32Array(DIM);
    for (let d = 0; d < DIM; d++) {
      let sum = 0;
      for (let k = 0; k < 784; k++) sum += P[d * 784 + k] * (pixels[k] / 255);
      out[d] = sum;
    }
    return out;
  };
}

async function main(): Promise<void> {
  const dir = outFlag > 0 ? process.argv[outFlag + 1] : mkdtempSync(join(tmpdir(), 'faceverloss-eval-'));

  // ---- 1. A verification .bin from held-out digits --------------------------------------------------
  const digits = await loadMnist({ split: 'heldout', perClass: quick ? 30 : 150 });
  const pairs = verificationPairs(digits.labels!, { pairs: PAIRS, seed: 1 });
  const images: Uint8Array[] = [];
  const issame: boolean[] = [];
  for (let p = 0; p < PAIRS; p++) {
    images.push(await png((await digits.read(pairs.first[p])).pixels));
    images.push(await png((await digits.read(pairs.second[p])).pixels));
    issame.push(pairs.same[p] === 1);
  }
  await digits.close();
  const binPath = join(dir, 'digits.bin');
  writeFileSync(binPath, verificationBinBytes(images, issame));
  console.log(`wrote ${binPath}: ${PAIRS} pairs, ${images.length} PNG images`);

  // ---- 2. Evaluate it with an embedding function ----------------------------------------------------
  const bin = readVerificationBin(binPath);
  const project = randomProjection(7);
  // evaluateBin hands over encoded images in batches and asks twice per batch: as is, and mirrored.
  // Decoding and mirroring are the embedder's job, so the evaluation itself needs no image library.
  // Each image is requested twice (plain, then mirrored), so decoded pixels are kept for the second call.
  const decoded = new WeakMap<Uint8Array, Uint8Array>();
  const embed: BinEmbedder = async (batch, { flip }) => {
    const out: Float32Array[] = [];
    for (const [i, bytes] of batch.entries()) {
      let pixels = decoded.get(bytes);
      if (pixels === undefined) {
        pixels = await decodeImage(bytes, SHAPE, `image ${i}`);
        decoded.set(bytes, pixels);
      }
      // A real model: run the network on the (mirrored) pixels of the whole batch at once and return
      // one embedding per image, e.g. `model.predict(tf.tensor(...)).arraySync()`.
      out.push(project(flip ? mirrorPixels(pixels, SHAPE) : pixels));
    }
    return out;
  };
  const { report, scores, dim } = await evaluateBin(bin, embed, { folds: 10, batchSize: 64 });
  console.log(`\n.bin evaluation (random ${dim}-d projection of the pixels, flip TTA):`);
  process.stdout.write(formatVerificationTable(report));

  // ---- 3. The same pairs as a score,label CSV ---------------------------------------------------------
  const csvPath = join(dir, 'scores.csv');
  const lines = ['score,label', ...Array.from(scores, (s, p) => `${s},${issame[p] ? 1 : 0}`)];
  writeFileSync(csvPath, `${lines.join('\n')}\n`);
  const file = readScoresFile(csvPath);
  const fromCsv = evaluateVerification(file, { folds: 10 });
  console.log(`\nscores CSV ${csvPath} (what \`faceverloss eval --scores\` reads):`);
  process.stdout.write(formatVerificationTable(fromCsv));

  // Each metric on its own. rankScores sorts once; every function accepts the ranked set.
  const ranked = rankScores(file.scores, file.labels);
  const roc = rocCurve(ranked);
  const equal = eer(ranked);
  const [tar] = tarAtFar(ranked, [0.1]);
  console.log(
    `\nAUC ${auc(ranked).toFixed(4)}, EER ${(100 * equal.eer).toFixed(2)}% at threshold ${equal.threshold.toFixed(4)}, ` +
      `TAR ${(100 * tar.tar).toFixed(2)}% at FAR 10%, ROC with ${roc.fpr.length} points`,
  );
  // The CSV holds the scores in decimal form that round-trips exactly: both routes must agree.
  console.log(
    `bin vs CSV: accuracy ${(100 * report.accuracy).toFixed(2)}% / ${(100 * fromCsv.accuracy).toFixed(2)}%, ` +
      `AUC ${report.auc.toFixed(4)} / ${fromCsv.auc.toFixed(4)}`,
  );
  if (outFlag < 0) rmSync(dir, { recursive: true, force: true });
}

await main();
