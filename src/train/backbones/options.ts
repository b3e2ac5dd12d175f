/** What every backbone constructor takes. */
export interface BackboneOptions {
  /** Input image shape, height × width × channels. */
  readonly inputShape: readonly [number, number, number];
  /** Embedding dimension D (the backbone's output width). */
  readonly embeddingDim: number;
  /** Seed of the initial weights. */
  readonly seed: number;
  /** Channel multiplier (1 = the published widths). */
  readonly width?: number;
}
