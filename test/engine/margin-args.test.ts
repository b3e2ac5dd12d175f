/**
 * The argument object of the native margin binding has one source of truth per side, checked here
 * against each other: the enum codes of native/src/margin.h and the key lists of
 * native/src/margin_binding.cc against the tables of src/engine/margin-args.ts, read from the C++
 * sources as text (so the check runs without a compiler). With the engine built, the binding itself
 * must refuse a key it does not read.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { marginSoftmaxNative } from '../../src/engine/margin.js';
import {
  ANGLE_MAP,
  COSINES_ARGUMENT_KEY,
  encodeSpec,
  FALLBACK,
  LOSS,
  MARGIN_ARGUMENT_KEYS,
  NEGATIVES,
  SGD_ARGUMENT_KEYS,
  TARGET,
  WEIGHT_NORM,
} from '../../src/engine/margin-args.js';
import { loadEngine } from '../../src/engine/native.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { GeometrySpec, MarginSpec, NegativeSpec, TargetSpec } from '../../src/margin/spec.js';

const nativeDir = resolve(import.meta.dirname, '../../native/src');
const header = readFileSync(join(nativeDir, 'margin.h'), 'utf8');
const binding = readFileSync(join(nativeDir, 'margin_binding.cc'), 'utf8');

/** `enum class Name : int { A = 0, B = 1 }` → { a: 0, b: 1 } (names lower-cased). */
function cppEnum(name: string): Record<string, number> {
  const m = header.match(new RegExp(`enum class ${name} : int \\{([^}]*)\\}`));
  if (!m) throw new Error(`enum ${name} not found in margin.h`);
  const out: Record<string, number> = {};
  for (const item of m[1].split(',')) {
    const [key, value] = item.split('=').map((t) => t.trim());
    out[key.toLowerCase()] = Number(value);
  }
  return out;
}

/** A TS code table with its names spelt as the C++ enumerators are (lower case, no hyphens). */
function normalised(table: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k.replaceAll('-', '').toLowerCase(), v]));
}

/** The string literals of a `constexpr const char* name[] = { … };` array in margin_binding.cc. */
function cppKeys(name: string): string[] {
  const m = binding.match(new RegExp(`${name}\\[\\] = \\{([^}]*)\\}`));
  if (!m) throw new Error(`${name} not found in margin_binding.cc`);
  return [...m[1].matchAll(/"([^"]+)"/g)].map((k) => k[1]);
}

describe('native margin argument codes', () => {
  it('match the enums of margin.h', () => {
    expect(normalised(FALLBACK)).toEqual(cppEnum('FallbackKind'));
    expect(normalised(ANGLE_MAP)).toEqual(cppEnum('AngleMapKind'));
    expect(normalised(WEIGHT_NORM)).toEqual(cppEnum('WeightNorm'));
    expect(normalised(LOSS)).toEqual(cppEnum('LossKind'));
    expect(normalised(TARGET)).toEqual(cppEnum('TargetKind'));
    expect(normalised(NEGATIVES)).toEqual(cppEnum('NegativeKind'));
  });

  it('cap each code where the binding reads it', () => {
    // `code<E>(o, key, max)`: the largest code the binding accepts for each enum-valued key.
    const caps = Object.fromEntries(
      [...binding.matchAll(/code<(\w+)>\(o, "(\w+)", (\d+)\)/g)].map((m) => [m[2], Number(m[3])]),
    );
    const max = (t: Record<string, number>) => Math.max(...Object.values(t));
    expect(caps).toEqual({
      normalizeW: max(WEIGHT_NORM),
      angleMap: max(ANGLE_MAP),
      target: max(TARGET),
      fallback: max(FALLBACK),
      negatives: max(NEGATIVES),
      loss: max(LOSS),
    });
  });

  it('list the same argument keys on both sides', () => {
    expect(new Set(cppKeys('kArgumentKeys'))).toEqual(new Set(MARGIN_ARGUMENT_KEYS));
    expect(new Set(cppKeys('kSgdKeys'))).toEqual(new Set(SGD_ARGUMENT_KEYS));
    expect(binding).toContain(`kCosinesKey = "${COSINES_ARGUMENT_KEY}"`);
  });

  it('every key the binding reads is listed, and every listed key is read', () => {
    const read = new Set([...binding.matchAll(/(?:\((?:o|so), |\bo\.Get\()"(\w+)"/g)].map((m) => m[1]));
    const listed = new Set([...MARGIN_ARGUMENT_KEYS, ...SGD_ARGUMENT_KEYS, COSINES_ARGUMENT_KEY]);
    expect(read).toEqual(listed);
  });
});

describe('encodeSpec', () => {
  const geometry: GeometrySpec = { normalizeX: true, normalizeW: 'functional', subCenters: 1, clamp: 1 };
  const row = { value: new Float64Array([0.1, 0.2]), dNorm: new Float64Array([0.01, 0.02]) };
  const targets: TargetSpec[] = [
    { kind: 'angular', m1: 1, m2: row, m3: row, fallback: 'thmm' },
    { kind: 'sphere', m: 4, lambda: 5, pi: Math.PI },
    { kind: 'circle', m: 0.25 },
  ];
  const threshold = { m1: 1, m2: 0.5, m3: 0 };
  const negatives: NegativeSpec[] = [
    { kind: 'plain' },
    {
      kind: 'hard-linear',
      a: 1.2,
      b: 0.2,
      threshold,
      adaptive: { m0: 0.4, m1: 0.2, source: 'raw', gradient: true },
    },
    { kind: 'curricular', t: 0.1, threshold },
    { kind: 'arcneg', alpha: 1.2, sigma: 2 },
    { kind: 'circle', m: 0.25 },
    { kind: 'filter', above: 0.5 },
  ];
  it('writes only keys the binding reads, for every target and negative kind', () => {
    const allowed = new Set<string>(MARGIN_ARGUMENT_KEYS);
    for (const target of targets) {
      for (const neg of negatives) {
        const margin: MarginSpec = {
          angleMap: 'cos',
          target,
          negatives: neg,
          scale: row,
          loss: { kind: 'focal', gamma: 2 },
          gradient: 'full',
        };
        const keys = Object.keys(encodeSpec(geometry, margin, 2));
        expect(
          keys.filter((k) => !allowed.has(k)),
          `${target.kind}/${neg.kind}`,
        ).toEqual([]);
      }
    }
  });
  it('passes the ‖x‖ slopes of per-row parameters to the engine', () => {
    const margin: MarginSpec = {
      angleMap: 'cos',
      target: targets[0],
      negatives: { kind: 'plain' },
      scale: row,
      loss: { kind: 'ce' },
      gradient: 'full',
    };
    const args = encodeSpec(geometry, margin, 2);
    expect(args.m2DNorm).toBe(row.dNorm);
    expect(args.m3DNorm).toBe(row.dNorm);
    expect(args.scaleDNorm).toBe(row.dNorm);
  });
});

const engine = loadEngine();

describe.skipIf(engine === null)('native margin binding', () => {
  const B = 2;
  const D = 3;
  const args = () => ({
    B,
    D,
    C: 2,
    K: 1,
    X: new Float32Array([1, 0, 0, 0, 1, 0]),
    W: new Float32Array([1, 0, 0, 0, 0, 1]),
    labels: new Int32Array([0, 1]),
    scale: 1,
    dX: new Float32Array(B * D),
  });
  it('accepts a well-formed argument object', () => {
    const r = (engine as unknown as { marginSoftmax(a: object): { loss: number } }).marginSoftmax(args());
    expect(Number.isFinite(r.loss)).toBe(true);
  });
  it('refuses a key it does not read, naming it', () => {
    const call = (a: object) => (engine as unknown as { marginSoftmax(a: object): unknown }).marginSoftmax(a);
    expect(() => call({ ...args(), m2row: new Float64Array(B) })).toThrow(
      /unknown marginSoftmax argument 'm2row'/,
    );
    expect(() => call({ ...args(), sgd: { lr: 0.1, momentom: 0.9 } })).toThrow(
      /unknown sgd argument 'momentom'/,
    );
    // targetCos is an output of marginCosines only.
    expect(() => call({ ...args(), targetCos: new Float64Array(B) })).toThrow(TypeError);
  });
  it('the TypeScript wrapper reports refusals of the binding as InvalidArgumentError', () => {
    // More than 255 sub-centres passes the wrapper's checks but not the binding's.
    const K = 256;
    const call = () =>
      marginSoftmaxNative({
        X: new Float32Array([1]),
        W: new Float32Array(K).fill(1),
        labels: new Int32Array([0]),
        B: 1,
        D: 1,
        geometry: { normalizeX: true, normalizeW: 'functional', subCenters: K, clamp: 1 },
        margin: {
          angleMap: 'cos',
          target: { kind: 'angular', m1: 1, m2: 0.5, m3: 0, fallback: 'none' },
          negatives: { kind: 'plain' },
          scale: 1,
          loss: { kind: 'ce' },
          gradient: 'full',
        },
      });
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(/K must be at most 255/);
  });
});
