/**
 * Batch normalisation over the channels (last axis) as a serialisable layer with tf.layers'
 * semantics — weights gamma, beta, moving_mean, moving_variance; the batch's mean and biased variance in
 * training, moving averages with `momentum` updated after each training call, the moving statistics in
 * inference — whose training step runs as one native kernel and one native gradient when the native
 * engine's cpu kernels are registered (see `src/kernels/batch-norm.ts`), and as TF.js ops elsewhere.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTrainingStep } from '../../kernels/index.js';

/** Constructor arguments of {@link BatchNorm}. */
export interface BatchNormArgs {
  /** Added to the variance before the square root. Default 1e-3, as tf.layers. */
  epsilon?: number;
  /** Weight of the old value in each moving-average update. Default 0.99, as tf.layers. */
  momentum?: number;
  /** Whether gamma is learned (default true); false keeps it at its value, like insightface's `features`. */
  trainableGamma?: boolean;
  name?: string;
}

type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;

/** Channels-last batch normalisation; see the module documentation. */
export class BatchNorm extends tf.layers.Layer {
  /** Name under which the class is registered for deserialisation. */
  static className = 'FaceVerLossBatchNorm';
  readonly epsilon: number;
  readonly momentum: number;
  readonly trainableGamma: boolean;
  private gamma: LayerVariable | null = null;
  private beta: LayerVariable | null = null;
  private movingMean: LayerVariable | null = null;
  private movingVariance: LayerVariable | null = null;

  constructor(args: BatchNormArgs = {}) {
    super({ name: args.name });
    this.epsilon = args.epsilon ?? 1e-3;
    this.momentum = args.momentum ?? 0.99;
    this.trainableGamma = args.trainableGamma ?? true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = [shape[shape.length - 1] as number];
    // The order and names of tf.layers' batchNormalization, so weights line up one for one.
    this.gamma = this.addWeight(
      'gamma',
      channels,
      'float32',
      tf.initializers.ones(),
      undefined,
      this.trainableGamma,
    );
    this.beta = this.addWeight('beta', channels, 'float32', tf.initializers.zeros());
    this.movingMean = this.addWeight(
      'moving_mean',
      channels,
      'float32',
      tf.initializers.zeros(),
      undefined,
      false,
    );
    this.movingVariance = this.addWeight(
      'moving_variance',
      channels,
      'float32',
      tf.initializers.ones(),
      undefined,
      false,
    );
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const gamma = this.gamma!.read() as tf.Tensor1D;
      const beta = this.beta!.read() as tf.Tensor1D;
      if (!kwargs.training) {
        return tf.batchNorm(
          x,
          this.movingMean!.read(),
          this.movingVariance!.read(),
          beta,
          gamma,
          this.epsilon,
        );
      }
      const { y, movingMean, movingVariance } = batchNormTrainingStep(tf, x, gamma, beta, this.epsilon, {
        mean: this.movingMean!.read() as tf.Tensor1D,
        variance: this.movingVariance!.read() as tf.Tensor1D,
        momentum: this.momentum,
      });
      this.movingMean!.write(movingMean);
      this.movingVariance!.write(movingVariance);
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      epsilon: this.epsilon,
      momentum: this.momentum,
      trainableGamma: this.trainableGamma,
    };
  }
}
tf.serialization.registerClass(BatchNorm);
