/** Learning-rate schedules over global steps, with an optional linear warm-up. */
import type { TrainConfig } from './config.js';

/** Learning rate at 0-based global `step` of `total` steps. */
export function learningRate(
  config: Pick<TrainConfig, 'lr' | 'schedule' | 'warmup'>,
  step: number,
  total: number,
): number {
  const { lr, schedule, warmup } = config;
  if (warmup > 0 && step < warmup) return (lr * (step + 1)) / warmup;
  const span = Math.max(1, total - warmup);
  const t = Math.min(1, Math.max(0, (step - warmup) / span));
  switch (schedule) {
    case 'constant':
      return lr;
    case 'cosine':
      return 0.5 * lr * (1 + Math.cos(Math.PI * t));
    case 'poly':
      return lr * (1 - t) ** 2;
    case 'step':
      // ×0.1 at 60 % and again at 85 % of training (the usual face-recognition milestones, scaled).
      return lr * (t < 0.6 ? 1 : t < 0.85 ? 0.1 : 0.01);
  }
}
