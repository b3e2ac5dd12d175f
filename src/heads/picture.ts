/**
 * How a head is pictured (its `picture` field): a caption for the logits being compared, and the curves
 * worth comparing for heads whose boundary depends on a parameter, on state, or on the embedding norm
 * (MV-Softmax's t, CurricularFace's t, SphereFace's λ, MagFace's and AdaFace's norms, …). Only captions
 * and parameter choices live here; every boundary is computed by the head itself (src/viz draws them).
 */

/** One curve: parameters and state on top of the head's (validated) parameters, and a norm. */
export interface BoundaryVariant {
  label: string;
  params?: Record<string, unknown>;
  state?: Record<string, number>;
  /** Embedding norm ‖x‖ (default 1). */
  xNorm?: number;
}

/**
 * The curves to draw for a head, given its resolved parameters (defaults filled in) and the keys the user
 * set explicitly (a parameter the user fixed is not swept).
 */
export type VariantsOf = (p: Record<string, unknown>, given: ReadonlySet<string>) => BoundaryVariant[];

/**
 * The decision boundary between the target y and another class j, as the CurricularFace paper lists
 * them (easy: the sample is classified correctly; hard: a negative beats the margined target).
 */
export interface BoundaryFormula {
  /** The head as the paper names it. */
  label: string;
  easy: string;
  /** Boundary for hard samples where it differs. */
  hard?: string;
}

/** How a head is pictured. */
export interface HeadPicture {
  /** The logits being compared, target vs negative (caption). */
  formula: string;
  /** Curves to draw; the first is the head as configured and gets the shaded region. */
  variants: VariantsOf;
  /** Heads without a margin of their own (CenterLoss) show the head they are added to. */
  boundaryHead?: string;
  /**
   * For heads that transform hard negatives: the target angle θy (degrees) at which a third panel
   * shows both logits as cos θj sweeps [−1, 1], so the hard-negative treatment is visible even where
   * it does not move the boundary (MV-Softmax only changes logits that already lose).
   */
  negativesAt?: number;
  /** Its row in the page's table of decision-boundary formulas (heads of the CurricularFace paper). */
  boundary?: BoundaryFormula;
}

/** A parameter value as a number (NaN when it is not one). */
export const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
/** An angle in radians as degrees for a label, one decimal. */
export const degrees = (rad: number): string => `${((rad * 180) / Math.PI).toFixed(1)}°`;
/** A number for a label: at most three decimals, no trailing zeros. */
export const fmt = (v: number): string => String(Number(v.toFixed(3)));

/** Short label of the parameters that shape a boundary. */
export function describeParams(p: Record<string, unknown>, keys: readonly string[]): string {
  const parts = keys.filter((k) => typeof p[k] === 'number').map((k) => `${k} = ${fmt(num(p[k]))}`);
  return parts.length > 0 ? parts.join(', ') : 'defaults';
}

/** One curve, labelled with the given parameters. */
export const single =
  (...keys: string[]): VariantsOf =>
  (p) => [{ label: describeParams(p, keys) }];

/** Sweep one parameter unless the user fixed it (then draw only the configured head). */
export function sweep(
  key: string,
  values: readonly number[],
  label: (v: number) => string,
  fallbackKeys: readonly string[],
): VariantsOf {
  return (p, given) =>
    given.has(key)
      ? [{ label: describeParams(p, fallbackKeys) }]
      : [
          { label: label(num(p[key])) },
          ...values.filter((v) => v !== p[key]).map((v) => ({ label: label(v), params: { [key]: v } })),
        ];
}

/** The picture of a head that names none: one curve at its parameters. */
export const DEFAULT_PICTURE: HeadPicture = {
  formula: 'target logit vs negative logit',
  variants: () => [{ label: 'defaults' }],
};
