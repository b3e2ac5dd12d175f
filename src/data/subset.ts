/**
 * Views on part of a dataset: an explicit list of indices, or a deterministic per-class split into
 * training and held-out samples (the same rule the MNIST loaders use, for folders and records).
 */
import { InvalidArgumentError } from '../errors.js';
import { createDataset } from './dataset.js';
import type { Dataset } from './types.js';

/**
 * The samples `indices` of `parent`, in that order. Reads go through the parent, so the view shares
 * its open files: close the parent, not the view.
 */
export function subsetDataset(
  parent: Dataset,
  indices: ArrayLike<number>,
  name = `${parent.name}[subset]`,
): Dataset {
  const size = parent.size;
  if (size === undefined) throw new InvalidArgumentError('parent', 'a dataset of known size', parent.name);
  const picked = Int32Array.from(indices as ArrayLike<number>);
  for (let i = 0; i < picked.length; i++) {
    if (picked[i] !== indices[i] || picked[i] < 0 || picked[i] >= size) {
      throw new InvalidArgumentError(`indices[${i}]`, `an integer in [0, ${size})`, indices[i]);
    }
  }
  const labels = parent.labels === undefined ? undefined : picked.map((i) => parent.labels![i]);
  return createDataset(
    { size: picked.length, shape: parent.shape, read: (i: number) => parent.read(picked[i]) },
    { name, numClasses: parent.numClasses, labels, classNames: parent.classNames },
  );
}

/**
 * Splits `parent` class by class: the first `trainPerClass` samples of each class (in index order) go
 * to `train`, the others to `heldout`; labels are kept. Needs labels known without decoding
 * (`parent.labels`), which image folders and the MNIST loaders provide.
 */
export function splitPerClass(parent: Dataset, trainPerClass: number): { train: Dataset; heldout: Dataset } {
  if (!Number.isInteger(trainPerClass) || trainPerClass < 0) {
    throw new InvalidArgumentError('trainPerClass', 'a non-negative integer', trainPerClass);
  }
  const labels = parent.labels;
  if (labels === undefined)
    throw new InvalidArgumentError('parent', 'a dataset with known labels', parent.name);
  const seen = new Map<number, number>();
  const train: number[] = [];
  const heldout: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const count = seen.get(labels[i]) ?? 0;
    seen.set(labels[i], count + 1);
    (count < trainPerClass ? train : heldout).push(i);
  }
  return {
    train: subsetDataset(parent, train, `${parent.name}/train`),
    heldout: subsetDataset(parent, heldout, `${parent.name}/heldout`),
  };
}
