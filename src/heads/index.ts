export { paperCenterUpdate } from './centerloss.js';
export {
  type CheckedInputs,
  type ForwardOptions,
  Head,
  type HeadInputs,
  type HeadOutput,
  type HeadState,
  type LearnableSpec,
} from './define.js';
export { type ClassSample, partialForward, sampleClasses } from './partialfc.js';
export { type CreateHeadOptions, createHead, headDefinition, headNames, resolveParams } from './registry.js';
