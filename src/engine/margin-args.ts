/**
 * The argument object of the native margin-softmax binding (native/src/margin_binding.cc): the margin
 * spec and geometry flattened into named numbers, codes and per-row arrays. The codes mirror the enums
 * of native/src/margin.h and the keys the binding's `kArgumentKeys`; the binding refuses any other key,
 * and test/engine/margin-codes.test.ts reads both C++ files and checks them against the tables here.
 */
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { GeometrySpec, MarginSpec, RowParam } from '../margin/spec.js';

/** `FallbackKind` in margin.h. */
export const FALLBACK = { none: 0, easy: 1, thmm: 2, am: 3, 'above-margin': 4, clip: 5 } as const;
/** `AngleMapKind` in margin.h. */
export const ANGLE_MAP = { cos: 0, linear: 1, quadratic: 2 } as const;
/** `WeightNorm` in margin.h. */
export const WEIGHT_NORM = { none: 0, functional: 1, overwrite: 2 } as const;
/** `LossKind` in margin.h. */
export const LOSS = { ce: 0, distce: 1, focal: 2, 'softplus-pair': 3 } as const;
/** `TargetKind` in margin.h. */
export const TARGET = { angular: 0, sphere: 1, circle: 2 } as const;
/** `NegativeKind` in margin.h. */
export const NEGATIVES = {
  plain: 0,
  'hard-linear': 1,
  curricular: 2,
  arcneg: 3,
  circle: 4,
  filter: 5,
} as const;

/** Every key of the argument object (`kArgumentKeys` in margin_binding.cc). */
// biome-ignore format: grouped as the binding reads them (shapes, geometry, target, negatives, scale, loss, outputs).
export const MARGIN_ARGUMENT_KEYS = [
  'B', 'D', 'C', 'K', 'X', 'W', 'labels', 'bias', 'targetRaw',
  'normalizeX', 'normalizeW', 'clamp', 'angleMap',
  'target', 'm1', 'm2', 'm3', 'm2Row', 'm3Row', 'fallback', 'fallbackMargin', 'clipEps',
  'sphereM', 'sphereLambda', 'spherePi', 'circleM',
  'negatives', 'hardA', 'hardB', 'thM1', 'thM2', 'thM3', 'adaptive', 'adM0', 'adM1', 'adSourceRaw',
  'adGradient', 'curricularT', 'arcnegAlpha', 'arcnegSigma', 'circleNegM', 'filterAbove',
  'scale', 'scaleRow', 'm2DNorm', 'm3DNorm', 'scaleDNorm',
  'loss', 'focalGamma', 'softplusThreshold', 'straightThrough',
  'writeNormalizedW', 'sgd', 'dX', 'dW', 'dBias', 'logits', 'cos', 'rows',
] as const;
/** Keys of the `sgd` object (`kSgdKeys`). */
export const SGD_ARGUMENT_KEYS = ['lr', 'momentum', 'weightDecay', 'velocity'] as const;
/** The one key only `marginCosines` reads (`kCosinesKey`). */
export const COSINES_ARGUMENT_KEY = 'targetCos';

/** A key of the argument object. */
export type MarginArgumentKey = (typeof MARGIN_ARGUMENT_KEYS)[number];
/** The argument object of `marginSoftmax`, by key. */
export type MarginArguments = Partial<Record<MarginArgumentKey, unknown>>;

/** Per-row outputs in the binding's `rows` array, B values each, in this order. */
export const ROW_OUTPUTS = ['dM2', 'dM3', 'dScale', 'rowMargin', 'pair', 'xNorm', 'dNorm'] as const;

/** A shared or per-row parameter: its shared value, per-row values and slopes d/d‖x‖. */
function rowParam(
  name: string,
  p: RowParam,
  B: number,
): { shared: number; row?: Float64Array; dNorm?: Float64Array } {
  if (typeof p === 'number') {
    if (!Number.isFinite(p)) throw new InvalidArgumentError(name, 'a finite number', p);
    return { shared: p };
  }
  if (!(p.value instanceof Float64Array) || p.value.length !== B)
    throw new ShapeMismatchError(
      `${name}.value`,
      `a Float64Array of B = ${B} values`,
      String(p.value?.length),
    );
  if (p.dNorm !== undefined && (!(p.dNorm instanceof Float64Array) || p.dNorm.length !== B))
    throw new ShapeMismatchError(
      `${name}.dNorm`,
      `a Float64Array of B = ${B} values`,
      String(p.dNorm?.length),
    );
  return { shared: 0, row: p.value, dNorm: p.dNorm };
}

/** The margin spec and geometry as the flat argument object the binding reads. */
export function encodeSpec(geometry: GeometrySpec, margin: MarginSpec, B: number): MarginArguments {
  const o: MarginArguments = {
    K: geometry.subCenters,
    normalizeX: geometry.normalizeX,
    normalizeW: WEIGHT_NORM[geometry.normalizeW],
    clamp: geometry.clamp === null ? undefined : geometry.clamp,
    angleMap: ANGLE_MAP[margin.angleMap],
    loss: LOSS[margin.loss.kind],
    straightThrough: margin.gradient === 'straight-through',
    target: TARGET[margin.target.kind],
    negatives: NEGATIVES[margin.negatives.kind],
  };
  if (margin.loss.kind === 'focal') o.focalGamma = margin.loss.gamma;
  if (margin.loss.kind === 'softplus-pair') o.softplusThreshold = margin.loss.threshold;
  const scale = rowParam('margin.scale', margin.scale, B);
  Object.assign(o, { scale: scale.shared, scaleRow: scale.row, scaleDNorm: scale.dNorm });
  const t = margin.target;
  if (t.kind === 'angular') {
    const m2 = rowParam('margin.target.m2', t.m2, B);
    const m3 = rowParam('margin.target.m3', t.m3, B);
    Object.assign(o, {
      m1: t.m1,
      m2: m2.shared,
      m2Row: m2.row,
      m2DNorm: m2.dNorm,
      m3: m3.shared,
      m3Row: m3.row,
      m3DNorm: m3.dNorm,
      fallback: FALLBACK[t.fallback],
      fallbackMargin: t.fallbackMargin ?? 0,
      clipEps: t.clipEps ?? 1e-3,
    });
  } else if (t.kind === 'sphere') {
    Object.assign(o, { sphereM: t.m, sphereLambda: t.lambda, spherePi: t.pi });
  } else {
    o.circleM = t.m;
  }
  const n = margin.negatives;
  switch (n.kind) {
    case 'plain':
      break;
    case 'hard-linear':
      Object.assign(o, {
        hardA: n.a,
        hardB: n.b,
        thM1: n.threshold.m1,
        thM2: n.threshold.m2,
        thM3: n.threshold.m3,
      });
      if (n.adaptive) {
        Object.assign(o, {
          adaptive: true,
          adM0: n.adaptive.m0,
          adM1: n.adaptive.m1,
          adSourceRaw: n.adaptive.source === 'raw',
          adGradient: n.adaptive.gradient,
        });
      }
      break;
    case 'curricular':
      Object.assign(o, {
        curricularT: n.t,
        thM1: n.threshold.m1,
        thM2: n.threshold.m2,
        thM3: n.threshold.m3,
      });
      break;
    case 'arcneg':
      Object.assign(o, { arcnegAlpha: n.alpha, arcnegSigma: n.sigma });
      break;
    case 'circle':
      o.circleNegM = n.m;
      break;
    case 'filter':
      o.filterAbove = n.above;
      break;
  }
  return o;
}
