/**
 * Per-channel sums of a kernel's output, taken by the kernel in the pass that wrote it and handed to a
 * later `Sum` over every axis but the last, which then reads them instead of the whole tensor.
 *
 * In a convolutional network's backward pass, the PReLU gradient's dx is the dy of the convolution
 * below, whose bias gradient is the sum of that dy over batch, rows and columns: a second pass over an
 * activation-sized tensor that the PReLU gradient can do for the cost of an addition per value while dx
 * is in registers. The sums are kept by the tensor's data id: TF.js never changes a tensor's values
 * under its data id (reshapes and identities share it along with the values), and an id is never
 * reused, so sums recorded for an id hold for as long as anything can read it.
 */
import type { TensorInfo } from './backend-access.js';

const sums = new WeakMap<object, Float32Array>();

/** Records `channelSums[c]`, the sum of `info`'s values over every axis but the last, for {@link channelSumsOf}. */
export function rememberChannelSums(info: TensorInfo, channelSums: Float32Array): void {
  sums.set(info.dataId, channelSums);
}

/**
 * A copy of the sums recorded for the values of `info` when it holds `channels` channels along its
 * last axis, or null when none were recorded for that layout.
 */
export function channelSumsOf(info: TensorInfo, channels: number): Float32Array | null {
  const found = sums.get(info.dataId);
  return found && found.length === channels ? found.slice() : null;
}
