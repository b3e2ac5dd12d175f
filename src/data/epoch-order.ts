/**
 * The visiting order and flip decisions of one epoch, derived from `(seed, epoch)` alone. Deriving
 * each epoch afresh (instead of continuing one generator across epochs) lets a stream jump to any
 * epoch, which is what makes resuming from a checkpoint exact and cheap.
 */
import { createRng } from '../rng.js';

/** Order and flips of one epoch. */
export interface EpochOrder {
  /** `order[k]` is the dataset index visited at position k. */
  readonly order: Int32Array;
  /** `flips[k]` is 1 when the sample at position k is mirrored. */
  readonly flips: Uint8Array;
}

/** Seed of the generator of one epoch: a 32-bit mix of the user seed and the epoch number. */
export function epochSeed(seed: number, epoch: number): number {
  // Multiplying by an odd constant before xor-ing keeps neighbouring (seed, epoch) pairs far apart;
  // createRng then scrambles the result with splitmix32.
  return (Math.imul(seed | 0, 0x85ebca6b) ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0;
}

/**
 * Builds the order of an epoch: a Fisher–Yates shuffle of 0…size−1 when `shuffle`, else the identity;
 * then one fair coin per position for the flips when `flip` (all zero otherwise). The generator draws
 * the permutation first and the flips second, so switching flips on does not change the order.
 */
export function epochOrder(
  size: number,
  seed: number,
  epoch: number,
  shuffle: boolean,
  flip: boolean,
): EpochOrder {
  const rng = createRng(epochSeed(seed, epoch));
  const order = new Int32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  if (shuffle) {
    for (let i = size - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }
  const flips = new Uint8Array(size);
  if (flip) for (let k = 0; k < size; k++) flips[k] = rng.next() < 0.5 ? 1 : 0;
  return { order, flips };
}
