/**
 * Warm start: a new run begins from another run's trained weights instead of random ones. NormFace
 * fine-tunes its normalised models from a softmax-trained one, and SphereFace's λ annealing starts as
 * softmax for the same reason: a normalised head's feature gradient is ∝ s/‖x‖ and its hard-negative
 * variants (MV-Softmax, CurricularFace) reweight "misclassified" classes, which at random initialisation
 * is nearly all of them; in 2-D that folds the class weights together. From a softmax-trained backbone the
 * classes are already apart and each head refines them its own way.
 *
 * The backbone's weights are copied, and the class weights when the source head's kernel has this head's
 * shape (softmax's W is D × C like ArcFace's). Biases, head state, optimiser slots and data order start
 * fresh: only the learned features carry over. A PyTorch IResNet checkpoint (`.pth`, insightface's
 * `backbone.pth`) initialises an IResNet backbone the same way (see pretrained.ts); the class weights
 * then start fresh.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import type { HeadLayer } from '../tf/index.js';
import { readCheckpoint } from './checkpoint.js';
import { initFromTorch, isTorchCheckpointPath } from './pretrained.js';

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * Copies the backbone (and, when shapes agree, the class weights) of the checkpoint in run folder
 * `source` into `backbone` and `head`. Returns what was copied, for the log.
 */
export function warmStart(source: string, backbone: tf.LayersModel, head: HeadLayer): string {
  return warmStartWith(source, backbone, (classWeights) => {
    const kernel = head.kernel;
    if (!kernel || classWeights.shape.join() !== kernel.shape.join()) return false;
    kernel.write(classWeights);
    return true;
  });
}

/**
 * {@link warmStart} with the class weights handed to `takeClassWeights`, which returns whether it used
 * them (a model-parallel run takes its rows of them).
 */
export function warmStartWith(
  source: string,
  backbone: tf.LayersModel,
  takeClassWeights: (classWeights: tf.Tensor) => boolean,
): string {
  if (isTorchCheckpointPath(source)) return initFromTorch(source, backbone);
  const saved = readCheckpoint(source);
  try {
    const mine = backbone.getWeights();
    // Checkpoints hold the model's weights in order: the backbone's, then the head's.
    if (saved.weights.length < mine.length) {
      throw new InvalidArgumentError(
        '--init',
        `a run folder whose backbone matches this run's (${mine.length} weight tensors)`,
        `${source} (${saved.weights.length} weight tensors in all)`,
      );
    }
    mine.forEach((w, i) => {
      const s = saved.weights[i].shape;
      if (s.join() !== w.shape.join()) {
        throw new InvalidArgumentError(
          '--init',
          `a run folder whose backbone matches this run's (weight ${i}: ${shapeText(w.shape)})`,
          `${source} (weight ${i}: ${shapeText(s)})`,
        );
      }
    });
    backbone.setWeights(saved.weights.slice(0, mine.length));
    const classWeights = saved.weights[mine.length];
    if (classWeights && takeClassWeights(classWeights)) return `backbone and class weights from ${source}`;
    return `backbone from ${source} (its class weights have another shape)`;
  } finally {
    tf.dispose(saved.weights);
  }
}
