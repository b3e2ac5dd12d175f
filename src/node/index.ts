/**
 * The Node-only side of the TF.js integration: saving and loading layers models as files (with head
 * state), and picking the fastest TF.js backend (the native engine's kernels, else wasm, else cpu).
 * Browser code imports `faceverloss/tf` instead, which has none of this.
 */
export { type BackendChoice, useBestBackend, useWasmBackend, wasmDistPath } from './backend.js';
export {
  fileSaveHandler,
  loadModel,
  MODEL_FILE,
  readModelArtifacts,
  saveModel,
  WEIGHTS_FILE,
} from './io.js';
