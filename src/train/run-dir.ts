/**
 * The run folder:
 *
 * ```
 * RUN/config.json            the effective configuration and the data split, as used
 * RUN/metrics.jsonl          one JSON object per line: step metrics (loss, acc, lr, images_per_s)
 *                            and per-epoch held-out verification (train_acc, val_acc, val_auc, val_eer,
 *                            val_tar_far_1e-2 and val_tar_far_1e-3 over every held-out pair)
 * RUN/embeddings/epoch-NNNN.json  held-out embeddings after each epoch (src/viz format)
 * RUN/scores.csv             latest held-out pair scores (score,label) — the report's ROC
 * RUN/checkpoint/            model.json + weights.bin, optimizer.bin, state.json (see checkpoint.ts)
 * RUN/head-shards/           model-parallel runs: the class weights, one file per rank + manifest.json
 * RUN/features.png, features.gif, curves.svg, report.html   pictures (2-D / 3-D features only for the first two)
 * ```
 */
import { appendFileSync, existsSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import {
  curvesChart,
  featuresChart,
  featuresGif,
  listEmbeddingSnapshots,
  readEmbeddingSnapshot,
  readMetrics,
  writeChart,
  writeEmbeddingSnapshot,
  writeFileAtomic,
  writeRunReport,
} from '../viz/index.js';
import type { TrainConfig } from './config.js';
import type { Embedded } from './evaluate.js';

/**
 * Writes the files of one run folder. `dir` is where they go now: a fresh run writes into its staging
 * folder until it is swapped into place (run-staging.ts), then into the run folder itself.
 */
export class RunFolder {
  constructor(public dir: string) {}

  /** Bytes in `metrics.jsonl` now (0 before the first record); stored with each checkpoint. */
  metricsBytes(): number {
    const path = join(this.dir, 'metrics.jsonl');
    return existsSync(path) ? statSync(path).size : 0;
  }

  /**
   * Cut `metrics.jsonl` back to the `bytes` a checkpoint recorded: records of steps after that
   * checkpoint are trained again by the resumed run and would otherwise appear twice.
   */
  rollbackMetrics(bytes: number): void {
    const path = join(this.dir, 'metrics.jsonl');
    if (existsSync(path) && statSync(path).size > bytes) truncateSync(path, bytes);
  }

  /** Write `config.json`: the effective configuration, the data split and how verification is scored. */
  writeConfig(config: TrainConfig, split: string, modelParallel?: { ranks: number }): void {
    writeFileAtomic(
      join(this.dir, 'config.json'),
      `${JSON.stringify({ config, split, ...(modelParallel ? { modelParallel } : {}), verification: 'balanced same/different pairs of held-out images, cosine similarity, 10-fold accuracy, AUC, EER; TAR at FAR 1e-2 and 1e-3 over every pair of held-out images' }, null, 2)}\n`,
      '--out',
    );
  }

  /** Append one record (a step's or an epoch's numbers) as a line of `metrics.jsonl`. */
  appendMetrics(record: Record<string, number>): void {
    appendFileSync(join(this.dir, 'metrics.jsonl'), `${JSON.stringify(record)}\n`);
  }

  /** Write the held-out embeddings (and class weights, when given) after `epoch` to `embeddings/`. */
  writeEmbeddings(epoch: number, e: Embedded, classWeights: number[][] | undefined): void {
    const rows = Array.from({ length: e.labels.length }, (_, i) =>
      e.embeddings.subarray(i * e.dim, (i + 1) * e.dim),
    );
    writeEmbeddingSnapshot(this.dir, { epoch, labels: e.labels, embeddings: rows, classWeights });
  }

  /** Write `scores.csv`: one `score,label` line per held-out pair (label 1: same identity). */
  writeScores(scores: Float64Array, same: Uint8Array): void {
    const lines = ['score,label'];
    for (let i = 0; i < scores.length; i++) lines.push(`${scores[i]},${same[i]}`);
    writeFileAtomic(join(this.dir, 'scores.csv'), `${lines.join('\n')}\n`, '--out');
  }

  /** Features picture and animation (2-D / 3-D), training curves, report.html. */
  async writePictures(dim: number): Promise<void> {
    const hasEmbeddings = existsSync(join(this.dir, 'embeddings'));
    if (hasEmbeddings && (dim === 2 || dim === 3)) {
      const files = listEmbeddingSnapshots(this.dir, '--out');
      await writeChart(
        featuresChart(readEmbeddingSnapshot(files[files.length - 1])),
        join(this.dir, 'features.png'),
      );
      if (files.length > 1)
        writeFileAtomic(join(this.dir, 'features.gif'), await featuresGif(files), '--out');
    }
    const metrics = join(this.dir, 'metrics.jsonl');
    if (existsSync(metrics))
      await writeChart(curvesChart(readMetrics(metrics)), join(this.dir, 'curves.svg'));
    await writeRunReport(this.dir);
  }
}
