/**
 * IResNet: the TF.js network has exactly the weights of insightface's state dict (same count, same
 * elements), named depths have insightface's sizes, and a state dict that does not fit is refused with
 * every difference listed.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { CheckpointMismatchError, UnknownNameError } from '../../src/errors.js';
import { checkIResNetKeys, iresnetKeys, readTorchCheckpoint } from '../../src/interop/index.js';
import { createBackbone, IRESNET_DEPTHS, iresnetLayers, parseTrainConfig } from '../../src/train/index.js';

const FIXTURE = new URL('../fixtures/interop/iresnet-1111-w8.pth', import.meta.url).pathname;
const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

describe('IResNet', () => {
  it('names insightface depths and the custom form', () => {
    expect(IRESNET_DEPTHS.iresnet50).toEqual([3, 4, 14, 3]);
    expect(IRESNET_DEPTHS.iresnet100).toEqual([3, 13, 30, 3]);
    expect(iresnetLayers('iresnet-2-1-1-7')).toEqual([2, 1, 1, 7]);
    expect(iresnetLayers('iresnet-0-1-1-1')).toBeUndefined();
    expect(parseTrainConfig({ backbone: 'iresnet-1-2-3-4' }).backbone).toBe('iresnet-1-2-3-4');
    expect(() => parseTrainConfig({ backbone: 'iresnet-1-2-3' })).toThrow(/--backbone/);
    expect(() => createBackbone('iresnet7', { inputShape: [112, 112, 3], embeddingDim: 8, seed: 1 })).toThrow(
      UnknownNameError,
    );
  });

  it('has the state-dict size of insightface IResNet-50 and -18 (counted with PyTorch)', () => {
    // len(state_dict) without num_batches_tracked, and the number of elements, of insightface's
    // iresnet50 / iresnet18 with num_features=512, as PyTorch 1.13 reports them.
    for (const [name, keys, total] of [
      ['iresnet50', 396, 43_628_992],
      ['iresnet18', 156, 24_040_320],
    ] as const) {
      const expected = iresnetKeys({
        layers: IRESNET_DEPTHS[name],
        numFeatures: 512,
        base: 64,
        inputSize: 112,
      });
      expect(expected.size, name).toBe(keys);
      expect(
        [...expected.values()].reduce((s, shape) => s + elements(shape), 0),
        name,
      ).toBe(total);
    }
  });

  it('builds a network whose weights are the state dict, one for one', () => {
    const arch = { layers: [2, 1, 1, 2], numFeatures: 24, base: 8, inputSize: 112 };
    const model = createBackbone('iresnet-2-1-1-2', {
      inputShape: [112, 112, 3],
      embeddingDim: 24,
      seed: 3,
      width: 0.125,
    });
    const keys = iresnetKeys(arch);
    const total = [...keys.values()].reduce((s, shape) => s + elements(shape), 0);
    expect(model.countParams()).toBe(total);
    expect(model.weights.length).toBe(keys.size);
    // Only the embedding's batch-norm scale is frozen (insightface: features.weight requires no grad).
    const frozen = model.weights.filter((w) => !w.trainable && !/moving_/.test(w.name)).map((w) => w.name);
    expect(frozen).toEqual([expect.stringMatching(/^features\/gamma/)]);
    const out = model.predict(tf.zeros([1, 112, 112, 3])) as tf.Tensor;
    expect(out.shape).toEqual([1, 24]);
    tf.dispose([out]);
    model.dispose();
  });

  it('lists every missing, unexpected and mis-shaped key of a state dict that does not fit', () => {
    const { tensors } = readTorchCheckpoint(FIXTURE);
    const arch = { layers: [1, 1, 1, 1], numFeatures: 32, base: 8, inputSize: 112 };
    expect(() => checkIResNetKeys(tensors, arch, 'ok.pth')).not.toThrow();
    const edited = new Map(tensors);
    edited.delete('layer2.0.bn1.weight');
    edited.set('head.kernel', tensors.get('fc.bias')!);
    edited.set('fc.bias', { ...tensors.get('fc.bias')!, shape: [16] });
    let error: unknown;
    try {
      checkIResNetKeys(edited, arch, 'edited.pth');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CheckpointMismatchError);
    const mismatch = error as CheckpointMismatchError;
    expect(mismatch.missing).toEqual(['layer2.0.bn1.weight']);
    expect(mismatch.unexpected).toEqual(['head.kernel']);
    expect(mismatch.misshaped).toEqual(['fc.bias [16] (expected [32])']);
    expect(mismatch.message).toMatch(/^edited\.pth: the weights do not fit iresnet-1-1-1-1, 8-channel stem/);
  });
});
