/**
 * Failures that random fuzzing once found, kept as fixed cases so they stay fixed whatever the random
 * budget: each ran against the code of its time and failed; `found` says how and what it was.
 */
import type { OperatorCase } from './operator.js';

/** An operator case that an fp32 implementation once got wrong. */
export interface OperatorRegression {
  readonly found: string;
  readonly case: OperatorCase;
}

/**
 * The native kernel shifted the negatives' exponentials by an fp32-rounded log-sum-exp but took the
 * target's in double against the exact one, so Σ softmax ≠ 1 by |logit|·2⁻²⁴ and a near-tied row's
 * dL/dX (a small difference of large terms) lost its digits. The first case is the QAMFace one (a 780,000-case
 * run); the others are near-tied rows of cosine heads the native kernel failed in the same way (found
 * by {@link tiedOperatorCase}, seed 20261128).
 */
export const OPERATOR_REGRESSIONS: readonly OperatorRegression[] = [
  {
    found: 'native grads.X 7.0e-3 of max|ref| (TF.js 3.2e-4)',
    case: {
      head: 'qamface',
      tweaks: { margin: 0 },
      B: 2,
      D: 2,
      C: 8,
      seed: 1252022930,
      normSpread: 0,
    },
  },
  {
    found: 'near-tied rows: native grads.X 2.2e-3 (TF.js 5.6e-5)',
    case: {
      head: 'arcface',
      tweaks: {
        scale: 83.93664771020782,
        margin: 1.418996674074e-27,
        m3: 4.6631956765935606e-297,
        t: 1.4149792038482824e-265,
        normalizeEmbeddings: false,
        gradient: 'straight-through',
      },
      B: 1,
      D: 2,
      C: 3,
      seed: 1561772401,
      normSpread: 2.5730148558785987e-87,
      tie: -6.999999999999995,
    },
  },
  {
    found: 'near-tied rows: native grads.X 1.6e-3 (TF.js 6.7e-5)',
    case: {
      head: 'cosface',
      tweaks: {
        scale: 127.99999999999984,
        m2: 2.9050281534940195e-33,
        m3: 1.068511471125076e-117,
        t: 5.662525990698328e-279,
        fallback: 'none',
        loss: 'distce',
        normalizeEmbeddings: true,
        weightNorm: 'functional',
      },
      B: 4,
      D: 7,
      C: 3,
      seed: 2147483635,
      normSpread: 1.5e-323,
      tie: -2.7029934697500875,
    },
  },
  {
    found: 'near-tied rows: native grads.X 3.0e-3 (TF.js 4.9e-5)',
    case: {
      head: 'amsoftmax',
      tweaks: {
        margin: 0,
        m2: 5.234961033042992e-20,
        m3: 0,
        t: 1.4999999999999967,
        fallback: 'none',
        loss: 'distce',
        normalizeEmbeddings: true,
        weightNorm: 'overwrite',
        gradient: 'full',
      },
      B: 1,
      D: 7,
      C: 6,
      seed: 2065296203,
      normSpread: 4.5859534309408127e-32,
      tie: -3.6907577763548356,
    },
  },
  {
    found: 'near-tied rows: native grads.X 2.7e-3 (TF.js 1.0e-4)',
    case: {
      head: 'elasticface',
      tweaks: {
        scale: 74.53638821261085,
        margin: 0,
        m2: 0,
        m3: 0,
        t: 8e-323,
        fallback: 'above-margin',
        loss: 'focal',
        normalizeEmbeddings: true,
        weightNorm: 'functional',
        gradient: 'straight-through',
      },
      B: 2,
      D: 2,
      C: 2,
      seed: 782342031,
      normSpread: 5e-324,
      tie: -3.4477956344422798,
    },
  },
];

/** A parser input that was once accepted with a value it could not hold. */
export interface ParserRegression {
  readonly found: string;
  /** Key of the parser's check in `parserChecks`. */
  readonly parser: string;
  readonly input: string;
}

/** The embeddings reader stored 1e53 as float32 Infinity and accepted the file. */
export const PARSER_REGRESSIONS: readonly ParserRegression[] = [
  { found: '1e53 read as Infinity', parser: 'embeddings file', input: 'a 1e53 0\nb 1 2\n' },
  { found: 'just past the float32 range', parser: 'embeddings file', input: 'a,3.5e38,1\n' },
  { found: 'negative overflow', parser: 'embeddings file', input: 'a,-1e39,1\nb,0,0\n' },
];
