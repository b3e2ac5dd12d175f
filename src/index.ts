/**
 * faceverloss: margin-based face-verification losses computed exactly as their reference code does.
 */
export * from './errors.js';
export * from './heads/index.js';
export * from './margin/index.js';
export { createRng, type Rng } from './rng.js';
