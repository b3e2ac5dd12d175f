/** The native engine: loading it, its matrix products and its thread pool. */
export { type SgemmArgs, sgemm, sgemmAsync, sgemmJs } from './gemm.js';
export {
  cosinesNative,
  marginSoftmaxNative,
  marginSoftmaxNativeAsync,
  NATIVE_TOLERANCE,
  type NativeHeadOptions,
  type NativeMarginArgs,
  type NativeMarginResult,
  type NativeSgd,
  nativeHeadForward,
  nativeHeadForwardAsync,
  nativeImplementation,
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
