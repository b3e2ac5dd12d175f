export { computeGeometry, type Geometry, geometryBackward } from './geometry.js';
export { evaluateLoss, type LossResult } from './loss.js';
export {
  applyMargin,
  type MarginOutput,
  type MarginSoftmaxResult,
  marginSoftmax,
  marginSoftmaxOnGeometry,
} from './reference.js';
export * from './spec.js';
