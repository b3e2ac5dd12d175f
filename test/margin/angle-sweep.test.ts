/**
 * Angle sweeps: a 2-D embedding at angle a ∈ {0°, 1°, …, 180°} from its class weight (1, 0), against
 * fixed unit class weights, with the expected logits written out by hand for each margin and each branch.
 *
 * Logits are compared at 1e-12 of the row's largest |logit|. The loss is compared at 1e-12 of max(1, loss):
 * cross-entropy computed as lse − logit_y (as torch does) carries an absolute rounding of about one ulp of
 * the largest logit, so a loss of 1e-30 reads as 0 there, and only a relative check above 1 is meaningful.
 */
import { describe, expect, it } from 'vitest';
import { createHead, type HeadState } from '../../src/heads/index.js';

const DEG = Math.PI / 180;
const ANGLES = Array.from({ length: 181 }, (_, k) => k);
const REL = 1e-12;

/** −log softmax(logits)[0]: cross-entropy with the target in column 0. */
function ce(logits: number[]): number {
  const max = Math.max(...logits);
  return max + Math.log(logits.reduce((a, l) => a + Math.exp(l - max), 0)) - logits[0];
}

/** Unit class weights at the given angles (degrees); class 0 is always at 0°. */
function weightsAt(degrees: number[]): number[] {
  return degrees.flatMap((d) => [Math.cos(d * DEG), Math.sin(d * DEG)]);
}

/** Angle in [0, π] between directions a and b (degrees). */
function between(a: number, b: number): number {
  const d = Math.abs(a - b) % 360;
  return (d > 180 ? 360 - d : d) * DEG;
}

interface Sweep {
  head: string;
  params?: Record<string, unknown>;
  /** Directions of the class weights, degrees; the first is the target class at 0°. */
  classes: number[];
  /** Norm of the embedding (1 unless the head scales by it). */
  radius?: number;
  /** State installed before every forward. */
  state?: HeadState;
  /** Expected logits [target, others…] for target angle θ and the angles φ_j to the other classes. */
  logits: (theta: number, phi: number[]) => number[];
  /** Loss of a row of logits (default: cross-entropy). */
  loss?: (logits: number[]) => number;
}

function runSweep(s: Sweep): void {
  const head = createHead(s.head, s.params ?? {});
  const W = weightsAt(s.classes);
  const r = s.radius ?? 1;
  for (const a of ANGLES) {
    if (s.state) head.setState(s.state);
    const out = head.forward({ X: [r * Math.cos(a * DEG), r * Math.sin(a * DEG)], labels: [0], W });
    const theta = a * DEG;
    const phi = s.classes.slice(1).map((b) => between(a, b));
    const want = s.logits(theta, phi);
    const scale = Math.max(...want.map(Math.abs));
    want.forEach((w, j) => {
      expect(
        Math.abs(out.logits[j] - w),
        `${s.head} logit ${j} at ${a}°: got ${out.logits[j]}, want ${w}`,
      ).toBeLessThanOrEqual(REL * scale);
    });
    const loss = (s.loss ?? ce)(want);
    expect(
      Math.abs(out.loss - loss),
      `${s.head} loss at ${a}°: got ${out.loss}, want ${loss}`,
    ).toBeLessThanOrEqual(REL * Math.max(1, loss));
  }
}

// ---- ArcFace: one expected-value function per fallback branch (s = 64, m = 0.5, other class at 110°) ----
const s = 64;
const m = 0.5;
/** Logits [s·φ_t(θ), s·cos φ]. */
const arcLogits = (target: (theta: number) => number) => (theta: number, phi: number[]) => [
  s * target(theta),
  s * Math.cos(phi[0]),
];
/** Two-class loss log(1 + exp(s·cos φ − s·φ_t(θ))). */
const twoClass = ([target, other]: number[]) => {
  const z = other - target;
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
};

/** thmm: cos(θ + m) while θ + m < π, then the line cos θ − m·sin(π − m). */
const thmm = (theta: number) =>
  theta + m < Math.PI ? Math.cos(theta + m) : Math.cos(theta) - m * Math.sin(Math.PI - m);
/** easy: cos(θ + m) while cos θ > 0, else cos θ. */
const easy = (theta: number) => (Math.cos(theta) > 0 ? Math.cos(theta + m) : Math.cos(theta));
/** am (FaceX-Zoo): cos(θ + m) while θ + m < π, else cos θ − margin_am (here 0.2). */
const am = (theta: number) => (theta + m < Math.PI ? Math.cos(theta + m) : Math.cos(theta) - 0.2);
/** none (insightface): cos(θ + m) everywhere — it rises again past θ = π − m. */
const none = (theta: number) => Math.cos(theta + m);

describe('ArcFace, two classes (other at 110°): logits s·φ_t(θ), s·cos φ', () => {
  it('fallback thmm', () =>
    runSweep({ head: 'arcface', classes: [0, 110], logits: arcLogits(thmm), loss: twoClass }));
  it('fallback easy', () =>
    runSweep({
      head: 'arcface',
      params: { fallback: 'easy' },
      classes: [0, 110],
      logits: arcLogits(easy),
      loss: twoClass,
    }));
  it('fallback am (margin_am = 0.2)', () =>
    runSweep({
      head: 'arcface',
      params: { fallback: 'am', fallbackMargin: 0.2 },
      classes: [0, 110],
      logits: arcLogits(am),
      loss: twoClass,
    }));
  it('fallback none', () =>
    runSweep({
      head: 'arcface',
      params: { fallback: 'none' },
      classes: [0, 110],
      logits: arcLogits(none),
      loss: twoClass,
    }));
  it('the four branches agree before θ = π/2 and differ after π − m', () => {
    for (const a of [10, 45, 89]) {
      const t = a * DEG;
      expect(new Set([thmm(t), easy(t), am(t), none(t)]).size).toBe(1);
    }
    const t = 170 * DEG;
    expect(new Set([thmm(t), easy(t), am(t), none(t)]).size).toBe(4);
  });
});

describe('Combined margin (m1 = 1, m2 = 0.3, m3 = 0.2, s = 64), two classes (other at 110°)', () => {
  /** cos(θ + m2) − m3 while θ + m2 < π; past it the thmm line cos θ − m2·sin(π − m2), without m3 (cavaface). */
  const target = (theta: number) =>
    theta + 0.3 < Math.PI ? Math.cos(theta + 0.3) - 0.2 : Math.cos(theta) - 0.3 * Math.sin(Math.PI - 0.3);
  it('fallback thmm', () =>
    runSweep({
      head: 'combined',
      classes: [0, 110],
      logits: (theta, phi) => [64 * target(theta), 64 * Math.cos(phi[0])],
      loss: twoClass,
    }));
});

describe('CosFace and AirFace / QAMFace, three classes at 0°, 120°, 240°', () => {
  it('CosFace: target s·(cos θ − m), s = 64, m = 0.35', () =>
    runSweep({
      head: 'cosface',
      classes: [0, 120, 240],
      logits: (theta, phi) => [64 * (Math.cos(theta) - 0.35), ...phi.map((p) => 64 * Math.cos(p))],
    }));

  // AirFace/QAMFace clamp cos to ±(1 − 1e-7) before acos, so θ never reaches 0 or π exactly.
  const c = 1 - 1e-7;
  const angle = (t: number) => Math.acos(Math.min(c, Math.max(-c, Math.cos(t))));
  it('AirFace: s·(π − 2(θ + m))/π for the target, s·(π − 2φ)/π for the others (s = 64, m = 0.45)', () =>
    runSweep({
      head: 'airface',
      classes: [0, 120, 240],
      logits: (theta, phi) => [
        (64 * (Math.PI - 2 * (angle(theta) + 0.45))) / Math.PI,
        ...phi.map((p) => (64 * (Math.PI - 2 * angle(p))) / Math.PI),
      ],
    }));
  it('QAMFace: s·(2π − (θ + m))² for the target, s·(2π − φ)² for the others (s = 6, m = 0.5)', () =>
    runSweep({
      head: 'qamface',
      classes: [0, 120, 240],
      logits: (theta, phi) => [
        6 * (2 * Math.PI - (angle(theta) + 0.5)) ** 2,
        ...phi.map((p) => 6 * (2 * Math.PI - angle(p)) ** 2),
      ],
    }));
});

describe('SphereFace (m = 4) at iteration 100: λ = 1000/(1 + 0.12·100), logits scaled by ‖x‖ = 1.5', () => {
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: the reference code's truncated π.
  const refPi = 3.14159265;
  const lambda = 1000 / (1 + 0.12 * 100);
  /** ψ(θ) = (−1)^k cos(4θ) − 2k, k = ⌊4θ/π⌋, blended as (ψ + λ·cos θ)/(1 + λ). */
  const target = (theta: number) => {
    const k = Math.floor((4 * theta) / refPi);
    const psi = (k % 2 === 0 ? 1 : -1) * Math.cos(4 * theta) - 2 * k;
    return (psi + lambda * Math.cos(theta)) / (1 + lambda);
  };
  it('two classes, other at 110°', () =>
    runSweep({
      head: 'sphereface',
      classes: [0, 110],
      radius: 1.5,
      state: { iter: 99, lambda: 0 },
      logits: (theta, phi) => [1.5 * target(theta), 1.5 * Math.cos(phi[0])],
    }));
});

/** Guard: no sweep point may sit within 1e-9 of a hard-negative threshold (the branch must be stable). */
function clearOf(gap: number, what: string): void {
  expect(Math.abs(gap), what).toBeGreaterThan(1e-9);
}

describe('MV-Softmax, three classes at 0°, 120°, 240° (s = 32, m = 0.35, t = 0.2)', () => {
  const sc = 32;
  const t = 0.2;
  it('MV-AM: target s·(cos θ − m); negatives with cos φ > cos θ − m become s·((t + 1)·cos φ + t)', () =>
    runSweep({
      head: 'mvsoftmax',
      classes: [0, 120, 240],
      logits: (theta, phi) => {
        const tau = Math.cos(theta) - 0.35;
        const neg = phi.map((p) => {
          clearOf(Math.cos(p) - tau, 'hard threshold');
          return Math.cos(p) > tau ? sc * ((t + 1) * Math.cos(p) + t) : sc * Math.cos(p);
        });
        return [sc * tau, ...neg];
      },
    }));
  it('MV-Arc (easy): target s·cos(θ + m) while cos θ > 0; negatives hard when cos φ > cos(θ + m)', () =>
    runSweep({
      head: 'mvsoftmax',
      params: { type: 'arc', fallback: 'easy' },
      classes: [0, 120, 240],
      logits: (theta, phi) => {
        const tau = Math.cos(theta + 0.35);
        const target = Math.cos(theta) > 0 ? tau : Math.cos(theta);
        const neg = phi.map((p) => {
          clearOf(Math.cos(p) - tau, 'hard threshold');
          return Math.cos(p) > tau ? sc * ((t + 1) * Math.cos(p) + t) : sc * Math.cos(p);
        });
        return [sc * target, ...neg];
      },
    }));
});

describe('CurricularFace with t = 0.3 before the step (s = 64, m = 0.5, three classes)', () => {
  it('t ← 0.01·cos θ + 0.99·0.3 first; negatives with cos φ > cos(θ + m) become s·cos φ·(t + cos φ)', () =>
    runSweep({
      head: 'curricularface',
      classes: [0, 120, 240],
      state: { t: 0.3 },
      logits: (theta, phi) => {
        const t = 0.01 * Math.cos(theta) + 0.99 * 0.3;
        const tau = Math.cos(theta + m);
        const neg = phi.map((p) => {
          clearOf(Math.cos(p) - tau, 'hard threshold');
          const c = Math.cos(p);
          return c > tau ? s * c * (t + c) : s * c;
        });
        return [s * thmm(theta), ...neg];
      },
    }));
});

describe('CircleLoss pair form (γ = 256, m = 0.25)', () => {
  const g = 256;
  const cm = 0.25;
  /** Logits γ·αp·(s_p − (1 − m)) and γ·αn·(s_n − m), αp = [1 + m − s_p]₊, αn = [s_n + m]₊. */
  const logits = (theta: number, phi: number[]) => {
    const sp = Math.cos(theta);
    return [
      g * Math.max(1 + cm - sp, 0) * (sp - (1 - cm)),
      ...phi.map((p) => g * Math.max(Math.cos(p) + cm, 0) * (Math.cos(p) - cm)),
    ];
  };
  /** softplus(lse(negatives) − positive), the identity past 20 as torch's Softplus(threshold = 20). */
  const pair = (l: number[]) => {
    const neg = l.slice(1);
    const max = Math.max(...neg);
    const z = max + Math.log(neg.reduce((a, v) => a + Math.exp(v - max), 0)) - l[0];
    return z > 20 ? z : Math.log1p(Math.exp(z));
  };
  it('two classes, other at 110°', () =>
    runSweep({ head: 'circleloss', classes: [0, 110], logits, loss: pair }));
  it('three classes at 0°, 120°, 240°', () =>
    runSweep({ head: 'circleloss', classes: [0, 120, 240], logits, loss: pair }));
  it('the ce form is cross-entropy over the same logits', () =>
    runSweep({ head: 'circleloss', params: { form: 'ce' }, classes: [0, 120, 240], logits }));
});
