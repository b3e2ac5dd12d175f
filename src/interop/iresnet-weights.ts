/**
 * insightface IResNet state dicts → the weights of our TF.js IResNet (`src/train/backbones/iresnet.ts`),
 * layer by layer, with the layout changes between the two:
 *
 * - convolution kernels OIHW → HWIO;
 * - PReLU slopes [C] → [1, 1, C] (shared over height and width);
 * - batch norms weight, bias, running_mean, running_var → gamma, beta, moving_mean, moving_variance;
 * - `fc.weight` [F, C·H·W] (input in NCHW order) → a dense kernel [H·W·C, F] whose rows follow our NHWC
 *   flattening, so the network needs no transpose at run time.
 *
 * The architecture (blocks per stage, stem width, `num_features`, input side) is read from the keys and
 * shapes; missing, unexpected or mis-shaped keys are reported all together. Plain TypeScript: no TF.js.
 */
import { CheckpointMismatchError, CorruptFileError } from '../errors.js';
import type { TorchTensor } from './torch-checkpoint.js';

/** An IResNet as read from a state dict. */
export interface IResNetArchitecture {
  /** Blocks per stage. */
  readonly layers: readonly number[];
  /** Embedding size (`num_features`). */
  readonly numFeatures: number;
  /** Stem channels (64 in insightface; the stages have 1, 2, 4, 8 times as many). */
  readonly base: number;
  /** Side of the square input (112 when the last map is 7×7). */
  readonly inputSize: number;
}

/** One weight of a TF.js layer: its name in the layer (`kernel`, `gamma`, `alpha`, …), shape, values. */
export interface LayerWeights {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

const BN_PARTS = ['weight', 'bias', 'running_mean', 'running_var'] as const;
const BN_NAMES = ['gamma', 'beta', 'moving_mean', 'moving_variance'] as const;

/** Reads the architecture from the keys and shapes of an IResNet state dict. */
export function inferIResNet(tensors: ReadonlyMap<string, TorchTensor>, source: string): IResNetArchitecture {
  const conv1 = tensors.get('conv1.weight');
  const fc = tensors.get('fc.weight');
  if (conv1 === undefined || fc === undefined || conv1.shape.length !== 4 || fc.shape.length !== 2) {
    throw new CorruptFileError(
      source,
      'not an insightface IResNet state dict: expected conv1.weight [C, 3, 3, 3] and fc.weight [F, 8·C·H·W]',
    );
  }
  const layers = [0, 0, 0, 0];
  for (const key of tensors.keys()) {
    const m = /^layer([1-4])\.(\d+)\./.exec(key);
    if (m) layers[Number(m[1]) - 1] = Math.max(layers[Number(m[1]) - 1], Number(m[2]) + 1);
  }
  const base = conv1.shape[0];
  const side = Math.round(Math.sqrt(fc.shape[1] / (8 * base)));
  if (layers.includes(0) || side < 1 || side * side * 8 * base !== fc.shape[1]) {
    throw new CorruptFileError(
      source,
      `not an insightface IResNet state dict: blocks per stage [${layers.join(', ')}], ` +
        `fc.weight [${fc.shape.join(', ')}] for a ${base}-channel stem`,
    );
  }
  return { layers, numFeatures: fc.shape[0], base, inputSize: 16 * side };
}

/** Every key of the architecture's state dict with its shape (`num_batches_tracked` aside). */
export function iresnetKeys(arch: IResNetArchitecture): Map<string, readonly number[]> {
  const keys = new Map<string, readonly number[]>();
  const bn = (prefix: string, c: number) => {
    for (const part of BN_PARTS) keys.set(`${prefix}.${part}`, [c]);
  };
  const { base, numFeatures } = arch;
  keys.set('conv1.weight', [base, 3, 3, 3]);
  bn('bn1', base);
  keys.set('prelu.weight', [base]);
  let inplanes = base;
  arch.layers.forEach((blocks, stage) => {
    const planes = base * 2 ** stage;
    for (let b = 0; b < blocks; b++) {
      const p = `layer${stage + 1}.${b}`;
      const input = b === 0 ? inplanes : planes;
      bn(`${p}.bn1`, input);
      keys.set(`${p}.conv1.weight`, [planes, input, 3, 3]);
      bn(`${p}.bn2`, planes);
      keys.set(`${p}.prelu.weight`, [planes]);
      keys.set(`${p}.conv2.weight`, [planes, planes, 3, 3]);
      bn(`${p}.bn3`, planes);
      if (b === 0) {
        keys.set(`${p}.downsample.0.weight`, [planes, inplanes, 1, 1]);
        bn(`${p}.downsample.1`, planes);
      }
    }
    inplanes = planes;
  });
  const side = arch.inputSize / 16;
  bn('bn2', inplanes);
  keys.set('fc.weight', [numFeatures, inplanes * side * side]);
  keys.set('fc.bias', [numFeatures]);
  bn('features', numFeatures);
  return keys;
}

/** Checks keys, shapes and element types against the architecture; lists every difference. */
export function checkIResNetKeys(
  tensors: ReadonlyMap<string, TorchTensor>,
  arch: IResNetArchitecture,
  source: string,
): void {
  const expected = iresnetKeys(arch);
  const missing = [...expected.keys()].filter((k) => !tensors.has(k));
  const unexpected: string[] = [];
  const misshaped: string[] = [];
  for (const [key, tensor] of tensors) {
    const shape = expected.get(key);
    if (shape === undefined) {
      if (
        !/(^|\.)num_batches_tracked$/.test(key) ||
        !expected.has(key.replace(/num_batches_tracked$/, 'weight'))
      )
        unexpected.push(key);
    } else if (shape.join() !== tensor.shape.join()) {
      misshaped.push(`${key} [${tensor.shape.join(', ')}] (expected [${shape.join(', ')}])`);
    } else if (!(tensor.data instanceof Float32Array || tensor.data instanceof Float64Array)) {
      misshaped.push(`${key} of ${tensor.dtype} (expected floating point)`);
    }
  }
  if (missing.length + unexpected.length + misshaped.length > 0) {
    throw new CheckpointMismatchError(source, describeArchitecture(arch), missing, unexpected, misshaped);
  }
}

/** E.g. `iresnet-3-4-14-3, 64-channel stem, 512 features, 112×112 input`. */
export function describeArchitecture(arch: IResNetArchitecture): string {
  return `iresnet-${arch.layers.join('-')}, ${arch.base}-channel stem, ${arch.numFeatures} features, ${arch.inputSize}×${arch.inputSize} input`;
}

const floats = (t: TorchTensor) =>
  t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Float64Array);

/** OIHW → HWIO. */
function convKernel(t: TorchTensor): LayerWeights {
  const [o, i, kh, kw] = t.shape;
  const src = floats(t);
  const out = new Float32Array(src.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let h = 0; h < kh; h++)
        for (let w = 0; w < kw; w++)
          out[((h * kw + w) * i + b) * o + a] = src[((a * i + b) * kh + h) * kw + w];
  return { name: 'kernel', shape: [kh, kw, i, o], values: out };
}

/** fc.weight [F, C·S·S] (NCHW flattening) → kernel [S·S·C, F] (NHWC flattening). */
function fcKernel(t: TorchTensor, channels: number): LayerWeights {
  const [f, n] = t.shape;
  const spatial = n / channels;
  const src = floats(t);
  const out = new Float32Array(src.length);
  for (let o = 0; o < f; o++)
    for (let c = 0; c < channels; c++)
      for (let s = 0; s < spatial; s++) out[(s * channels + c) * f + o] = src[o * n + c * spatial + s];
  return { name: 'kernel', shape: [n, f], values: out };
}

/**
 * The weights of each TF.js layer (by the layer names of our IResNet) from a checked state dict
 * (see {@link checkIResNetKeys}).
 */
export function iresnetLayerWeights(
  tensors: ReadonlyMap<string, TorchTensor>,
  arch: IResNetArchitecture,
): Map<string, LayerWeights[]> {
  const get = (key: string) => tensors.get(key)!;
  const vector = (key: string, name: string): LayerWeights => ({
    name,
    shape: [get(key).shape[0]],
    values: floats(get(key)),
  });
  const out = new Map<string, LayerWeights[]>();
  for (const key of iresnetKeys(arch).keys()) {
    const dot = key.lastIndexOf('.');
    const layer = key.slice(0, dot);
    if (out.has(layer)) continue;
    if (key.endsWith('.running_mean') || key.endsWith('.running_var') || key.endsWith('.bias')) continue;
    const t = get(key);
    if (tensors.has(`${layer}.running_mean`)) {
      out.set(
        layer,
        BN_PARTS.map((part, i) => vector(`${layer}.${part}`, BN_NAMES[i])),
      );
    } else if (layer.endsWith('prelu')) {
      out.set(layer, [{ name: 'alpha', shape: [1, 1, t.shape[0]], values: floats(t) }]);
    } else if (layer === 'fc') {
      out.set(layer, [fcKernel(t, arch.base * 8), vector('fc.bias', 'bias')]);
    } else {
      out.set(layer, [convKernel(t)]);
    }
  }
  return out;
}
