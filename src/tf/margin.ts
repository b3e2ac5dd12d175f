/**
 * The margin stage of the operator (everything after the cosines) as one TF.js custom gradient:
 * cosines, per-row margins m2, m3, per-row scales and an optional bias → scaled logits. The forward
 * mirrors `applyMargin` in `src/margin/reference.ts`, and the backward applies the same per-element
 * derivatives, so straight-through gradients, detached re-weightings and the guarded derivatives at
 * |cos| = 1 behave exactly as in the fp64 oracle (autograd of acos/sqrt would not).
 */
import * as tf from '@tensorflow/tfjs';
import type { MarginSpec } from '../margin/spec.js';
import { customOp } from './ops.js';
import { angularTarget, plainValue, rawAngular, sphereTarget, type TfTargetValue } from './target.js';

/** Inputs of {@link tfMarginLogits}: every per-row quantity is a [B] tensor. */
export interface TfMarginInputs {
  /** Clamped cosines, B×C. */
  cos: tf.Tensor2D;
  /** One-hot labels, B×C (float32). */
  oneHot: tf.Tensor2D;
  m2: tf.Tensor1D;
  m3: tf.Tensor1D;
  scale: tf.Tensor1D;
  /** Per-class bias, [C] (zeros for heads without one). */
  bias: tf.Tensor1D;
  /**
   * Angle θ and sin θ of each row's target, [B], computed more accurately than from the fp32 cosine
   * where possible (see `targetTrig` in geometry.ts); treated as constants.
   */
  gtTheta: tf.Tensor1D;
  gtSin: tf.Tensor1D;
}

function column(v: tf.Tensor): tf.Tensor2D {
  return tf.expandDims(v, 1) as tf.Tensor2D;
}

function rowSum(v: tf.Tensor): tf.Tensor1D {
  return tf.sum(v, 1) as tf.Tensor1D;
}

/** Everything the backward pass needs from a forward evaluation. */
interface MarginForward {
  logits: tf.Tensor2D;
  values: tf.Tensor2D;
  dValue: tf.Tensor2D;
  target: TfTargetValue;
  hard: tf.Tensor2D | null;
  hardCount: tf.Tensor1D | null;
}

function marginForward(spec: MarginSpec, x: TfMarginInputs): MarginForward {
  const { cos, oneHot: Y } = x;
  const notY = tf.sub(1, Y);
  const neg = spec.negatives;
  const target = spec.target;
  const gt = rowSum(tf.mul(cos, Y));
  const trig = { theta: x.gtTheta, sin: x.gtSin };

  // 1. Hard negatives are judged against the raw margin target (no fallback).
  let hard: tf.Tensor2D | null = null;
  let hardCount: tf.Tensor1D | null = null;
  if (neg.kind === 'hard-linear' || neg.kind === 'curricular') {
    const th = neg.threshold;
    const tau = rawAngular(spec.angleMap, gt, th.m1, th.m2, th.m3, trig).value;
    hard = tf.mul(tf.cast(tf.greater(cos, column(tau)), 'float32'), notY) as tf.Tensor2D;
    hardCount = rowSum(hard);
  }

  // 2. Target margin of each row (NPCFace derives it from the row's hard negatives).
  let m2: tf.Tensor = x.m2;
  if (neg.kind === 'hard-linear' && neg.adaptive && hard && hardCount) {
    const ad = neg.adaptive;
    const source = ad.source === 'modified' ? tf.add(tf.mul(neg.a, cos), neg.b) : cos;
    const mean = tf.div(rowSum(tf.mul(source, hard)), tf.maximum(hardCount, 1));
    m2 = tf.add(ad.m0, tf.mul(tf.cast(tf.greater(hardCount, 0), 'float32'), tf.mul(ad.m1, mean)));
  }

  // 3. Target transform φ.
  let tv: TfTargetValue;
  if (target.kind === 'angular') tv = angularTarget(target, spec.angleMap, gt, m2, x.m3, trig);
  else if (target.kind === 'sphere') tv = sphereTarget(target, gt, trig);
  else {
    const ap = tf.relu(tf.sub(1 + target.m, gt));
    const zero = tf.zerosLike(gt);
    tv = { value: tf.mul(ap, tf.sub(gt, 1 - target.m)), dCos: ap, dM2: zero, dM3: zero };
  }

  // 4. Negatives.
  const plain = plainValue(spec.angleMap, cos);
  let v: tf.Tensor = plain.value;
  let d: tf.Tensor = plain.dCos;
  switch (neg.kind) {
    case 'plain':
      break;
    case 'hard-linear': {
      const h = tf.cast(hard!, 'bool');
      v = tf.where(h, tf.add(tf.mul(neg.a, cos), neg.b), v);
      d = tf.where(h, tf.fill(cos.shape, neg.a), d);
      break;
    }
    case 'curricular': {
      const h = tf.cast(hard!, 'bool');
      v = tf.where(h, tf.mul(cos, tf.add(neg.t, cos)), v);
      d = tf.where(h, tf.add(neg.t, tf.mul(2, cos)), d);
      break;
    }
    case 'arcneg': {
      const r = tf.mul(
        neg.alpha,
        tf.exp(tf.div(tf.neg(tf.square(tf.sub(cos, column(tv.value)))), neg.sigma)),
      );
      v = tf.sub(tf.add(tf.mul(r, cos), r), 1);
      d = r;
      break;
    }
    case 'circle': {
      const an = tf.relu(tf.add(cos, neg.m));
      v = tf.mul(an, tf.sub(cos, neg.m));
      d = an;
      break;
    }
    case 'filter': {
      const above = tf.greater(cos, neg.above);
      v = tf.where(above, tf.zerosLike(cos), v);
      d = tf.where(above, tf.zerosLike(cos), d);
      break;
    }
  }
  const values = tf.add(tf.mul(Y, column(tv.value)), tf.mul(notY, v)) as tf.Tensor2D;
  const dValue = tf.add(tf.mul(Y, column(tv.dCos)), tf.mul(notY, d)) as tf.Tensor2D;
  const logits = tf.add(tf.mul(column(x.scale), values), x.bias) as tf.Tensor2D;
  return { logits, values, dValue, target: tv, hard, hardCount };
}

/**
 * Scaled logits of the margin operator, differentiable w.r.t. the cosines, m2, m3, the scale and the
 * bias with the fp64 oracle's derivatives (`applyMargin` steps 6 and 7).
 */
export function tfMarginLogits(spec: MarginSpec, inputs: TfMarginInputs): tf.Tensor2D {
  // Every tensor the backward needs is an input and saved: the forward runs in its own tidy scope.
  const op = customOp((all, save) => {
    const x = unpack(all);
    save(all);
    return {
      value: marginForward(spec, x).logits,
      gradFunc: (dy, saved) => {
        // Recompute the forward intermediates from the saved inputs (cheap, and nothing to keep alive).
        const s = unpack(saved);
        const grads = marginBackward(spec, dy as tf.Tensor2D, s, marginForward(spec, s));
        // One-hot labels and the target's angle are constants.
        return [
          grads[0],
          tf.zerosLike(s.oneHot),
          ...grads.slice(1),
          tf.zerosLike(s.gtTheta),
          tf.zerosLike(s.gtSin),
        ];
      },
    };
  });
  const { cos, oneHot, m2, m3, scale, bias, gtTheta, gtSin } = inputs;
  return op(cos, oneHot, m2, m3, scale, bias, gtTheta, gtSin) as tf.Tensor2D;
}

function unpack(t: tf.Tensor[]): TfMarginInputs {
  const [cos, oneHot, m2, m3, scale, bias, gtTheta, gtSin] = t;
  return {
    cos: cos as tf.Tensor2D,
    oneHot: oneHot as tf.Tensor2D,
    m2: m2 as tf.Tensor1D,
    m3: m3 as tf.Tensor1D,
    scale: scale as tf.Tensor1D,
    bias: bias as tf.Tensor1D,
    gtTheta: gtTheta as tf.Tensor1D,
    gtSin: gtSin as tf.Tensor1D,
  };
}

/** dL/d(cos, m2, m3, scale, bias) given G = dL/dlogits (`applyMargin` steps 6 and 7). */
function marginBackward(spec: MarginSpec, G: tf.Tensor2D, x: TfMarginInputs, f: MarginForward): tf.Tensor[] {
  const { cos, oneHot: Y, scale } = x;
  const straight = spec.gradient === 'straight-through';
  // Straight-through (insightface): the target's margin is invisible to the gradient.
  const dValue = straight
    ? tf.add(tf.mul(Y, plainValue(spec.angleMap, cos).dCos), tf.mul(tf.sub(1, Y), f.dValue))
    : f.dValue;
  let dCos: tf.Tensor = tf.mul(tf.mul(G, column(scale)), dValue);
  const dScale = rowSum(tf.mul(G, f.values));
  const gy = tf.mul(rowSum(tf.mul(G, Y)), scale);
  const zero = tf.zerosLike(gy);
  const dM2 = straight ? zero : tf.mul(gy, f.target.dM2);
  const dM3 = straight ? zero : tf.mul(gy, f.target.dM3);
  const neg = spec.negatives;
  // NPCFace with a differentiable adaptive margin: m_i = m0 + m1·mean(a·cos + b) over hard negatives.
  if (neg.kind === 'hard-linear' && neg.adaptive?.gradient && f.hard && f.hardCount) {
    const k = tf.div(
      neg.adaptive.m1 * (neg.adaptive.source === 'modified' ? neg.a : 1),
      tf.maximum(f.hardCount, 1),
    );
    dCos = tf.add(dCos, tf.mul(f.hard, column(tf.mul(dM2, k))));
  }
  const dBias = tf.sum(G, 0);
  return [dCos, dM2, dM3, dScale, dBias];
}
