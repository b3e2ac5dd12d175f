/**
 * With the native kernels registered on the cpu backend, TF.js's one-time advice to install tfjs-node is
 * not printed (the native kernels are the fast path); without them it is left alone.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { engineInfo } from '../../src/engine/index.js';
import { useBestBackend } from '../../src/node/index.js';

describe.skipIf(!engineInfo().available)('useBestBackend and the tfjs-node notice', () => {
  it('does not print the notice when the native kernels are active', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const choice = await useBestBackend();
      expect(choice.native).toBe(true);
      tf.tensor([1, 2, 3]).dispose();
      const notices = warn.mock.calls.filter((args) => String(args[0]).includes('tfjs-node'));
      expect(notices).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });
});
