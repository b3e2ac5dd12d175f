import { describe, expect, it } from 'vitest';
import { createBatchStream } from '../../src/data/batch-stream.js';
import { flipHorizontal } from '../../src/data/pixels.js';
import type { Batch, BatchOptions, IterationState, Sample, SampleSource } from '../../src/data/types.js';
import { CorruptFileError, InvalidArgumentError } from '../../src/errors.js';

const H = 2;
const W = 3;
const C = 1;
const PER = H * W * C;

/** The byte at pixel j of sample i: a pattern the tests can recompute. */
const pixelOf = (i: number, j: number) => (i * 7 + j * 31) % 256;

/** A source whose samples encode their index, counting reads and reads in flight. */
function instrumentedSource(size: number, opts: { delayMs?: number; corrupt?: Set<number> } = {}) {
  const stats = { started: 0, active: 0, maxActive: 0 };
  const source: SampleSource = {
    size,
    shape: { height: H, width: W, channels: C },
    read: async (i: number): Promise<Sample> => {
      stats.started++;
      stats.active++;
      stats.maxActive = Math.max(stats.maxActive, stats.active);
      try {
        if (opts.delayMs !== undefined) await new Promise((r) => setTimeout(r, opts.delayMs));
        if (opts.corrupt?.has(i)) throw new CorruptFileError(`file-${i}.png`, 'cannot decode image');
        const pixels = new Uint8Array(PER);
        for (let j = 0; j < PER; j++) pixels[j] = pixelOf(i, j);
        return { pixels, label: i % 5, id: `s${i}` };
      } finally {
        stats.active--;
      }
    },
  };
  return { source, stats };
}

async function collect(source: SampleSource, options: BatchOptions, limit = Number.POSITIVE_INFINITY) {
  const stream = createBatchStream(source, options);
  const batches: Batch[] = [];
  for await (const batch of stream) {
    batches.push(batch);
    if (batches.length >= limit) break;
  }
  return { batches, state: stream.getState(), stream };
}

const indexOf = (id: string) => Number(id.slice(1));
const ticks = async (n: number) => {
  for (let k = 0; k < n; k++) await new Promise((r) => setImmediate(r));
};

describe('createBatchStream', () => {
  it('visits every sample once per epoch, in identity order without shuffle', async () => {
    const { source } = instrumentedSource(10);
    const { batches } = await collect(source, { batchSize: 4, shuffle: false, epochs: 2 });
    expect(batches.map((b) => b.size)).toEqual([4, 4, 2, 4, 4, 2]);
    expect(batches.map((b) => [b.epoch, b.index])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
      [1, 2],
    ]);
    const ids = batches.slice(0, 3).flatMap((b) => b.ids);
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => `s${i}`));
    for (const b of batches) expect(Array.from(b.labels)).toEqual(b.ids.map((id) => indexOf(id) % 5));
  });

  it('normalises to [-1, 1] by default and to [0, 1] on request', async () => {
    const { source } = instrumentedSource(1);
    const [a] = (await collect(source, { batchSize: 1 })).batches;
    const [b] = (await collect(source, { batchSize: 1, range: '[0,1]' })).batches;
    // Sample 0: bytes 0, 31, 62, 93, 124, 155.
    const bytes = [0, 31, 62, 93, 124, 155];
    bytes.forEach((p, j) => {
      expect(a.images[j]).toBeCloseTo((p - 127.5) / 127.5, 6);
      expect(b.images[j]).toBeCloseTo(p / 255, 6);
    });
    expect(a.images[0]).toBe(-1);
  });

  it('shuffles each epoch into a different permutation, reproducibly for a seed', async () => {
    const { source } = instrumentedSource(50);
    const run = async (seed: number) =>
      (await collect(source, { batchSize: 8, seed, epochs: 2 })).batches.map((b) => b.ids.map(indexOf));
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(a).toEqual(b);
    const epoch0 = a.slice(0, 7).flat();
    const epoch1 = a.slice(7).flat();
    expect([...epoch0].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...epoch1].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(epoch0).not.toEqual(epoch1);
    expect(epoch0).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(c.flat()).not.toEqual(a.flat());
  });

  it('drops the short last batch with dropLast', async () => {
    const { source } = instrumentedSource(10);
    const { batches, stream } = await collect(source, { batchSize: 4, dropLast: true, epochs: 2 });
    expect(stream.batchesPerEpoch).toBe(2);
    expect(batches.map((b) => b.size)).toEqual([4, 4, 4, 4]);
  });

  it('with part, decodes only its contiguous rows of each batch: the parts together are the whole batch', async () => {
    const options: BatchOptions = { batchSize: 6, dropLast: true, epochs: 2, seed: 5, flip: true };
    const whole = await collect(instrumentedSource(15).source, options);
    const parts = await Promise.all(
      [0, 1, 2].map(async (index) => {
        const { source, stats } = instrumentedSource(15);
        return {
          ...(await collect(source, { ...options, part: { index, count: 3 } })),
          reads: stats.started,
        };
      }),
    );
    expect(whole.batches.length).toBe(4);
    for (const p of parts) {
      // Two of the six images of each of the four batches, and no others decoded.
      expect(p.batches.map((b) => b.size)).toEqual([2, 2, 2, 2]);
      expect(p.reads).toBe(8);
      // The position advances by whole batches, as the whole stream's.
      expect(p.state).toEqual(whole.state);
    }
    whole.batches.forEach((b, k) => {
      expect(parts.flatMap((p) => p.batches[k].ids)).toEqual(b.ids);
      expect(Array.from(parts.flatMap((p) => Array.from(p.batches[k].images)))).toEqual(Array.from(b.images));
      expect(parts.flatMap((p) => Array.from(p.batches[k].labels))).toEqual(Array.from(b.labels));
    });
  });

  it('refuses a part that does not divide full batches', () => {
    const { source } = instrumentedSource(10);
    expect(() =>
      createBatchStream(source, { batchSize: 4, dropLast: true, part: { index: 0, count: 3 } }),
    ).toThrow(/part.count/);
    expect(() =>
      createBatchStream(source, { batchSize: 4, dropLast: true, part: { index: 2, count: 2 } }),
    ).toThrow(/part.index/);
    expect(() => createBatchStream(source, { batchSize: 4, part: { index: 0, count: 2 } })).toThrow(
      /dropLast/,
    );
  });

  it('mirrors about half of the images, each exactly left–right', async () => {
    const { source } = instrumentedSource(400);
    const { batches } = await collect(source, { batchSize: 64, flip: true, seed: 3 });
    let flipped = 0;
    for (const batch of batches) {
      batch.ids.forEach((id, k) => {
        const i = indexOf(id);
        const got = Array.from(batch.images.subarray(k * PER, (k + 1) * PER), (v) =>
          Math.round(v * 127.5 + 127.5),
        );
        const plain: number[] = [];
        const mirrored: number[] = [];
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            plain.push(pixelOf(i, y * W + x));
            mirrored.push(pixelOf(i, y * W + (W - 1 - x)));
          }
        }
        if (got.join() === mirrored.join()) flipped++;
        else expect(got).toEqual(plain);
      });
    }
    // Binomial(400, 0.5): mean 200, sd 10; ±60 is six standard deviations.
    expect(flipped).toBeGreaterThan(140);
    expect(flipped).toBeLessThan(260);
  });

  it('keeps the order when flips are switched on', async () => {
    const { source } = instrumentedSource(30);
    const a = (await collect(source, { batchSize: 7, seed: 11 })).batches.flatMap((b) => b.ids);
    const b = (await collect(source, { batchSize: 7, seed: 11, flip: true })).batches.flatMap((b) => b.ids);
    expect(b).toEqual(a);
  });

  it('resumes from a saved state with exactly the batches that would have followed', async () => {
    const { source } = instrumentedSource(23);
    const options: BatchOptions = { batchSize: 5, seed: 42, flip: true, epochs: 3 };
    const full = (await collect(source, options)).batches;
    expect(full.length).toBe(15);
    for (const stopAfter of [1, 4, 5, 6, 13]) {
      const { state } = await collect(source, options, stopAfter);
      const saved = JSON.parse(JSON.stringify(state)) as IterationState;
      const rest = (await collect(source, { ...options, seed: undefined, flip: undefined, state: saved }))
        .batches;
      expect(rest.length).toBe(full.length - stopAfter);
      rest.forEach((batch, k) => {
        const expected = full[stopAfter + k];
        expect([batch.epoch, batch.index]).toEqual([expected.epoch, expected.index]);
        expect(batch.ids).toEqual(expected.ids);
        expect(Array.from(batch.labels)).toEqual(Array.from(expected.labels));
        expect(Buffer.from(batch.images.buffer).equals(Buffer.from(expected.images.buffer))).toBe(true);
      });
    }
  });

  it('reports the state after the last delivered batch, not after prefetched ones', async () => {
    const { source } = instrumentedSource(20);
    const stream = createBatchStream(source, { batchSize: 3, prefetch: 4, seed: 1 });
    await stream.next();
    await ticks(10);
    expect(stream.getState()).toMatchObject({
      epoch: 0,
      position: 3,
      size: 20,
      seed: 1,
      shuffle: true,
      flip: false,
    });
  });

  it('refuses a state saved on another dataset or with other options', async () => {
    const { source } = instrumentedSource(10);
    const { state } = await collect(source, { batchSize: 4, seed: 5 }, 1);
    const other = instrumentedSource(11).source;
    expect(() => createBatchStream(other, { batchSize: 4, state })).toThrow(InvalidArgumentError);
    expect(() => createBatchStream(source, { batchSize: 4, seed: 6, state })).toThrow(InvalidArgumentError);
    expect(() => createBatchStream(source, { batchSize: 4, flip: true, state })).toThrow(
      InvalidArgumentError,
    );
    expect(() => createBatchStream(source, { batchSize: 4, state: { ...state, position: 11 } })).toThrow(
      InvalidArgumentError,
    );
  });

  it('never plans more than prefetch batches ahead of the consumer', async () => {
    const { source, stats } = instrumentedSource(100);
    const batchSize = 4;
    const prefetch = 3;
    const stream = createBatchStream(source, { batchSize, prefetch, shuffle: false });
    for (let consumed = 1; consumed <= 25; consumed++) {
      const r = await stream.next();
      expect(r.done).toBe(false);
      await ticks(5);
      // Reads resolve at once, so after a few ticks everything planned has started: exactly the
      // delivered batches plus `prefetch` more, capped by the dataset.
      expect(stats.started).toBe(Math.min(100, (consumed + prefetch) * batchSize));
    }
    expect((await stream.next()).done).toBe(true);
  });

  it('decodes on demand with prefetch 0', async () => {
    const { source, stats } = instrumentedSource(20);
    const stream = createBatchStream(source, { batchSize: 4, prefetch: 0 });
    await stream.next();
    await ticks(5);
    expect(stats.started).toBe(4);
  });

  it('keeps at most `concurrency` reads in flight', async () => {
    const { source, stats } = instrumentedSource(40, { delayMs: 2 });
    const { batches } = await collect(source, { batchSize: 8, prefetch: 2, concurrency: 3 });
    expect(batches.length).toBe(5);
    expect(stats.maxActive).toBe(3);
  });

  it('raises CorruptFileError by default and skips and counts with onCorrupt: skip', async () => {
    const corrupt = new Set([3, 7]);
    const { source } = instrumentedSource(10, { corrupt });
    await expect(collect(source, { batchSize: 4, shuffle: false })).rejects.toThrow(CorruptFileError);
    const { batches, stream } = await collect(source, { batchSize: 4, shuffle: false, onCorrupt: 'skip' });
    expect(batches.map((b) => b.size)).toEqual([3, 3, 2]);
    expect(batches.flatMap((b) => b.ids)).toEqual(['s0', 's1', 's2', 's4', 's5', 's6', 's8', 's9']);
    expect(stream.skipped.map((s) => s.id)).toEqual(['file-3.png', 'file-7.png']);
    expect(batches[0].images.length).toBe(3 * PER);
  });

  it('recycles a ring of prefetch + 2 image buffers with reuseBuffers, keeping the previous batch intact', async () => {
    const { source } = instrumentedSource(50);
    const options: BatchOptions = { batchSize: 6, seed: 2, flip: true, prefetch: 1 };
    const fresh = (await collect(source, options)).batches;
    const stream = createBatchStream(source, { ...options, reuseBuffers: true });
    const buffers: ArrayBufferLike[] = [];
    let previous: { batch: Batch; copy: Float32Array } | undefined;
    let k = 0;
    for await (const batch of stream) {
      // The batch before this one must not have been overwritten yet.
      if (previous !== undefined)
        expect(Array.from(previous.batch.images)).toEqual(Array.from(previous.copy));
      expect(Array.from(batch.images)).toEqual(Array.from(fresh[k].images));
      expect(batch.images.length).toBe(fresh[k].images.length);
      buffers.push(batch.images.buffer);
      previous = { batch, copy: batch.images.slice() };
      k++;
    }
    expect(k).toBe(fresh.length);
    expect(new Set(buffers).size).toBe(3);
    expect(buffers[3]).toBe(buffers[0]);
  });

  it('rejects bad options with InvalidArgumentError', () => {
    const { source } = instrumentedSource(4);
    for (const bad of [
      { batchSize: 0 },
      { batchSize: 2.5 },
      { batchSize: 2, seed: 0.5 },
      { batchSize: 2, prefetch: -1 },
      { batchSize: 2, concurrency: 0 },
      { batchSize: 2, epochs: 0 },
      { batchSize: 2, range: '[0,255]' },
      { batchSize: 2, onCorrupt: 'ignore' },
      { batchSize: 2, shuffle: 'yes' },
      { batchSize: 2, reuseBuffers: 1 },
    ]) {
      expect(() => createBatchStream(source, bad as unknown as BatchOptions)).toThrow(InvalidArgumentError);
    }
  });
});

describe('flipHorizontal', () => {
  it('mirrors columns and keeps channel order within a pixel', () => {
    // 2×2 RGB: row 0 = (1,2,3) (4,5,6); row 1 = (7,8,9) (10,11,12).
    const img = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Array.from(flipHorizontal(img, 2, 2, 3))).toEqual([4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9]);
  });
});
