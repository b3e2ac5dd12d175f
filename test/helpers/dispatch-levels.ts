/**
 * The native kernels are tested at every instruction-set level the CPU runs. Called inside a `describe`,
 * `dispatchLevels()` gives those levels (none without the engine) and, after the suite, sets the level it
 * found active and the default thread count again, so no other suite inherits a test's choice.
 */
import { afterAll } from 'vitest';
import {
  type DispatchLevel,
  engineInfo,
  loadEngine,
  setDispatch,
  setThreads,
} from '../../src/engine/index.js';

export function dispatchLevels(): DispatchLevel[] {
  const info = loadEngine() ? engineInfo() : { available: false as const };
  if (!info.available) return [];
  const original = info.dispatch;
  afterAll(() => {
    setDispatch(original);
    setThreads(0);
  });
  return info.levels;
}
