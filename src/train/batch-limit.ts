/** The largest `--batch` a run accepts, checked before anything is allocated or written. */
import { totalmem } from 'node:os';
import type { ImageShape } from '../data/index.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * Share of the machine's memory one batch of input images (float32) may take. The batch stream keeps a
 * few such buffers and the backbone's activations are many times the input, so a batch that needs more
 * than this cannot train anyway; refusing it up front beats an allocation failure mid-run.
 */
const INPUT_MEMORY_SHARE = 1 / 16;

/** Refuse a batch larger than the training split or than memory allows, naming `--batch`. */
export function checkBatch(batch: number, trainSize: number, shape: ImageShape): void {
  const bytesPerImage = shape.height * shape.width * shape.channels * 4;
  const byMemory = Math.max(1, Math.floor((totalmem() * INPUT_MEMORY_SHARE) / bytesPerImage));
  const most = Math.max(1, Math.min(trainSize, byMemory));
  if (batch > most) {
    throw new InvalidArgumentError(
      '--batch',
      `a whole number from 1 to ${most} (at most the ${trainSize} training images, and at most ${byMemory} ` +
        `images of ${shape.height}×${shape.width}×${shape.channels} in 1/16 of this machine's memory)`,
      batch,
    );
  }
}
