/**
 * Before a run changes anything on disk, every image it will read from a folder or `.rec` is decoded
 * once. An image that cannot be decoded (truncated, not an image) is dropped from the split and counted,
 * so a bad file neither stops a run midway nor goes unnoticed. MNIST is in memory and needs no check.
 */
import { type Dataset, subsetDataset } from '../data/index.js';
import { CorruptFileError } from '../errors.js';
import type { RunData } from './data.js';

/** Images decoded at once while checking. */
const CONCURRENCY = 8;

/** The samples of `ds` that decode, and the files (or records) that do not. */
export async function dropUndecodable(ds: Dataset): Promise<{ dataset: Dataset; skipped: string[] }> {
  const size = ds.size ?? 0;
  const keep: number[] = [];
  const skipped: string[] = [];
  for (let start = 0; start < size; start += CONCURRENCY) {
    const indices = Array.from({ length: Math.min(CONCURRENCY, size - start) }, (_, k) => start + k);
    const results = await Promise.allSettled(indices.map((i) => ds.read(i)));
    results.forEach((r, k) => {
      if (r.status === 'fulfilled') keep.push(indices[k]);
      else if (r.reason instanceof CorruptFileError) skipped.push(r.reason.path);
      else throw r.reason;
    });
  }
  return { dataset: skipped.length === 0 ? ds : subsetDataset(ds, keep, ds.name), skipped };
}

/** `data` with undecodable images dropped from both splits; the split sentence says how many. */
export async function decodableRunData(data: RunData): Promise<RunData> {
  const train = await dropUndecodable(data.train);
  const heldout = await dropUndecodable(data.heldout);
  const skipped = [...train.skipped, ...heldout.skipped];
  if (skipped.length === 0) return data;
  const note =
    `; ${skipped.length} image(s) that cannot be decoded were skipped (${train.skipped.length} training, ` +
    `${heldout.skipped.length} held out; first: ${skipped[0]})`;
  return { ...data, train: train.dataset, heldout: heldout.dataset, split: `${data.split}${note}` };
}
