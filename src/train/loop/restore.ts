/** A resumed run takes everything the next step depends on from its checkpoint. */
import type * as tf from '@tensorflow/tfjs';
import type { HeadLayer } from '../../tf/index.js';
import type { LoadedCheckpoint } from '../checkpoint.js';
import { setOptimizerState } from '../optimizer.js';
import type { RunFolder } from '../run-dir.js';
import type { TrainingState } from './state.js';

/** Weights, head state and random stream, optimiser slots, counters; metrics cut back to the checkpoint. */
export async function restoreCheckpoint(
  resumed: LoadedCheckpoint,
  target: { model: tf.LayersModel; head?: HeadLayer; optimizer: tf.Optimizer; run?: RunFolder },
  state: TrainingState,
): Promise<void> {
  const { model, head, optimizer, run } = target;
  model.setWeights(resumed.weights);
  for (const t of resumed.weights) t.dispose();
  // The state also travels in the layer's weights; state.json is the record the run wrote for it.
  head?.setHeadState(resumed.state.headState);
  if (resumed.state.rng && head?.head.random) head.head.random.setState(resumed.state.rng);
  state.step = resumed.state.step;
  state.epochStats = resumed.state.epochStats;
  // Slots are created on the first applyGradients; one zero-learning-rate step would move momentum,
  // so restore directly (TF.js matches slots to variables by position).
  await setOptimizerState(optimizer, resumed.optimizer);
  // Records written after the checkpoint are about steps this run trains again.
  // (`run` is absent on the ranks of a model-parallel run that do not write the folder.)
  if (resumed.state.metricsBytes !== undefined) run?.rollbackMetrics(resumed.state.metricsBytes);
}
