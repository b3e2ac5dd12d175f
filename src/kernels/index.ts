/**
 * TF.js `cpu` kernels run by the native engine: matrix products, convolutions (implicit GEMM), PReLU,
 * pooling, depthwise convolutions, element-wise arithmetic and the step of SGD with momentum, registered
 * over the cpu backend's own.
 * The only room that knows the cpu backend's internals (`backend-access.ts`); Node only.
 */

export {
  type BatchNormTrainingResult,
  type BatchNormTrainingStep,
  batchNormTraining,
  batchNormTrainingStep,
  type MovingStatistics,
} from './batch-norm.js';
export { conv2dWithBias } from './conv-bias.js';
export {
  NATIVE_KERNEL_NAMES,
  type NativeKernelName,
  nativeKernelActive,
  registerNativeKernels,
  unregisterNativeKernels,
} from './matmul-conv.js';
