/** The model of one rank of a model-parallel run. */
import type * as tf from '@tensorflow/tfjs';
import type { Comm } from '../../parallel/comm.js';
import { createBackbone } from '../backbones/index.js';
import type { TrainConfig } from '../config.js';
import { type ClassShard, createClassShard } from './class-shard.js';

/**
 * A model-parallel run's model: the backbone alone (it is what the checkpoint holds and evaluation
 * embeds with) and this rank's shard of the class weights.
 */
export function buildModelParallel(
  config: TrainConfig,
  shape: [number, number, number],
  classes: number,
  comm: Comm,
): { backbone: tf.LayersModel; head: undefined; model: tf.LayersModel; shard: ClassShard } {
  const shard = createClassShard(config, classes, comm);
  const backbone = createBackbone(config.backbone, {
    inputShape: shape,
    embeddingDim: config.embeddingDim,
    seed: config.seed,
    width: config.width,
  });
  return { backbone, head: undefined, model: backbone, shard };
}
