/**
 * Reproducing a particular reference implementation with flags, and what the flags change.
 *
 *   npx tsx examples/reference-flags.ts [--quick]
 *
 * ArcFace's paper formula s·cos(θy + m) is ambiguous where θy + m > π: past π the cosine rises
 * again, so the "margin" would make the target logit larger, not smaller. Every reference code base
 * decides differently, and the defaults here follow the paper's own code (`fallback: 'thmm'`:
 * cos θ − m·sin(π − m) past π). insightface's current `arcface_torch` does three things differently:
 *
 * - `fallback: 'none'`: it applies cos(θ + m) everywhere, bonus included;
 * - `gradient: 'straight-through'`: it applies the margin under `torch.no_grad()`, so the gradient
 *   reaching the cosines is s·∂L/∂logit as if there were no margin;
 * - `loss: 'distce'`: its DistCrossEntropy clamps p_y at 1e-30 before the log.
 *
 * This example computes both versions with the fp64 reference `Head.forward` (double precision,
 * analytic gradients) for single samples at chosen angles, and prints where they differ.
 * (`--quick` changes nothing here: the whole example takes well under a second.)
 */
import { createHead, type Head } from '../src/heads/index.js';

const SCALE = 64;
const MARGIN = 0.5;
const deg = (d: number) => (d * Math.PI) / 180;

/** The paper default and the insightface variant of the same ArcFace head. */
const paper = () => createHead('arcface', { scale: SCALE, margin: MARGIN });
const insightface = () =>
  createHead('arcface', {
    scale: SCALE,
    margin: MARGIN,
    fallback: 'none',
    gradient: 'straight-through',
    loss: 'distce',
  });

/**
 * One 2-D sample at angle `thetaY` from its target class 0, and one other class placed at the same
 * angle on the sample's other side (class 1 at 2·θy), so θj = θy: without a margin both logits are
 * equal and the loss is log 2; a margin must make it larger. All vectors have unit length.
 */
function sample(thetaY: number) {
  const t = deg(thetaY);
  return {
    X: [Math.cos(t), Math.sin(t)],
    W: [1, 0, Math.cos(2 * t), Math.sin(2 * t)],
    labels: [0],
  };
}

/** Target logit, loss and the gradient w.r.t. the embedding for one sample. */
function run(head: Head, thetaY: number) {
  const out = head.forward(sample(thetaY), { training: true });
  return { target: out.logits[0], other: out.logits[1], loss: out.loss, dX: out.grads.X };
}

function fmt(v: number, digits = 4): string {
  return (v >= 0 ? ' ' : '') + v.toFixed(digits);
}

console.log(`ArcFace s = ${SCALE}, m = ${MARGIN} rad (${((MARGIN * 180) / Math.PI).toFixed(2)}°)`);
console.log(`paper default:  ${JSON.stringify(paper().params)}`);
console.log(`insightface:    ${JSON.stringify(insightface().params)}\n`);

// Without any margin the target logit would be s·cos θy and the loss log 2 = 0.6931; a margin
// pushes the target logit below s·cos θy and the loss above log 2.
console.log('θy      s·cos θy   paper target  insightface target   paper loss  insightface loss');
for (const thetaY of [30, 60, 120, 150, 155, 160, 170, 179]) {
  const a = run(paper(), thetaY);
  const b = run(insightface(), thetaY);
  const past = deg(thetaY) + MARGIN > Math.PI ? '  θ + m > π' : '';
  console.log(
    `${String(thetaY).padStart(3)}°  ${fmt(SCALE * Math.cos(deg(thetaY)), 3).padStart(10)}  ` +
      `${fmt(a.target, 3).padStart(12)}  ${fmt(b.target, 3).padStart(18)}  ` +
      `${fmt(a.loss).padStart(11)}  ${fmt(b.loss).padStart(16)}${past}`,
  );
}

// The edge case in detail: θy = 170°, so θy + m ≈ 198.6° > 180°.
const edge = 170;
const a = run(paper(), edge);
const b = run(insightface(), edge);
console.log(
  `\nθy = ${edge}°: target logit paper = ${a.target.toFixed(6)}, insightface = ${b.target.toFixed(6)}`,
);
console.log(
  `  paper:       s·(cos θ − m·sin(π − m)) = ${(SCALE * (Math.cos(deg(edge)) - MARGIN * Math.sin(Math.PI - MARGIN))).toFixed(6)}` +
    ' — still below s·cos θ, a penalty as intended',
);
console.log(
  `  insightface: s·cos(θ + m)             = ${(SCALE * Math.cos(deg(edge) + MARGIN)).toFixed(6)}` +
    ` — above s·cos θ = ${(SCALE * Math.cos(deg(edge))).toFixed(6)}: a bonus for the worst samples`,
);
console.log(`  loss difference (insightface − paper): ${(b.loss - a.loss).toFixed(6)}`);

// Gradients: even where the forward values agree (θy + m < π, no clamp), the straight-through
// gradient differs, because the exact derivative of cos(θ + m) w.r.t. cos θ is sin(θ + m)/sin θ.
const normal = 60;
const c = run(paper(), normal);
const d = run(insightface(), normal);
console.log(
  `\nθy = ${normal}°: loss paper = ${c.loss.toFixed(9)}, insightface = ${d.loss.toFixed(9)} (same forward)`,
);
console.log(`  dL/dX paper       = [${Array.from(c.dX, (v) => v.toFixed(6)).join(', ')}]`);
console.log(`  dL/dX insightface = [${Array.from(d.dX, (v) => v.toFixed(6)).join(', ')}]`);
const ratio = Math.sin(deg(normal) + MARGIN) / Math.sin(deg(normal));
console.log(`  exact / straight-through factor on the target cosine: sin(θ + m)/sin θ = ${ratio.toFixed(6)}`);
