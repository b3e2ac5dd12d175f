/**
 * Seeded random numbers (xoshiro128**) so that everything random — ElasticFace margins, Partial FC
 * sampling, data order — is reproducible and its state can be saved in a checkpoint.
 */
import { InvalidArgumentError } from './errors.js';

/** A seeded random source; its state round-trips through `getState`/`setState` for checkpoints. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Serialisable state. */
  getState(): number[];
  /** Restore a state returned by `getState` (four unsigned 32-bit integers). */
  setState(state: number[]): void;
}

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
    t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** A generator seeded from a 32-bit integer. */
export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed)) throw new InvalidArgumentError('seed', 'an integer', seed);
  const init = splitmix32(seed);
  let s = [init(), init(), init(), init()];
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const nextU32 = () => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    s = s.map((v) => v >>> 0);
    return result;
  };
  const rng: Rng = {
    next: () => nextU32() / 4294967296,
    normal: () => {
      const u = 1 - rng.next();
      const v = rng.next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    int: (n: number) => Math.floor(rng.next() * n),
    getState: () => s.slice(),
    setState: (state: number[]) => {
      if (
        !Array.isArray(state) ||
        state.length !== 4 ||
        state.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)
      ) {
        throw new InvalidArgumentError('state', 'four unsigned 32-bit integers', state);
      }
      s = state.slice();
    },
  };
  return rng;
}
