/**
 * Display formulas: one short line per head for the page (the numbers the page draws come from the
 * head's own code, not from these strings).
 */
const FORMULAS: Record<string, string> = {
  softmax: 'logit_c = w_c·x + b_c   (no normalisation; here with cosines as inputs)',
  normface: 'target s·cos θy,   others s·cos θj',
  sphereface: 'target ‖x‖·(ψ(θy) + λ·cos θy)/(1 + λ),  ψ(θ) = (−1)^k·cos(mθ) − 2k,  k = ⌊mθ/π⌋',
  cosface: 'target s·(cos θy − m),   others s·cos θj',
  amsoftmax: 'target s·(cos θy − m),   others s·cos θj',
  arcface: 'target s·cos(θy + m)  (fallback once θy + m > π),   others s·cos θj',
  combined: 'target s·(cos(m1·θy + m2) − m3),   others s·cos θj',
  curricularface: 'target s·cos(θy + m),   hard negatives s·cos θj·(t + cos θj)',
  mvsoftmax: 'target s·(cos θy − m) or s·cos(θy + m),   mis-classified negatives s·((t + 1)·cos θj + t)',
  circleloss: 'γ·αp·(cos θy − (1 − m)), αp = [1 + m − cos θy]₊;   γ·αn·(cos θj − m), αn = [cos θj + m]₊',
  discface: 'target s·(cos θy − m),   others s·cos θj   (+ λ·‖ε − ξ‖ on the features)',
  npcface: 'target s·cos(θy + m0 + m1·mean hard),   hard negatives s·(t·cos θj + α)',
  centerloss: '(1/B)·Σ ‖x_i − c_{y_i}‖²   (no logits, so no decision boundary)',
  adacos: 's·cos θ with s adapted every step (here a state slider)',
  magface: 'target s·cos(θy + m(‖x‖)),  m(a) linear from l_m to u_m over [l_a, u_a]',
  adamsoftmax: 'target s·(cos θy − m_y),  m_y learned per class (initial values here)',
  arcnegface: 'target s·cos(θy + m),  negatives s·(r·cos θj + r − 1),  r = α·exp(−(cos θj − φ)²/σ)',
  airface: 'target s·(π − 2(θy + m))/π,   others s·(π − 2θj)/π',
  qamface: 'target s·(2π − (θy + m))²,   others s·(2π − θj)²',
  adaface: 'target s·(cos(clip(θy − m·ẑ)) − (m + m·ẑ)),  ẑ = clip(h·(‖x‖ − μ)/(σ + ε), −1, 1)',
  'subcenter-arcface': 'target s·cos(θy + m) on the closest of K sub-centres,   others s·cos θj',
  elasticface: 'target s·cos(θy + m_i) or s·(cos θy − m_i),  m_i ~ N(m, σ) per sample (per grid point here)',
};

/** The display formula of a head (its name if none is listed). */
export function formulaOf(name: string): string {
  return FORMULAS[name] ?? name;
}
