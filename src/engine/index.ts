/** The native engine: loading it, its matrix products, the fused head kernel and its thread pool. */
export { type SgemmArgs, sgemm, sgemmAsync, sgemmJs } from './gemm.js';
export {
  NATIVE_TOLERANCE,
  type NativeHeadOptions,
  nativeHeadForward,
  nativeHeadForwardAsync,
  nativeImplementation,
} from './head-step.js';
export {
  cosinesNative,
  marginSoftmaxNative,
  marginSoftmaxNativeAsync,
  type NativeMarginArgs,
  type NativeMarginResult,
  type NativeSgd,
} from './margin.js';
export {
  type DispatchLevel,
  type EngineInfo,
  engineInfo,
  loadEngine,
  type NativeBinding,
  type NativeInfo,
  requireEngine,
  type SgemmParams,
} from './native.js';
export { type NativePartialArgs, type NativePartialResult, partialStepNative } from './partialfc.js';
export { setDispatch, setThreads } from './threads.js';
