/**
 * The contract between datasets and trainers: a dataset is a random-access collection of decoded
 * uint8 images with integer labels, and a trainer consumes it as a stream of normalised float batches.
 * Nothing here depends on a tensor library, so any backend can wrap the typed arrays it receives.
 */

/** Height, width and channel count of every image a dataset yields (pixels are stored H×W×C). */
export interface ImageShape {
  readonly height: number;
  readonly width: number;
  /** 1 (grey) or 3 (RGB). */
  readonly channels: 1 | 3;
}

/** One decoded image: `height·width·channels` bytes in row-major H×W×C order, 0…255. */
export interface Sample {
  readonly pixels: Uint8Array;
  /** Class index in [0, numClasses). */
  readonly label: number;
  /** Stable name of the image (file path relative to the dataset root, record key, …). */
  readonly id: string;
}

/**
 * Random access to the samples of a dataset. Implementations read lazily (one image per call), so a
 * dataset never has to fit in memory.
 */
export interface SampleSource {
  /** Number of samples. */
  readonly size: number;
  readonly shape: ImageShape;
  /** Decodes sample `index` (0 ≤ index < size); rejects with `CorruptFileError` for unreadable data. */
  read(index: number): Promise<Sample>;
}

/**
 * Pixel range of the float images in a batch.
 * - `'[-1,1]'`: `(p − 127.5) / 127.5`, the insightface / arcface_torch convention (default).
 * - `'[0,1]'`: `p / 255`.
 */
export type PixelRange = '[-1,1]' | '[0,1]';

/** One training batch. */
export interface Batch {
  /** `size × height × width × channels` floats (NHWC) in the stream's {@link PixelRange}. */
  readonly images: Float32Array;
  /** `size` class indices. */
  readonly labels: Int32Array;
  /** `size` sample ids, in the same order as `labels`. */
  readonly ids: string[];
  /** Number of samples in this batch (less than the batch size for a short last batch or skipped files). */
  readonly size: number;
  /** Epoch this batch belongs to (0-based). */
  readonly epoch: number;
  /** Index of this batch within its epoch (0-based). */
  readonly index: number;
}

/**
 * Where a stream stands, as plain JSON: store it in a checkpoint and pass it back as
 * {@link BatchOptions.state} to continue with exactly the batches that would have come next.
 * The order and flips of an epoch are a pure function of `(seed, epoch)`, so no generator state
 * beyond these numbers is needed.
 */
export interface IterationState {
  readonly version: 1;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly flip: boolean;
  /** Dataset size the state was taken on; resuming on a different size is refused. */
  readonly size: number;
  /** Epoch of the next sample to deliver. */
  readonly epoch: number;
  /** Number of samples of that epoch's order already delivered (or skipped as corrupt). */
  readonly position: number;
}

/** How to turn a dataset into batches. */
export interface BatchOptions {
  /** Samples per batch (positive integer). */
  readonly batchSize: number;
  /** Visit samples in a seeded random order each epoch (default true). */
  readonly shuffle?: boolean;
  /** Seed of the order and the flips (integer, default 0). */
  readonly seed?: number;
  /** Mirror each image horizontally with probability 0.5, seeded (default false). */
  readonly flip?: boolean;
  /** Drop the last batch of an epoch when it is short (default false). */
  readonly dropLast?: boolean;
  /**
   * Decode only part `index` of `count` equal, contiguous parts of every batch (rows
   * index·batchSize/count … (index+1)·batchSize/count − 1): each rank of a data-parallel job reads its
   * own rows of the same global batch. Needs `dropLast` and a `batchSize` divisible by `count`; the
   * stream's position still advances by whole batches.
   */
  readonly part?: { readonly index: number; readonly count: number };
  /** Epoch after which the stream ends: it runs until epoch `epochs − 1` is done (default 1). */
  readonly epochs?: number;
  /** Continue from a saved {@link IterationState} instead of epoch 0, position 0. */
  readonly state?: IterationState;
  /** Batches decoded ahead of the consumer (default 2; 0 decodes on demand). */
  readonly prefetch?: number;
  /** Images decoded at the same time (default 4). */
  readonly concurrency?: number;
  /** Pixel range of `images` (default `'[-1,1]'`). */
  readonly range?: PixelRange;
  /**
   * `'throw'` (default): a corrupt image rejects the batch with `CorruptFileError`.
   * `'skip'`: the image is left out of its batch (which is then shorter) and counted in
   * {@link BatchStream.skipped}.
   */
  readonly onCorrupt?: 'throw' | 'skip';
  /**
   * Recycle the `images` arrays of a ring of `prefetch + 2` batch buffers instead of allocating one per
   * batch (large fresh allocations cost page faults on every step). A batch's `images` then stay valid
   * only until the consumer has asked for the batch after the next one: copy what must live longer.
   * Default false.
   */
  readonly reuseBuffers?: boolean;
}

/** An async iterator of batches whose position can be saved and restored. */
export interface BatchStream extends AsyncIterableIterator<Batch> {
  /** State after the last batch handed out: resuming from it yields the batches that follow. */
  getState(): IterationState;
  /** Ids (and reasons) of the images skipped so far with `onCorrupt: 'skip'`. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
  /** Number of full or short batches per epoch under the stream's options. */
  readonly batchesPerEpoch: number;
}

/** What a trainer needs to know about a dataset, and how to iterate it. */
export interface Dataset {
  /** Human-readable name, e.g. `mnist/train`. */
  readonly name: string;
  /** Number of classes (identities); labels are in [0, numClasses). */
  readonly numClasses: number;
  /** Shape of every image. */
  readonly shape: ImageShape;
  /** Number of samples, or undefined when it is not known without reading the whole dataset. */
  readonly size: number | undefined;
  /** Labels of every sample in index order when known without decoding images. */
  readonly labels?: Int32Array;
  /** Names of the classes in class-index order when known (folder names, digit names, …). */
  readonly classNames?: readonly string[];
  /** A stream of batches. */
  batches(options: BatchOptions): BatchStream;
  /** Decodes one sample by index. */
  read(index: number): Promise<Sample>;
  /** Releases open files (no-op for in-memory datasets). */
  close(): Promise<void>;
}
