/**
 * TF.js integration: the margin-softmax operator as TF.js ops, `HeadLayer` + `marginLoss` for
 * `model.fit` and custom loops, save/load in Node, and backend selection. Every import of
 * `@tensorflow/tfjs` in the package lives under this directory.
 */
export { type BackendChoice, useBestBackend, useWasmBackend, wasmDistPath } from './backend.js';
export { type TfGeometry, targetTrig, tfGeometry } from './geometry.js';
export {
  type TfHeadInputs,
  type TfHeadStep,
  tfHeadGeometry,
  tfHeadLoss,
  tfHeadStep,
} from './head-step.js';
export { TFJS_TOLERANCE, tfjsImplementation } from './implementation.js';
export {
  fileSaveHandler,
  loadModel,
  MODEL_FILE,
  readModelArtifacts,
  saveModel,
  WEIGHTS_FILE,
} from './io.js';
export { HeadLayer, type HeadLayerArgs, type LayerVariable, labelsFrom, marginLoss } from './layer.js';
export { type TfLoss, tfLoss } from './loss.js';
export { type TfMarginInputs, tfMarginLogits } from './margin.js';
export type { Trig } from './target.js';
export { BORROWED_KERNELS, registerWasmTrainingKernels } from './wasm-kernels.js';
