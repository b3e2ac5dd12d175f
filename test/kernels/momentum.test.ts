/**
 * SGD with momentum as one native kernel per variable: with the native kernels registered, TF.js's
 * MomentumOptimizer takes every step as FvlMomentumUpdate, to the bit what its own four ops give (values,
 * slots, slot names and order), for gradients given as a map or a list, across a change of learning
 * rate; Nesterov momentum keeps TF.js's own step; unregistering puts TF.js's method back.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/index.js';
import { registerNativeKernels, unregisterNativeKernels } from '../../src/kernels/index.js';
import { MOMENTUM_KERNEL } from '../../src/kernels/momentum.js';
import { onCpuBackend, rng, tensorOf } from '../helpers/tf-kernels.js';

const SHAPES = [[], [3], [5, 7], [3, 3, 4, 8], [260, 300]];

/** applyGradients' argument, a map of gradients by variable name or a list of them. */
type Gradients = Parameters<tf.MomentumOptimizer['applyGradients']>[0];

/** Variables of SHAPES from a seed, and a seeded gradient for each per step. */
function problem(seed: number) {
  const draw = rng(seed);
  const variables = SHAPES.map((shape, i) =>
    tf.variable(tensorOf(shape, draw), true, `momentum_${seed}_${i}`),
  );
  const gradients = (step: number) => {
    const g = rng(seed * 1000 + step);
    return variables.map((v) => tensorOf(v.shape, () => g() * 3));
  };
  return { variables, gradients };
}

/** Runs `steps` steps of a fresh optimiser; returns the variables' values and the optimiser's slots. */
async function run(native: boolean, seed: number, { nesterov = false, list = false } = {}) {
  if (native) expect(registerNativeKernels(tf)).toBe(true);
  else unregisterNativeKernels(tf);
  const { variables, gradients } = problem(seed);
  const optimizer = tf.train.momentum(0.05, 0.9, nesterov);
  for (let step = 0; step < 4; step++) {
    if (step === 2) optimizer.setLearningRate(0.013);
    const grads = gradients(step);
    // The last variable gets no gradient in step 1: it keeps its value and momentum.
    const given = variables
      .map((v, i) => ({ name: v.name, tensor: grads[i] }))
      .filter((_, i) => step !== 1 || i < 4);
    if (list) optimizer.applyGradients(given);
    else optimizer.applyGradients(Object.fromEntries(given.map((g) => [g.name, g.tensor])) as Gradients);
    tf.dispose(grads);
  }
  const slots = await optimizer.getWeights();
  const result = {
    values: variables.map((v) => Array.from(v.dataSync())),
    slots: slots.map((s) => ({ shape: s.tensor.shape, values: Array.from(s.tensor.dataSync()) })),
    slotNames: slots.map((s) => s.name.replace(/momentum_\d+_/, 'v')),
  };
  optimizer.dispose();
  tf.dispose(variables);
  return result;
}

describe.skipIf(!loadEngine())('SGD with momentum on the native kernel', () => {
  onCpuBackend();

  it.each([
    { list: false, seed: 11 },
    { list: true, seed: 12 },
  ])(
    'gives TF.js’s values, slots and slot names to the bit (gradients as a list: $list)',
    async ({ list, seed }) => {
      const ref = await run(false, seed, { list });
      const got = await run(true, seed, { list });
      expect(got).toEqual(ref);
    },
  );

  it('runs one kernel per variable and no Mul or Add; Nesterov momentum keeps TF.js’s ops, same values', async () => {
    expect(registerNativeKernels(tf)).toBe(true);
    const { variables, gradients } = problem(13);
    const grads = gradients(0);
    const names = async (nesterov: boolean) => {
      const optimizer = tf.train.momentum(0.1, 0.5, nesterov);
      const profile = await tf.profile(() => {
        optimizer.applyGradients(
          Object.fromEntries(variables.map((v, i) => [v.name, grads[i]])) as Gradients,
        );
      });
      optimizer.dispose();
      return profile.kernels.map((k) => k.name);
    };
    const fused = await names(false);
    expect(fused.filter((n) => n === MOMENTUM_KERNEL)).toHaveLength(variables.length);
    expect(fused).not.toContain('Multiply');
    expect(fused).not.toContain('Add');
    expect(await names(true)).not.toContain(MOMENTUM_KERNEL);
    expect(await run(true, 14, { nesterov: true })).toEqual(await run(false, 14, { nesterov: true }));
    tf.dispose([...variables, ...grads]);
  });

  it('registers idempotently and puts TF.js’s applyGradients back', () => {
    unregisterNativeKernels(tf);
    const original = tf.MomentumOptimizer.prototype.applyGradients;
    expect(tf.getKernel(MOMENTUM_KERNEL, 'cpu')).toBeUndefined();
    registerNativeKernels(tf);
    registerNativeKernels(tf);
    expect(tf.MomentumOptimizer.prototype.applyGradients).not.toBe(original);
    expect(tf.getKernel(MOMENTUM_KERNEL, 'cpu')).toBeDefined();
    unregisterNativeKernels(tf);
    unregisterNativeKernels(tf);
    expect(tf.MomentumOptimizer.prototype.applyGradients).toBe(original);
    expect(tf.getKernel(MOMENTUM_KERNEL, 'cpu')).toBeUndefined();
  });
});
