/**
 * The parameter type of the generic margin-softmax operator.
 *
 * Every head in this package is this one computation with different settings:
 *
 * ```
 * cos_ij   = clamp( x̂_i · ŵ_j )                       (geometry)
 * logit_iy = s_i · φ(cos_iy)                           (target transform, per-row margins)
 * logit_ij = s_i · n(cos_ij)            j ≠ y_i        (negative transform: hard negatives, re-weighting)
 * loss     = L(logits, y)                              (CE, DistCE, batch focal, soft-plus pair form)
 * ```
 *
 * The fp64 reference (`reference.ts`), the TF.js ops and the native kernel all implement exactly this.
 */

/** How embeddings and class weights become cosines. */
export interface GeometrySpec {
  /** Divide each embedding by its norm first. `false` for heads that expect unit embeddings (AirFace…). */
  normalizeX: boolean;
  /**
   * `functional`: ŵ = w/‖w‖ inside the graph (gradient through the normalisation).
   * `overwrite`: the weight is replaced by its normalised copy before use, and the gradient is taken
   *   w.r.t. that copy (FaceVerLoss AMSoftmax / DiscFace / NPCFace write `W.data` in forward).
   * `none`: raw weights (plain linear classifier).
   */
  normalizeW: 'functional' | 'overwrite' | 'none';
  /** Sub-centres per class: W has C·K rows, class c owns rows c·K…c·K+K−1 and its cosine is their max. */
  subCenters: number;
  /** Clamp cosines to [−clamp, clamp]; `null` leaves them as computed. */
  clamp: number | null;
}

/**
 * A per-row quantity (margin or scale). A plain number applies to every row. Per-row values may carry
 * their derivative w.r.t. the raw embedding norm ‖x_i‖ (MagFace's margin, SphereFace's scale) so the
 * operator can chain the gradient into dX; omit `dNorm` for values that are constants (detached).
 */
export type RowParam = number | { value: Float64Array; dNorm?: Float64Array };

/** What to do with the target when θ' = m1·θ + m2 leaves [0, π] or the target is already poor. */
export type Fallback =
  /** Always use φ (insightface ArcFace, cavaface MV-Arc). */
  | 'none'
  /** φ if cos θ > 0, else cos θ ("easy margin"). */
  | 'easy'
  /** φ if θ' < π, else cos θ − m2·sin(π − m2) (ArcFace paper code, cavaface, CurricularFace). */
  | 'thmm'
  /** φ if θ' < π, else cos θ − fallbackMargin (FaceX-Zoo ArcFace/MagFace `margin_am`). */
  | 'am'
  /** φ if cos θ > m3, else cos θ (FaceX-Zoo MV-AM-Softmax). */
  | 'above-margin'
  /** θ' clipped to [clipEps, π − clipEps] (AdaFace). */
  | 'clip';

/** How the logit depends on the angle: the usual cosine, or AirFace's linear / QAMFace's quadratic map. */
export type AngleMap = 'cos' | 'linear' | 'quadratic';

/** φ(θ) = g(m1·θ + m2) − m3 with g the angle map: covers Softmax, CosFace, ArcFace, Combined, AirFace… */
export interface AngularTarget {
  kind: 'angular';
  /** Multiplicative angular margin (SphereFace-like); 1 for none. */
  m1: number;
  /** Additive angular margin in radians (ArcFace), shared or per row. */
  m2: RowParam;
  /** Additive cosine margin (CosFace), shared or per row. */
  m3: RowParam;
  /** Behaviour where the margin target leaves [0, π] or the target is already poor. */
  fallback: Fallback;
  /** Subtracted by the `am` fallback. */
  fallbackMargin?: number;
  /** Clip bound of the `clip` fallback. */
  clipEps?: number;
}

/**
 * SphereFace: ψ(θ) = (−1)^k cos(mθ) − 2k, k = ⌊mθ/π⌋, blended with cos θ as (ψ + λ·cos θ)/(1 + λ).
 * `pi` is the constant used for k (the reference code uses 3.14159265).
 */
export interface SphereTarget {
  kind: 'sphere';
  /** Integer angular multiplier. */
  m: number;
  /** Blend weight λ of cos θ (annealed by the head). */
  lambda: number;
  /** The value of π used for k. */
  pi: number;
}

/** CircleLoss: φ = αp·(cos − (1 − m)), αp = [1 + m − cos]₊ treated as a constant. */
export interface CircleTarget {
  kind: 'circle';
  /** Relaxation margin m: optimum sp = 1 − m, decision boundary at sp − sn = m. */
  m: number;
}

/** The target transform φ: angular (margin family), SphereFace's ψ, or CircleLoss's re-weighted positive. */
export type TargetSpec = AngularTarget | SphereTarget | CircleTarget;

/** Negatives are hard when cos_ij > cos(m1·θy + m2) − m3 (the raw margin target, without fallback). */
export interface HardThreshold {
  m1: number;
  m2: number;
  m3: number;
}

/**
 * NPCFace: the target margin of each row grows with its hard negatives:
 * m_i = m0 + m1·mean(hard values) (rows without hard negatives keep m0).
 */
export interface AdaptiveTargetMargin {
  /** Base margin (radians). */
  m0: number;
  /** Growth of the margin per unit of mean hard value. */
  m1: number;
  /** Average the transformed hard logits (`modified`, FaceVerLoss) or their raw cosines (`raw`, FaceX-Zoo). */
  source: 'modified' | 'raw';
  /** Whether the margin carries a gradient back into the hard negatives. */
  gradient: boolean;
}

/** How non-target cosines become logits (before the scale). */
export type NegativeSpec =
  /** Non-target logits are the plain (angle-mapped) cosines. */
  | { kind: 'plain' }
  /** Hard negatives → a·cos + b (MV-Softmax: a = t+1, b = t; NPCFace: a = t, b = α). */
  | { kind: 'hard-linear'; a: number; b: number; threshold: HardThreshold; adaptive?: AdaptiveTargetMargin }
  /** CurricularFace: hard negatives → cos·(t + cos), t an EMA of the mean target cosine. */
  | { kind: 'curricular'; t: number; threshold: HardThreshold }
  /** ArcNegFace: every negative → r·cos + r − 1, r = α·exp(−(cos − φ_i)²/σ) treated as a constant. */
  | { kind: 'arcneg'; alpha: number; sigma: number }
  /** CircleLoss: every negative → αn·(cos − m), αn = [cos + m]₊ treated as a constant. */
  | { kind: 'circle'; m: number }
  /** insightface inter-class filtering: negatives with cos > above are zeroed. */
  | { kind: 'filter'; above: number };

/** The loss computed on the scaled logits. */
export type LossSpec =
  /** Mean cross-entropy over the batch. */
  | { kind: 'ce' }
  /** insightface DistCrossEntropy: −mean log(max(p_y, 1e−30)); its gradient ignores the clamp. */
  | { kind: 'distce' }
  /** Focal weighting of the batch-mean CE: (1 − e^(−ce))^γ · ce (FaceVerLoss FocalLoss). */
  | { kind: 'focal'; gamma: number }
  /** CircleLoss pair form: mean softplus(lse_{j≠y} logit_ij − logit_iy), linear above `threshold`. */
  | { kind: 'softplus-pair'; threshold: number };

/** Everything after the cosines. */
export interface MarginSpec {
  /** Map from angle to logit: `cos` for all heads except AirFace (`linear`) and QAMFace (`quadratic`). */
  angleMap: AngleMap;
  /** Transform of the target cosine. */
  target: TargetSpec;
  /** Transform of the non-target cosines. */
  negatives: NegativeSpec;
  /** Logit scale s, shared or per row. */
  scale: RowParam;
  /** Loss computed on the scaled logits. */
  loss: LossSpec;
  /**
   * `full`: differentiate the margin. `straight-through`: dL/dcos = s·dL/dlogit as if there were no
   * margin (insightface applies its margin under no_grad).
   */
  gradient: 'full' | 'straight-through';
}
