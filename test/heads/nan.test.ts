/**
 * |cos| = 1 exactly — an embedding equal to its class weight, equal to its negative, and equal to a
 * non-target weight — must give a finite loss, finite gradients and a finite state for every head in its
 * default configuration (acos and √(1 − cos²) have infinite derivatives there).
 */
import { describe, expect, it } from 'vitest';
import { createHead, type HeadOutput, headNames } from '../../src/heads/index.js';
import { createRng } from '../../src/rng.js';

const D = 3;
const C = 3;
/** Unit class directions whose dot products with themselves are exactly 1 in fp64. */
const DIRECTIONS = [
  [1, 0, 0],
  [0, 0.6, 0.8],
  [0, -1, 0],
];

interface Situation {
  label: string;
  /** [row of X as a multiple of a class direction, its label]. */
  rows: { direction: number; sign: 1 | -1; label: number }[];
  /** Entries (row, class) whose cosine must be exactly ±1. */
  exact: { row: number; cls: number; cos: 1 | -1 }[];
}

const situations: Situation[] = [
  {
    label: 'embedding equal to its class weight (cos θy = 1)',
    rows: [
      { direction: 0, sign: 1, label: 0 },
      { direction: 1, sign: 1, label: 1 },
    ],
    exact: [
      { row: 0, cls: 0, cos: 1 },
      { row: 1, cls: 1, cos: 1 },
    ],
  },
  {
    label: 'embedding opposite its class weight (cos θy = −1)',
    rows: [
      { direction: 0, sign: -1, label: 0 },
      { direction: 1, sign: -1, label: 1 },
    ],
    exact: [
      { row: 0, cls: 0, cos: -1 },
      { row: 1, cls: 1, cos: -1 },
    ],
  },
  {
    label: 'a non-target weight equal to the embedding (cos θj = 1)',
    rows: [
      { direction: 0, sign: 1, label: 1 },
      { direction: 2, sign: 1, label: 0 },
    ],
    exact: [
      { row: 0, cls: 0, cos: 1 },
      { row: 1, cls: 2, cos: 1 },
    ],
  },
  {
    label: 'all three in one batch',
    rows: [
      { direction: 0, sign: 1, label: 0 },
      { direction: 1, sign: -1, label: 1 },
      { direction: 2, sign: 1, label: 1 },
    ],
    exact: [
      { row: 0, cls: 0, cos: 1 },
      { row: 1, cls: 1, cos: -1 },
      { row: 2, cls: 2, cos: 1 },
    ],
  },
];

function nonFinite(out: HeadOutput, state: Record<string, number>): string[] {
  const bad: string[] = [];
  if (!Number.isFinite(out.loss)) bad.push(`loss = ${out.loss}`);
  if (out.logits.some((v) => !Number.isFinite(v))) bad.push('logits');
  for (const [name, g] of Object.entries(out.grads))
    if (g.some((v) => !Number.isFinite(v))) bad.push(`d/d${name}`);
  for (const [k, v] of Object.entries(state)) if (!Number.isFinite(v)) bad.push(`state.${k} = ${v}`);
  return bad;
}

describe('finite at |cos| = 1, default configuration', () => {
  for (const name of headNames) {
    for (const sit of situations) {
      it(`${name}: ${sit.label}`, () => {
        const head = createHead(name, {}, { rng: createRng(2) });
        const K = head.subCenters;
        // Every sub-centre of a class points the same way, so the max over them is the class direction.
        const W = DIRECTIONS.flatMap((d) => Array.from({ length: K }, () => d).flat());
        // MagFace's margin depends on ‖x‖ in [10, 110]; an integer norm keeps x̂ exact.
        const norm = name === 'magface' ? 40 : 1;
        const X = sit.rows.flatMap((r) => DIRECTIONS[r.direction].map((v) => r.sign * norm * v));
        const labels = sit.rows.map((r) => r.label);
        const extras: Record<string, Float64Array> = {};
        for (const [k, spec] of Object.entries(head.learnables(C, D))) extras[k] = spec.init(createRng(4));

        const out = head.forward({ X, labels, W, extras });
        if (out.cos.length > 0) {
          // The situation really is |cos| = 1 before any clamp (AirFace/QAMFace clamp to ±(1 − 1e-7)).
          const clamp = (head.params as { clamp?: number | null }).clamp ?? 1;
          for (const e of sit.exact) expect(out.cos[e.row * C + e.cls]).toBe(e.cos * Math.min(1, clamp));
        }
        expect(nonFinite(out, head.getState())).toEqual([]);
        // Evaluation mode (plain s·cos, no margin) as well.
        expect(
          nonFinite(head.forward({ X, labels, W, extras }, { training: false }), head.getState()),
        ).toEqual([]);
      });
    }
  }
});

describe('finite when |cos| rounds to 1 ± ulp (scaled, non-unit vectors), default configuration', () => {
  // Raw vectors: x̂·ŵ comes out as 1 − ε, 1 or 1 + ε depending on rounding; heads without a clamp
  // (CircleLoss, ArcNegFace) then see |cos| slightly above 1.
  const raw = [
    [0.3, -1.2, 0.5],
    [1.7, 0.1, -0.9],
    [-0.4, 0.8, 2.3],
  ];
  for (const name of headNames) {
    it(name, () => {
      for (const factor of [2.7, 0.31, 1e-3, 37]) {
        const head = createHead(name, {}, { rng: createRng(2) });
        const K = head.subCenters;
        const W = raw.flatMap((d) => Array.from({ length: K }, () => d).flat());
        const X = [...raw[0], ...raw[1].map((v) => -v), ...raw[2]].map((v) => factor * v);
        const extras: Record<string, Float64Array> = {};
        for (const [k, spec] of Object.entries(head.learnables(C, D))) extras[k] = spec.init(createRng(4));
        const out = head.forward({ X, labels: [0, 1, 0], W, extras });
        expect(nonFinite(out, head.getState()), `factor ${factor}`).toEqual([]);
      }
    });
  }
});
