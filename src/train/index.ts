/**
 * Training: backbones (LeNet++, MobileFaceNet, resnet-lite, IResNet and insightface checkpoints), the configuration schema, optimisers and
 * schedules, atomic checkpoints, the custom training loop and the run folder it writes.
 */

export {
  ALL_PAIRS_MAX_IMAGES,
  allPairsTar,
  formatTar,
  HELDOUT_FAR_TARGETS,
  type HeldOutTar,
} from './all-pairs.js';
export * from './backbones/index.js';
export {
  type CheckpointState,
  checkpointDir,
  type LoadedCheckpoint,
  readCheckpoint,
  recoverCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
export {
  BACKBONE_NAMES,
  flagName,
  mergeTrainConfig,
  parseTrainConfig,
  readConfigFile,
  type TrainConfig,
  type TrainConfigInput,
  trainConfigSchema,
} from './config.js';
export { openRunData, type RunData } from './data.js';
export { imageEmbedder, imagePixels, loadRunEmbedder } from './embedder.js';
export { type EmbeddingModel, openEmbeddingModel } from './embedding-model.js';
export { TrainingDivergedError } from './errors.js';
export { type Embedded, embedDataset, type HeldOutVerification, verifyHeldOut } from './evaluate.js';
export {
  createOptimizer,
  type OptimizerState,
  optimizerState,
  setOptimizerState,
  type TrainOptimizer,
} from './optimizer.js';
export {
  initFromTorch,
  isTorchCheckpointPath,
  loadTorchIResNet,
  type PretrainedIResNet,
} from './pretrained.js';
export { createProgress, type ProgressReporter, type ProgressUpdate, silentProgress } from './progress.js';
export { RunFolder } from './run-dir.js';
export { acquireRunLock, lockFile, type RunLock } from './run-lock.js';
export { learningRate } from './schedule.js';
export { buildModel, type EpochResult, type TrainOptions, type TrainResult, train } from './trainer.js';
