/**
 * Every registered head through the fp32 TF.js path against the fp64 oracle (`Head.forward`) on random
 * inputs: logits, loss, named parts, gradients of X, W and every learnable extra, parameters replaced
 * in forward, and state over consecutive training steps. Evaluation-mode logits are compared as well.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeMismatchError } from '../../src/errors.js';
import type { HeadInputs, HeadOutput } from '../../src/heads/define.js';
import { createHead, headNames } from '../../src/heads/registry.js';
import { createRng } from '../../src/rng.js';
import { tfHeadStep } from '../../src/tf/head-step.js';
import { TFJS_TOLERANCE, tfjsImplementation } from '../../src/tf/implementation.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const B = 6;
const D = 5;
const C = 4;

/** Non-default parameters so that the interesting branches are exercised. */
const PARAMS: Record<string, Record<string, unknown>> = {
  magface: { lambda: 5 },
  mvsoftmax: { type: 'arc', margin: 0.3 },
  elasticface: { sigma: 0.1, plus: true },
  'subcenter-arcface': { subCenters: 2 },
  discface: { displacement: 'per-class', maxNorm: 0.005 },
  sphereface: { lambdaBase: 5, lambdaMin: 1 },
};

function inputsFor(name: string, seed: number): HeadInputs {
  const rng = createRng(seed);
  const head = createHead(name, PARAMS[name]);
  const K = head.subCenters;
  // MagFace needs norms inside its [10, 110] band; the others get norms of order one.
  const norm = name === 'magface' ? 40 : 1.5;
  const X = Float64Array.from({ length: B * D }, () => norm * rng.normal());
  const W = Float64Array.from({ length: C * K * D }, () => rng.normal());
  const labels = Int32Array.from({ length: B }, (_, i) => (i * 3 + seed) % C);
  const extras: Record<string, Float64Array> = {};
  for (const [k, spec] of Object.entries(head.learnables(C, D))) extras[k] = spec.init(rng);
  if (extras.bias) extras.bias = extras.bias.map(() => 0.1 * rng.normal());
  return { X, W, labels, extras };
}

/** |got − ref| ≤ tol·max(1, max|ref|), element-wise, as the conformance runner measures it. */
function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, what: string): void {
  expect(got.length, `${what} length`).toBe(ref.length);
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) maxRef = Math.max(maxRef, Math.abs(ref[i]));
  const bound = TFJS_TOLERANCE * Math.max(1, maxRef);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
  expect(worst, `${what}: worst error ${worst} vs bound ${bound}`).toBeLessThanOrEqual(bound);
}

function compareOutputs(got: HeadOutput, ref: HeadOutput, step: number): void {
  expectClose(got.logits, ref.logits, `step ${step} logits`);
  expectClose(got.cos, ref.cos, `step ${step} cos`);
  expectClose([got.loss], [ref.loss], `step ${step} loss`);
  for (const [k, v] of Object.entries(ref.parts)) {
    expect(got.parts, `step ${step} part ${k}`).toHaveProperty(k);
    const g = got.parts[k];
    expectClose(typeof g === 'number' ? [g] : g, typeof v === 'number' ? [v] : v, `step ${step} parts.${k}`);
  }
  for (const [k, v] of Object.entries(ref.grads)) expectClose(got.grads[k], v, `step ${step} grads.${k}`);
  for (const [k, v] of Object.entries(ref.paramsAfterForward))
    expectClose(got.paramsAfterForward[k], v, `step ${step} paramsAfterForward.${k}`);
}

describe('TF.js head path vs the fp64 oracle', () => {
  it.each(headNames)('%s: outputs, gradients and state over 3 training steps', (name) => {
    const oracle = createHead(name, PARAMS[name], { rng: createRng(7) });
    const subject = createHead(name, PARAMS[name], { rng: createRng(7) });
    for (let step = 0; step < 3; step++) {
      const inputs = inputsFor(name, step + 1);
      const ref = oracle.forward(inputs, { training: true });
      const got = tfjsImplementation(subject, inputs);
      compareOutputs(got, ref, step);
      const refState = oracle.getState();
      const gotState = subject.getState();
      expect(Object.keys(gotState).sort()).toEqual(Object.keys(refState).sort());
      for (const k of Object.keys(refState))
        expectClose([gotState[k]], [refState[k]], `step ${step} state.${k}`);
    }
  });

  it.each(headNames.filter((n) => n !== 'centerloss'))(
    '%s: evaluation logits are the plain scaled cosines',
    (name) => {
      const oracle = createHead(name, PARAMS[name], { rng: createRng(3) });
      const subject = createHead(name, PARAMS[name], { rng: createRng(3) });
      const inputs = inputsFor(name, 9);
      const ref = oracle.forward(inputs, { training: false });
      const K = subject.subCenters;
      const logits = tf.tidy(() => {
        const extras: Record<string, tf.Tensor> = {};
        for (const [k, spec] of Object.entries(subject.learnables(C, D)))
          extras[k] = tf.tensor(Float32Array.from(inputs.extras![k]), spec.shape);
        const step = tfHeadStep(
          subject,
          {
            X: tf.tensor2d(Float32Array.from(inputs.X), [B, D]),
            W: tf.tensor2d(Float32Array.from(inputs.W), [C * K, D]),
            labels: inputs.labels as Int32Array,
            extras,
          },
          false,
        );
        return step.logits;
      });
      expectClose(logits.dataSync(), ref.logits, 'evaluation logits');
      logits.dispose();
      // Evaluation leaves state untouched.
      expect(subject.getState()).toEqual(createHead(name, PARAMS[name], { classes: C }).getState());
    },
  );

  it('rejects tensors whose shapes do not fit the head, naming the argument', () => {
    const head = createHead('subcenter-arcface', { subCenters: 2 });
    const X = tf.zeros([2, 3]) as tf.Tensor2D;
    const labels = Int32Array.from([0, 1]);
    const run =
      (W: tf.Tensor2D, l = labels) =>
      () =>
        tfHeadStep(head, { X, W, labels: l, extras: {} }, true);
    expect(run(tf.zeros([3, 3]) as tf.Tensor2D)).toThrow(ShapeMismatchError);
    expect(run(tf.zeros([4, 2]) as tf.Tensor2D)).toThrow(/W/);
    expect(run(tf.ones([4, 3]) as tf.Tensor2D, Int32Array.from([0, 2]))).toThrow(InvalidArgumentError);
    const bias = createHead('softmax');
    expect(() =>
      tfHeadStep(bias, { X, W: tf.ones([2, 3]) as tf.Tensor2D, labels, extras: {} }, true),
    ).toThrow(/extras\.bias/);
  });
});
