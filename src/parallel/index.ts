/**
 * Model parallelism for huge class counts: the class-centre matrix split across processes, the
 * collectives behind a small {@link Comm} interface ({@link LocalComm} in one process, {@link MpiComm}
 * over MPI), and the sharded step of the margin softmax. See docs/scale-out.md.
 */
export { type Comm, type CommArray, LocalComm } from './comm.js';
export { MpiComm, mpiAvailable } from './mpi-comm.js';
export { type ShardRange, type ShardSample, sampleShard, shardLabels, shardRange } from './shard.js';
export {
  loadShardCheckpoint,
  readShardManifest,
  reshardCheckpoint,
  type ShardCheckpoint,
  type ShardManifest,
  saveShardCheckpoint,
} from './shard-checkpoint.js';
export { shardedHeadSpec } from './sharded-head.js';
export {
  checkShardable,
  encodeShardedSpec,
  type ShardPassArgs,
  type ShardStats,
  shardBackward,
  shardStats,
} from './sharded-kernel.js';
export { type ShardedStepArgs, type ShardedStepResult, shardedMarginStep } from './sharded-step.js';
