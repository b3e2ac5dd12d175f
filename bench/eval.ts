/**
 * Evaluation speed: prints median wall times over repeats.
 *
 *   npm run bench -- eval            # 10 M scores, 6,000 pairs of 512-d embeddings, file readers
 *   npm run bench -- eval --quick    # smaller sizes, for a smoke run
 *
 * Scores are synthetic (same pairs ~ N(0.5, 0.15), different pairs ~ N(0.1, 0.15), from a seeded
 * generator), so runs are comparable between machines and commits.
 */
import { performance } from 'node:perf_hooks';
import {
  evaluateVerification,
  kFoldAccuracy,
  pairSimilarities,
  parseScoresCsv,
  parseVerificationBin,
  rankScores,
} from '../src/eval/index.js';
import { verificationBinPickle } from '../test/eval/pickle-bytes.js';

/** mulberry32: a small seeded generator, good enough for benchmark data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function syntheticScores(n: number, seed: number): { scores: Float64Array; labels: Uint8Array } {
  const random = rng(seed);
  const scores = new Float64Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    scores[i] = (labels[i] ? 0.5 : 0.1) + 0.15 * normal(random);
  }
  return { scores, labels };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function time(name: string, repeats: number, fn: () => unknown): void {
  fn(); // warm-up: JIT and first-touch page faults are not what we want to measure
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  // CPU time is printed too: on a shared machine the wall time includes waiting for a core.
  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(2));
  console.log(
    `${name.padEnd(53)} median ${fmt(median(ms)).padStart(7)} ms wall, ${fmt(median(cpu)).padStart(7)} ms cpu  (wall min ${fmt(Math.min(...ms))}, max ${fmt(Math.max(...ms))}; ${repeats} runs)`,
  );
}

export async function run(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const big = quick ? 1_000_000 : 10_000_000;
  const data = syntheticScores(big, 1);
  console.log(`node ${process.version}`);
  time(`rankScores (validate + sort), ${big.toLocaleString('en')} scores`, 5, () =>
    rankScores(data.scores, data.labels),
  );
  const ranked = rankScores(data.scores, data.labels);
  time(`kFoldAccuracy on ranked, ${big.toLocaleString('en')} scores`, 5, () => kFoldAccuracy(ranked));
  time(`evaluateVerification (all metrics), ${big.toLocaleString('en')} scores`, 5, () =>
    evaluateVerification(data),
  );

  // 6,000 LFW-like pairs of 512-d embeddings: cosine similarities + every metric.
  const pairs = 6000;
  const dim = 512;
  const random = rng(2);
  const embeddings: Float32Array[] = [];
  for (let i = 0; i < 2 * pairs; i++)
    embeddings.push(Float32Array.from({ length: dim }, () => normal(random)));
  const first = Uint32Array.from({ length: pairs }, (_, p) => 2 * p);
  const second = Uint32Array.from({ length: pairs }, (_, p) => 2 * p + 1);
  const labels = Uint8Array.from({ length: pairs }, (_, p) => p % 2);
  time(`6,000 pairs × ${dim}-d: cosines + all metrics`, 50, () => {
    const scores = pairSimilarities(embeddings, first, second);
    return evaluateVerification({ scores, labels });
  });

  // File readers.
  const csvRows = quick ? 100_000 : 1_000_000;
  const csvParts = ['score,label'];
  for (let i = 0; i < csvRows; i++) csvParts.push(`${data.scores[i]},${data.labels[i]}`);
  const csv = `${csvParts.join('\n')}\n`;
  time(`parseScoresCsv, ${csvRows.toLocaleString('en')} rows (${(csv.length / 1e6).toFixed(0)} MB)`, 5, () =>
    parseScoresCsv(csv, 'bench.csv'),
  );

  const binImages = Array.from({ length: 12_000 }, (_, i) => new Uint8Array(5000).fill(i & 0xff));
  const binBytes = verificationBinPickle(
    binImages,
    Array.from({ length: 6000 }, (_, i) => i % 2 === 0),
    'protocol4',
  );
  time(`parseVerificationBin, 12,000 images (${(binBytes.length / 1e6).toFixed(0)} MB)`, 5, () =>
    parseVerificationBin(binBytes, 'bench.bin'),
  );
}
