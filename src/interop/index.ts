/**
 * Interoperability with the PyTorch / insightface world, without TF.js: a safe pickle reader, PyTorch
 * checkpoints (zip and legacy formats), the mapping of insightface IResNet state dicts onto our layers,
 * `.npy` arrays, and ONNX models through the optional onnxruntime-web.
 */

export { type DType, type ElementArray, halfToFloat } from './dtype.js';
export {
  checkIResNetKeys,
  describeArchitecture,
  type IResNetArchitecture,
  inferIResNet,
  iresnetKeys,
  iresnetLayerWeights,
  type LayerWeights,
} from './iresnet-weights.js';
export { encodeNpy, NPY_MAX_BYTES, type NpyArray, parseNpy, readNpy } from './npy.js';
export { loadOnnxModel, ONNX_RUNTIME_PACKAGE, type OnnxModel } from './onnx.js';
export {
  type GlobalRule,
  type PickleDict,
  type PickleFail,
  type PickleObject,
  type PickleProfile,
  type PickleValue,
  type Unpickled,
  unpickleWith,
} from './pickle.js';
export {
  CHECKPOINT_MAX_BYTES,
  parseTorchCheckpoint,
  readTorchCheckpoint,
  type TorchCheckpoint,
  type TorchTensor,
} from './torch-checkpoint.js';
export { isZip, openZip, type ZipArchive, type ZipEntry } from './zip.js';
