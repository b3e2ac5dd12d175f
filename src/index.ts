/**
 * faceverloss: margin-based face-verification losses computed exactly as their reference code does.
 *
 * The root export holds the heads, the generic margin operator (fp64 reference) and the evaluation
 * metrics. TF.js layers, datasets, training, pictures, the native engine and the conformance runner
 * are sub-path exports: `faceverloss/tf`, `/data`, `/train`, `/viz`, `/engine`, `/golden`.
 */
export * from './errors.js';
export * from './eval/index.js';
export * from './heads/index.js';
export * from './margin/index.js';
export { createRng, type Rng } from './rng.js';
