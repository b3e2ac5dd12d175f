import { InvalidArgumentError } from '../errors.js';
import { type DispatchLevel, requireEngine } from './native.js';

/**
 * Sets the size of the native engine's thread pool and returns it. `0` restores the default: the
 * number of usable cores, or `FACEVERLOSS_THREADS` when that is set. Waits for a running product.
 * Throws NativeUnavailableError when the engine is not loaded.
 */
export function setThreads(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 1024) {
    throw new InvalidArgumentError('threads', 'an integer from 0 (default) to 1024', n);
  }
  return requireEngine().setThreads(n);
}

const levels: readonly DispatchLevel[] = ['scalar', 'avx2', 'avx512'];

/**
 * Selects the micro-kernel family (for comparisons and tests; the default is the best the CPU runs).
 * Throws InvalidArgumentError for a level this CPU cannot run. Call it between products, not during one.
 */
export function setDispatch(level: DispatchLevel): DispatchLevel {
  if (!levels.includes(level)) throw new InvalidArgumentError('level', `one of ${levels.join(', ')}`, level);
  const engine = requireEngine();
  const supported = engine.info().levels;
  if (!supported.includes(level)) {
    throw new InvalidArgumentError('level', `a level this CPU supports (${supported.join(', ')})`, level);
  }
  return engine.setDispatch(level);
}
