/**
 * Turns any {@link SampleSource} into a resumable stream of normalised batches: seeded order and
 * flips per epoch, a bounded prefetch queue, bounded decode concurrency, and an optional policy that
 * skips corrupt images instead of failing.
 */
import { CorruptFileError, InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { type EpochOrder, epochOrder } from './epoch-order.js';
import { Limiter } from './limiter.js';
import { pixelTable, writeImage } from './pixels.js';
import type { Batch, BatchOptions, BatchStream, IterationState, Sample, SampleSource } from './types.js';

/** Default number of batches decoded ahead of the consumer. */
export const DEFAULT_PREFETCH = 2;
/** Default number of images decoded at the same time. */
export const DEFAULT_CONCURRENCY = 4;

interface Plan {
  readonly epoch: number;
  readonly index: number;
  readonly start: number;
  readonly count: number;
}

interface Built {
  readonly batch: Batch;
  readonly skipped: { id: string; reason: string }[];
}

function nonNegativeInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(name, 'a non-negative integer', value);
  }
  return value;
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InvalidArgumentError(name, 'a positive integer', value);
  }
  return value;
}

function optionalBoolean(name: string, value: unknown): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean')
    throw new InvalidArgumentError(name, 'a boolean', value);
  return value;
}

/** Checks a saved state against the dataset and the explicit options; returns the effective values. */
function checkState(
  state: unknown,
  size: number,
  seed: number | undefined,
  shuffle: boolean | undefined,
  flip: boolean | undefined,
): IterationState {
  const expected =
    'an IterationState { version: 1, seed, shuffle, flip, size, epoch, position } from getState()';
  if (typeof state !== 'object' || state === null) throw new InvalidArgumentError('state', expected, state);
  const s = state as Record<string, unknown>;
  if (
    s.version !== 1 ||
    typeof s.shuffle !== 'boolean' ||
    typeof s.flip !== 'boolean' ||
    !Number.isInteger(s.seed)
  ) {
    throw new InvalidArgumentError('state', expected, state);
  }
  nonNegativeInt('state.epoch', s.epoch);
  nonNegativeInt('state.position', s.position);
  if (s.size !== size) {
    throw new InvalidArgumentError(
      'state.size',
      `the dataset size ${size} (the state was saved on another dataset)`,
      s.size,
    );
  }
  if ((s.position as number) > size)
    throw new InvalidArgumentError('state.position', `at most ${size}`, s.position);
  if (seed !== undefined && seed !== s.seed) {
    throw new InvalidArgumentError('seed', `the seed of the saved state (${s.seed}) or no seed`, seed);
  }
  if (shuffle !== undefined && shuffle !== s.shuffle) {
    throw new InvalidArgumentError(
      'shuffle',
      `the value of the saved state (${s.shuffle}) or nothing`,
      shuffle,
    );
  }
  if (flip !== undefined && flip !== s.flip) {
    throw new InvalidArgumentError('flip', `the value of the saved state (${s.flip}) or nothing`, flip);
  }
  return s as unknown as IterationState;
}

/** Checks {@link BatchOptions.part}. */
function checkPart(
  part: BatchOptions['part'],
  batchSize: number,
  dropLast: boolean,
): { index: number; count: number } | undefined {
  if (part === undefined) return undefined;
  const count = part?.count;
  if (!Number.isInteger(count) || count < 1 || batchSize % count !== 0)
    throw new InvalidArgumentError('part.count', `a divisor of batchSize ${batchSize}`, count);
  if (!Number.isInteger(part.index) || part.index < 0 || part.index >= count)
    throw new InvalidArgumentError('part.index', `an integer in [0, ${count})`, part.index);
  if (!dropLast)
    throw new InvalidArgumentError(
      'dropLast',
      'true with part (every part of every batch is full)',
      dropLast,
    );
  return { index: part.index, count };
}

/** Creates a batch stream over `source`; see {@link BatchOptions} for every option and its default. */
export function createBatchStream(source: SampleSource, options: BatchOptions): BatchStream {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'an object with at least batchSize', options);
  }
  const size = source.size;
  const { height, width, channels } = source.shape;
  const pixelsPerImage = height * width * channels;
  const batchSize = positive('batchSize', options.batchSize);
  const epochs = positive('epochs', options.epochs ?? 1);
  const prefetch = nonNegativeInt('prefetch', options.prefetch ?? DEFAULT_PREFETCH);
  const concurrency = positive('concurrency', options.concurrency ?? DEFAULT_CONCURRENCY);
  const dropLast = optionalBoolean('dropLast', options.dropLast) ?? false;
  const range = options.range ?? '[-1,1]';
  if (range !== '[-1,1]' && range !== '[0,1]')
    throw new InvalidArgumentError('range', "'[-1,1]' or '[0,1]'", range);
  const part = checkPart(options.part, batchSize, dropLast);
  const reuseBuffers = optionalBoolean('reuseBuffers', options.reuseBuffers) ?? false;
  const onCorrupt = options.onCorrupt ?? 'throw';
  if (onCorrupt !== 'throw' && onCorrupt !== 'skip') {
    throw new InvalidArgumentError('onCorrupt', "'throw' or 'skip'", onCorrupt);
  }
  if (options.seed !== undefined && !Number.isInteger(options.seed)) {
    throw new InvalidArgumentError('seed', 'an integer', options.seed);
  }
  const shuffleOption = optionalBoolean('shuffle', options.shuffle);
  const flipOption = optionalBoolean('flip', options.flip);
  let seed: number;
  let shuffle: boolean;
  let flip: boolean;
  // Cursor of the next sample to plan (planning runs ahead of delivery by the prefetch depth).
  let planEpoch = 0;
  let planPosition = 0;
  if (options.state !== undefined) {
    const state = checkState(options.state, size, options.seed, shuffleOption, flipOption);
    seed = state.seed;
    shuffle = state.shuffle;
    flip = state.flip;
    planEpoch = state.epoch;
    planPosition = state.position;
  } else {
    seed = options.seed ?? 0;
    shuffle = shuffleOption ?? true;
    flip = flipOption ?? false;
  }
  // State after the last delivered batch.
  let delivered: IterationState = {
    version: 1,
    seed,
    shuffle,
    flip,
    size,
    epoch: planEpoch,
    position: planPosition,
  };

  const table = pixelTable(range);
  const limiter = new Limiter(concurrency);
  const orders = new Map<number, EpochOrder>();
  const orderOf = (epoch: number): EpochOrder => {
    let order = orders.get(epoch);
    if (order === undefined) {
      order = epochOrder(size, seed, epoch, shuffle, flip);
      orders.set(epoch, order);
      // Planning is at most one epoch ahead of delivery, so two cached orders suffice.
      for (const key of orders.keys()) if (key < epoch - 1) orders.delete(key);
    }
    return order;
  };

  const nextPlan = (): Plan | undefined => {
    const remaining = size - planPosition;
    if (remaining <= 0 || (dropLast && remaining < batchSize)) {
      planEpoch++;
      planPosition = 0;
    }
    if (planEpoch >= epochs || size === 0 || (dropLast && size < batchSize)) return undefined;
    const count = Math.min(batchSize, size - planPosition);
    const plan = { epoch: planEpoch, index: Math.ceil(planPosition / batchSize), start: planPosition, count };
    planPosition += count;
    return plan;
  };

  const readChecked = async (index: number): Promise<Sample> => {
    const sample = await limiter.run(() => source.read(index));
    if (!(sample.pixels instanceof Uint8Array) || sample.pixels.length !== pixelsPerImage) {
      throw new ShapeMismatchError(
        `pixels of sample ${sample.id}`,
        `${pixelsPerImage} bytes (${height}×${width}×${channels})`,
        `${sample.pixels?.length}`,
      );
    }
    return sample;
  };

  // Batch k of the stream writes into ring[k mod R] with R = prefetch + 2: it is built when the consumer
  // asks for batch k − prefetch, by which time batch k − R (the buffer's previous user) has been
  // followed by two deliveries.
  const ring: Float32Array[] = [];
  const ringBuffer = (sequence: number): Float32Array => {
    const slot = sequence % (prefetch + 2);
    ring[slot] ??= new Float32Array(batchSize * pixelsPerImage);
    return ring[slot];
  };

  const build = async (plan: Plan, sequence: number): Promise<Built> => {
    const { order, flips } = orderOf(plan.epoch);
    const reads: Promise<Sample | { skipped: string; reason: string }>[] = [];
    // This stream's rows of the batch (all of them without `part`; batches are full with it).
    const rows = part ? plan.count / part.count : plan.count;
    const first = plan.start + (part ? part.index * rows : 0);
    for (let k = first; k < first + rows; k++) {
      const read = readChecked(order[k]);
      reads.push(
        onCorrupt === 'skip'
          ? read.catch((error: unknown) => {
              if (error instanceof CorruptFileError) return { skipped: error.path, reason: error.message };
              throw error;
            })
          : read,
      );
    }
    const results = await Promise.all(reads);
    const skipped: { id: string; reason: string }[] = [];
    const kept = results.filter((r) => 'pixels' in r).length;
    const images = reuseBuffers
      ? ringBuffer(sequence).subarray(0, kept * pixelsPerImage)
      : new Float32Array(kept * pixelsPerImage);
    const labels = new Int32Array(kept);
    const ids: string[] = [];
    let n = 0;
    for (let k = 0; k < results.length; k++) {
      const r = results[k];
      if (!('pixels' in r)) {
        skipped.push({ id: r.skipped, reason: r.reason });
        continue;
      }
      writeImage(
        r.pixels,
        height,
        width,
        channels,
        flips[first + k] === 1,
        table,
        images,
        n * pixelsPerImage,
      );
      labels[n] = r.label;
      ids.push(r.id);
      n++;
    }
    return { batch: { images, labels, ids, size: kept, epoch: plan.epoch, index: plan.index }, skipped };
  };

  interface Pending {
    readonly plan: Plan;
    readonly result: Promise<Built>;
  }
  const queue: Pending[] = [];
  let planned = 0; // batches planned by this stream, numbering the ring slots
  let finished = false;
  const skippedList: { id: string; reason: string }[] = [];

  const enqueue = (): boolean => {
    const plan = nextPlan();
    if (plan === undefined) return false;
    const result = build(plan, planned++);
    // A prefetched batch may fail before anyone awaits it; the failure is re-raised when it is consumed.
    result.catch(() => {});
    queue.push({ plan, result });
    return true;
  };

  const finish = (): IteratorResult<Batch> => {
    finished = true;
    queue.length = 0;
    return { done: true, value: undefined };
  };

  const batchesPerEpoch = dropLast ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);

  const stream: BatchStream = {
    batchesPerEpoch,
    get skipped() {
      return skippedList;
    },
    getState: () => ({ ...delivered }),
    async next(): Promise<IteratorResult<Batch>> {
      if (finished) return { done: true, value: undefined };
      if (queue.length === 0 && !enqueue()) return finish();
      const head = queue.shift()!;
      // Keep `prefetch` batches in flight behind the one being delivered.
      while (queue.length < prefetch && enqueue()) {}
      let built: Built;
      try {
        built = await head.result;
      } catch (error) {
        finish();
        throw error;
      }
      skippedList.push(...built.skipped);
      delivered = { ...delivered, epoch: head.plan.epoch, position: head.plan.start + head.plan.count };
      return { done: false, value: built.batch };
    },
    async return(): Promise<IteratorResult<Batch>> {
      return finish();
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}
