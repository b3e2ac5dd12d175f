/**
 * Evaluation: face verification metrics (k-fold accuracy, ROC, AUC, EER, TAR@FAR), closed-set
 * identification (rank-k, CMC), and readers for score files, LFW pairs files, embedding files and
 * insightface `.bin` verification sets. Definitions: docs/evaluation.md.
 */

export { type AngularStatistics, angularStatistics } from './angles.js';
export { argsortDescending } from './argsort.js';
export { auc } from './auc.js';
export { parseVerificationBin, readVerificationBin, type VerificationBin } from './bin-file.js';
export { cosineSimilarity, type Embedding, l2Normalize, pairSimilarities } from './cosine.js';
export { type EerResult, eer } from './eer.js';
export {
  type EmbeddingTable,
  imageId,
  parseEmbeddings,
  readEmbeddingsFile,
} from './embeddings-file.js';
export {
  type BinEmbedder,
  type BinEvaluation,
  type EmbedRequest,
  type EvaluateBinOptions,
  evaluateBin,
  type ModelLoader,
} from './evaluate-bin.js';
export {
  formatIdentificationTable,
  formatVerificationTable,
  identificationToJson,
  verificationToJson,
} from './format.js';
export {
  type IdentificationInput,
  type IdentificationResult,
  type IdentityLabel,
  identify,
} from './identification.js';
export { identityOf } from './identity.js';
export { foldBoundaries, type KFoldOptions, type KFoldResult, kFoldAccuracy } from './kfold.js';
export { mirrorPixels } from './mirror.js';
export { type PairSources, scorePairs } from './pair-scores.js';
export { type ImagePair, lfwImageId, parsePairs, readPairsFile } from './pairs-file.js';
export { type PickleValue, unpickle } from './pickle.js';
export { RankedScores, rankScores, type ScoreInput, toRanked } from './ranked.js';
export type { ReadOptions } from './read-file.js';
export { type RocCurve, rocCurve } from './roc.js';
export { parseScoresCsv, readScoresFile, type ScoreFile } from './scores-file.js';
export { DEFAULT_FAR_TARGETS, farLabel, type TarAtFar, tarAtFar } from './tar-at-far.js';
export { type CheckedScores, checkScores, type PairLabel, type ScoreSet } from './validate.js';
export {
  evaluateVerification,
  type VerificationOptions,
  type VerificationReport,
} from './verification.js';
