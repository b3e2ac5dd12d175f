/**
 * TF.js integration, safe in a browser: the margin-softmax operator as TF.js ops, the TF.js backend of
 * the head step, and `HeadLayer` + `marginLoss` for `model.fit` and custom loops. Nothing here imports a
 * Node module or the native engine; saving and loading models from files and picking the fastest
 * backend in Node are in `faceverloss/node`.
 */
export { type TfGeometry, targetTrig, tfGeometry } from './geometry.js';
export {
  type TfHeadInputs,
  type TfHeadStep,
  tfHeadGeometry,
  tfHeadLoss,
  tfHeadStep,
} from './head-step.js';
export { TFJS_TOLERANCE, tfjsImplementation } from './implementation.js';
export { HeadLayer, type HeadLayerArgs, type LayerVariable, labelsFrom, marginLoss } from './layer.js';
export { type TfLoss, tfLoss } from './loss.js';
export { type TfMarginInputs, tfMarginLogits } from './margin.js';
export type { Trig } from './target.js';
export { BORROWED_KERNELS, registerWasmTrainingKernels } from './wasm-kernels.js';
