/**
 * The heads the live-training panels offer and their parameters (kept free of TF.js so the page's main
 * bundle does not pull it in; the losses are in `margin-loss.ts`, loaded by the worker).
 */

/** Heads with a TF.js loss in `margin-loss.ts`. */
export const TRAINABLE_HEADS = ['softmax', 'normface', 'cosface', 'arcface'] as const;
export type TrainableHead = (typeof TRAINABLE_HEADS)[number];

/** Parameters of a trainable head (Softmax ignores both; NormFace ignores the margin). */
export interface TrainableParams {
  scale: number;
  margin: number;
}

/** Which parameters a trainable head uses. */
export function usesParam(head: TrainableHead, key: keyof TrainableParams): boolean {
  if (head === 'softmax') return false;
  return key === 'scale' || head !== 'normface';
}
