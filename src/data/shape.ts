/** Validation of the target image shape that folder and record datasets resize to. */
import { InvalidArgumentError } from '../errors.js';
import type { ImageShape } from './types.js';

/** Input shape of MobileFaceNet / iResNet backbones: 112×112 RGB. */
export const FACE_SHAPE: ImageShape = { height: 112, width: 112, channels: 3 };

/** Checks a user-given shape: positive integer height and width, 1 or 3 channels. */
export function checkShape(name: string, shape: unknown): ImageShape {
  const expected = '{ height, width } positive integers and channels 1 or 3';
  if (typeof shape !== 'object' || shape === null) throw new InvalidArgumentError(name, expected, shape);
  const { height, width, channels } = shape as Record<string, unknown>;
  const positive = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 16384;
  if (!positive(height) || !positive(width) || (channels !== 1 && channels !== 3)) {
    throw new InvalidArgumentError(name, expected, shape);
  }
  return { height: height as number, width: width as number, channels };
}
