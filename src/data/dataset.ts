/** Builds a {@link Dataset} from a {@link SampleSource} plus what is known about its classes. */
import { InvalidArgumentError } from '../errors.js';
import { createBatchStream } from './batch-stream.js';
import type { BatchOptions, BatchStream, Dataset, Sample, SampleSource } from './types.js';

/** Everything {@link createDataset} needs besides the source. */
export interface DatasetInfo {
  readonly name: string;
  readonly numClasses: number;
  readonly labels?: Int32Array;
  readonly classNames?: readonly string[];
  /** Called once by `close()` (e.g. to close a file handle). */
  readonly close?: () => Promise<void>;
}

/**
 * Wraps a random-access source as a dataset. Labels returned by the source are checked against
 * `numClasses` so that a bad label fails at the sample that carries it, not inside the loss.
 */
export function createDataset(source: SampleSource, info: DatasetInfo): Dataset {
  const checked: SampleSource = {
    size: source.size,
    shape: source.shape,
    read: async (index: number): Promise<Sample> => {
      if (!Number.isInteger(index) || index < 0 || index >= source.size) {
        throw new InvalidArgumentError('index', `an integer in [0, ${source.size})`, index);
      }
      const sample = await source.read(index);
      if (!Number.isInteger(sample.label) || sample.label < 0 || sample.label >= info.numClasses) {
        throw new InvalidArgumentError(
          `label of ${sample.id}`,
          `an integer in [0, ${info.numClasses})`,
          sample.label,
        );
      }
      return sample;
    },
  };
  let closed = false;
  return {
    name: info.name,
    numClasses: info.numClasses,
    shape: source.shape,
    size: source.size,
    labels: info.labels,
    classNames: info.classNames,
    batches: (options: BatchOptions): BatchStream => createBatchStream(checked, options),
    read: checked.read,
    close: async () => {
      if (closed) return;
      closed = true;
      await info.close?.();
    },
  };
}

/**
 * A source over images already in memory: `pixels` holds `labels.length` images back to back. Samples
 * are views into `pixels` (no copy), so readers must not modify them.
 */
export function memorySource(
  shape: SampleSource['shape'],
  pixels: Uint8Array,
  labels: Int32Array,
  ids: (index: number) => string,
): SampleSource {
  const per = shape.height * shape.width * shape.channels;
  if (pixels.length !== labels.length * per) {
    throw new InvalidArgumentError('pixels', `${labels.length}×${per} bytes`, pixels);
  }
  return {
    size: labels.length,
    shape,
    read: async (index: number) => ({
      pixels: pixels.subarray(index * per, (index + 1) * per),
      label: labels[index],
      id: ids(index),
    }),
  };
}
