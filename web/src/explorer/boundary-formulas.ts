/**
 * The decision boundaries between the target y and another class j, as the CurricularFace paper lists
 * them (easy: the sample is classified correctly; hard: a negative beats the margined target).
 */

/** One row of the table. */
export interface BoundaryFormula {
  /** Registered head name the row belongs to. */
  head: string;
  label: string;
  easy: string;
  /** Boundary for hard samples where it differs. */
  hard?: string;
}

export const BOUNDARY_FORMULAS: readonly BoundaryFormula[] = [
  { head: 'softmax', label: 'Softmax', easy: '(W_y − W_j)·x + b_y − b_j = 0' },
  { head: 'sphereface', label: 'SphereFace', easy: 'cos(m·θy) = cos θj' },
  { head: 'cosface', label: 'CosFace', easy: 'cos θy − m = cos θj' },
  { head: 'arcface', label: 'ArcFace', easy: 'cos(θy + m) = cos θj' },
  {
    head: 'mvsoftmax',
    label: 'MV-Arc-Softmax',
    easy: 'cos(θy + m) = cos θj',
    hard: 'cos(θy + m) = (t + 1)·cos θj + t',
  },
  {
    head: 'curricularface',
    label: 'CurricularFace',
    easy: 'cos(θy + m) = cos θj',
    hard: 'cos(θy + m) = (t + cos θj)·cos θj',
  },
];
