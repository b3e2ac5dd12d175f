/**
 * Conformance with the reference implementations: fixture reading, the anchor → flags mapping, and
 * the runner behind `faceverloss golden`.
 */
export type { AnchorParams } from '../heads/anchor.js';
export { type AnchorMapping, fromAnchor } from './anchors.js';
export {
  decodeTensor,
  type Fixture,
  type FixtureStep,
  loadFixture,
  parseFixture,
  type Tensor,
} from './fixture.js';
export {
  type FixtureResult,
  fixtureFiles,
  formatFailures,
  type Implementation,
  type Mismatch,
  type RunOptions,
  referenceImpl,
  runFixture,
  runGoldenDir,
} from './runner.js';
