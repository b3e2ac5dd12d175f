/**
 * The two datasets of a run: training images and held-out images (never seen in training) for the
 * verification pairs. MNIST / Fashion-MNIST use the packages' documented per-class split; folders and
 * `.rec` files are split per class by {@link splitPerClass} (the first `trainPerClass` images of each
 * identity train, the rest are held out).
 */
import { existsSync, statSync } from 'node:fs';
import {
  type Dataset,
  type ImageFolderIndex,
  loadMnistVariant,
  openImageFolder,
  openInsightfaceRecordIO,
  scanImageFolder,
  splitPerClass,
  subsetDataset,
} from '../data/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { TrainConfig } from './config.js';

/** Training and held-out data plus a sentence describing the split (printed and stored in config.json). */
export interface RunData {
  train: Dataset;
  heldout: Dataset;
  split: string;
  /** Releases the open files behind the datasets (a no-op for MNIST / Fashion-MNIST). */
  close(): Promise<void>;
}

/** Default images per identity used for training when a folder or `.rec` is split. */
const DEFAULT_FOLDER_TRAIN_PER_CLASS = 20;

function capPerClass(ds: Dataset, perClass: number | undefined): Dataset {
  if (perClass === undefined || ds.labels === undefined) return ds;
  const seen = new Map<number, number>();
  const keep: number[] = [];
  ds.labels.forEach((label, i) => {
    const n = seen.get(label) ?? 0;
    seen.set(label, n + 1);
    if (n < perClass) keep.push(i);
  });
  return keep.length === ds.size ? ds : subsetDataset(ds, keep, ds.name);
}

/** What a folder's scan left out, as the end of the split sentence. */
function folderSkips(index: ImageFolderIndex | undefined): string {
  if (index === undefined) return '';
  const { empty, linked } = index.skipped;
  const names = (list: string[]) => (list.length > 5 ? `${list.slice(0, 5).join(', ')}, …` : list.join(', '));
  const parts = [
    ...(empty.length > 0 ? [`${empty.length} identity folder(s) without images (${names(empty)})`] : []),
    ...(linked.length > 0
      ? [`${linked.length} symbolic link(s) to folders, not followed (${names(linked)})`]
      : []),
  ];
  return parts.length === 0 ? '' : `; skipped ${parts.join(' and ')}`;
}

/** Open the configured data and split it. */
export async function openRunData(
  config: Pick<TrainConfig, 'data' | 'trainPerClass' | 'perClass' | 'heldoutPerClass' | 'imageSize'>,
): Promise<RunData> {
  const { data } = config;
  if (data === 'mnist' || data === 'fashion-mnist') {
    const base = { trainPerClass: config.trainPerClass };
    const train = await loadMnistVariant(data, { ...base, split: 'train', perClass: config.perClass });
    const heldout = await loadMnistVariant(data, {
      ...base,
      split: 'heldout',
      perClass: config.heldoutPerClass,
    });
    const per = config.trainPerClass ?? (data === 'mnist' ? 700 : 6000);
    return {
      train,
      heldout,
      split:
        `${data}: training uses images 0…${Math.min(per, config.perClass ?? per) - 1} of each class file of the ` +
        `npm package; verification pairs come only from images ${per} onwards (never seen in training)`,
      close: async () => {},
    };
  }
  if (!existsSync(data)) {
    throw new InvalidArgumentError(
      '--data',
      "'mnist', 'fashion-mnist', an image folder or a .rec file",
      data,
    );
  }
  const size = config.imageSize;
  const shape = { height: size, width: size, channels: 3 as const };
  const isFolder = statSync(data).isDirectory();
  const index = isFolder ? await scanImageFolder(data) : undefined;
  const parent = index
    ? await openImageFolder(data, { shape, index })
    : data.endsWith('.rec')
      ? await openInsightfaceRecordIO(data, { shape })
      : undefined;
  if (parent === undefined) {
    throw new InvalidArgumentError(
      '--data',
      "'mnist', 'fashion-mnist', an image folder or a .rec file",
      data,
    );
  }
  if (parent.labels === undefined) {
    await parent.close();
    throw new InvalidArgumentError('--data', 'a dataset whose labels are known without decoding', data);
  }
  const per = config.trainPerClass ?? DEFAULT_FOLDER_TRAIN_PER_CLASS;
  const { train, heldout } = splitPerClass(parent, per);
  const capped = {
    train: capPerClass(train, config.perClass),
    heldout: capPerClass(heldout, config.heldoutPerClass),
  };
  const heldoutIdentities = new Set(capped.heldout.labels).size;
  return {
    ...capped,
    split:
      `${data} (${isFolder ? 'image folder' : 'insightface RecordIO'}, ${parent.size} images of ` +
      `${parent.numClasses} identities): the first ${per} images of each identity ` +
      `(${isFolder ? 'file' : 'record key'} order) train (${capped.train.size} used); the rest are held ` +
      `out for verification pairs (${capped.heldout.size} used, from ${heldoutIdentities} identities with ` +
      `more than ${per} images), never seen in training${folderSkips(index)}`,
    close: () => parent.close(),
  };
}
