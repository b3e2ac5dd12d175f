/**
 * Controls for a head's parameters, derived from its zod schema: numbers become sliders (range from the
 * schema's bounds and default), enums become choices, booleans toggles. Only parameters that change
 * the head's margin logits are shown: each candidate is probed by evaluating the head with another
 * value, so loss wrappers, EMA momenta and regulariser weights drop out without a hand-kept list.
 */
import { z } from 'zod';
import type { Head } from '../../../src/heads/define.js';
import { createHead, headDefinition, resolveParams } from '../../../src/heads/registry.js';

/** A slider over a numeric parameter, head state value or the embedding norm. */
export interface NumberControl {
  kind: 'number';
  key: string;
  min: number;
  max: number;
  step: number;
  value: number;
  /** The parameter is an angle in radians (shown with degrees too). */
  angular: boolean;
}

/** A choice among an enum's options. */
export interface ChoiceControl {
  kind: 'choice';
  key: string;
  options: string[];
  value: string;
}

/** An on/off parameter. */
export interface ToggleControl {
  kind: 'toggle';
  key: string;
  value: boolean;
}

export type Control = NumberControl | ChoiceControl | ToggleControl;

/** Parameter values as the schema accepts them. */
export type ParamValues = Record<string, unknown>;

/** Everything that determines the curves and boundary of a head. */
export interface HeadSetting {
  name: string;
  params: ParamValues;
  /** Values written into the head's state (AdaCos's s, CurricularFace's t, SphereFace's λ…). */
  state: Record<string, number>;
  /** Embedding norm ‖x‖ handed to heads whose margin or scale depends on it. */
  xNorm: number;
}

/** The three groups of controls of a head under a setting. */
export interface HeadControls {
  params: Control[];
  state: NumberControl[];
  /** A slider for ‖x‖ when the head's logits depend on it. */
  xNorm: NumberControl | null;
}

/** Display ranges where the schema's bounds are too wide to be useful on a slider. */
const RANGE_HINTS: Record<string, { min: number; max: number }> = {
  scale: { min: 1, max: 128 },
  lowerNorm: { min: 1, max: 150 },
  upperNorm: { min: 1, max: 150 },
};

/** Ranges and starting values of state entries (state has no schema; its initial values vary with C). */
const STATE_HINTS: Record<string, { min: number; max: number; value?: number }> = {
  // SphereFace starts at λ = 1000 (no visible margin) and anneals towards lambdaMin = 5.
  lambda: { min: 0, max: 20, value: 5 },
  // CurricularFace's t: an EMA of the mean target cosine.
  t: { min: -1, max: 1 },
  // AdaCos's s starts at √2·ln(C − 1), which is 0 for two classes; 16 is typical mid-training.
  s: { min: 0.5, max: 64, value: 16 },
  batchMean: { min: 0, max: 150 },
  batchStd: { min: 0.1, max: 200 },
};

const NORM_CONTROL: NumberControl = {
  kind: 'number',
  key: '‖x‖',
  min: 0.1,
  max: 150,
  step: 0.1,
  value: 1,
  angular: false,
};

/** Strip default/optional/nullable wrappers; report the default if there is one. */
function unwrap(schema: z.ZodType): { inner: z.ZodType; defaultValue: unknown; hasDefault: boolean } {
  let inner = schema;
  let defaultValue: unknown;
  let hasDefault = false;
  for (;;) {
    if (inner instanceof z.ZodDefault) {
      if (!hasDefault) defaultValue = inner.def.defaultValue;
      hasDefault = true;
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable) {
      inner = inner.unwrap() as z.ZodType;
    } else return { inner, defaultValue, hasDefault };
  }
}

/** A step of 1, 2 or 5 × 10^k giving about 200 positions over the range. */
function niceStep(span: number): number {
  const raw = span / 200;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  return (m < 2 ? 1 : m < 5 ? 2 : 5) * pow;
}

function numberControl(key: string, schema: z.ZodNumber, value: number): NumberControl {
  const angular = schema.maxValue === Math.PI;
  const integer = schema.isInt;
  const schemaMin = Number.isFinite(schema.minValue) ? (schema.minValue as number) : Number.NEGATIVE_INFINITY;
  const schemaMax = Number.isFinite(schema.maxValue) ? (schema.maxValue as number) : Number.POSITIVE_INFINITY;
  const hint = RANGE_HINTS[key];
  let min: number;
  let max: number;
  if (hint) {
    min = Math.max(schemaMin, Math.min(hint.min, value));
    max = Math.min(schemaMax, Math.max(hint.max, value));
  } else {
    min = Number.isFinite(schemaMin) ? schemaMin : Math.min(0, value);
    // Unbounded or very wide ranges are shown up to a few times the default.
    const wide = Math.max(1, 4 * Math.abs(value));
    max = schemaMax <= 10 * Math.max(1, Math.abs(value)) ? schemaMax : wide;
  }
  const step = integer ? 1 : niceStep(max - min);
  // Exclusive bounds (positive(), lt(π)) are approached but not reached.
  const check = (v: number) => schema.safeParse(v).success;
  if (!check(min)) min += step;
  if (!check(max)) max -= step;
  return { kind: 'number', key, min, max, step, value, angular };
}

/** One row per parameter the schema declares with a default (optional parameters keep their default). */
function schemaControls(name: string, params: ParamValues): Control[] {
  const schema = headDefinition(name).schema;
  if (!(schema instanceof z.ZodObject)) return [];
  const out: Control[] = [];
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const { inner, hasDefault } = unwrap(field);
    const value = params[key];
    if (!hasDefault || value === null || value === undefined) continue;
    if (inner instanceof z.ZodNumber && typeof value === 'number') out.push(numberControl(key, inner, value));
    else if (inner instanceof z.ZodEnum && typeof value === 'string') {
      out.push({ kind: 'choice', key, options: inner.options.map(String), value });
    } else if (inner instanceof z.ZodBoolean && typeof value === 'boolean') {
      out.push({ kind: 'toggle', key, value });
    }
  }
  return out;
}

/** Probe plane: a coarse grid of (θy, θj) strictly inside (0, π)². */
function probeCosines(): { cos: Float64Array; labels: Int32Array } {
  const n = 13;
  const cos = new Float64Array(2 * n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const k = a * n + b;
      cos[2 * k] = Math.cos((Math.PI * (a + 0.5)) / n);
      cos[2 * k + 1] = Math.cos((Math.PI * (b + 0.5)) / n);
    }
  }
  return { cos, labels: new Int32Array(n * n) };
}

const PROBE = probeCosines();

/** Embedding norms the relevance probe also tries besides the current one. */
const PROBE_NORMS = [1, 30, 80];

/**
 * Build the head for a setting: validated parameters (throws the registry's InvalidArgumentError for
 * values the schema refuses), state overrides applied.
 */
export function buildHead(setting: HeadSetting): Head {
  const head = createHead(setting.name, setting.params, { classes: 2 });
  if (Object.keys(setting.state).length > 0) head.setState({ ...head.getState(), ...setting.state });
  return head;
}

/** Margin logits of a setting on the probe grid, or null if the setting is invalid. */
function probe(setting: HeadSetting): Float64Array | null {
  try {
    const head = buildHead(setting);
    const n = PROBE.labels.length;
    return head.marginLogits(PROBE.cos, 2, PROBE.labels, new Float64Array(n).fill(setting.xNorm));
  } catch {
    return null;
  }
}

function differs(a: Float64Array | null, b: Float64Array | null): boolean {
  if (!a || !b) return false;
  for (let i = 0; i < a.length; i++) {
    const same = a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]));
    if (!same) return true;
  }
  return false;
}

/** Other values worth trying for a control (two points inside its range, or every other option). */
function alternatives(c: Control): unknown[] {
  if (c.kind === 'toggle') return [!c.value];
  if (c.kind === 'choice') return c.options.filter((o) => o !== c.value);
  const at = (f: number) => {
    const v = c.min + f * (c.max - c.min);
    return Math.round(v / c.step) * c.step;
  };
  return [at(0.37), at(0.71)].filter((v) => v !== c.value);
}

/** Whether the head has a margin at all (CenterLoss has none). */
export function hasMargin(name: string): boolean {
  return headDefinition(name).compute === undefined;
}

/** The default setting of a head: schema defaults, hinted state values, ‖x‖ = 1. */
export function defaultSetting(name: string): HeadSetting {
  const params = resolveParams(name, {});
  // Heads with norm bounds (MagFace) start in the middle of them, where every bound matters.
  const { lowerNorm, upperNorm } = params as { lowerNorm?: unknown; upperNorm?: unknown };
  const xNorm =
    typeof lowerNorm === 'number' && typeof upperNorm === 'number' ? (lowerNorm + upperNorm) / 2 : 1;
  const setting: HeadSetting = { name, params, state: {}, xNorm };
  if (!hasMargin(name)) return setting;
  const initial = createHead(name, params, { classes: 2 }).getState();
  for (const [key, value] of Object.entries(initial)) {
    const hint = STATE_HINTS[key];
    if (hint) setting.state[key] = hint.value ?? Math.min(hint.max, Math.max(hint.min, value));
  }
  return setting;
}

/** The controls that change the head's margin logits under the current setting. */
export function controlsFor(setting: HeadSetting): HeadControls {
  if (!hasMargin(setting.name)) return { params: [], state: [], xNorm: null };
  // A parameter counts if it changes the logits at the current norm or at another typical one (MagFace's
  // norm bounds matter only for norms between them).
  const norms = [setting.xNorm, ...PROBE_NORMS.filter((n) => n !== setting.xNorm)];
  const bases = norms.map((xNorm) => probe({ ...setting, xNorm }));
  const relevant = (vary: (v: unknown) => HeadSetting, c: Control) =>
    norms.some((xNorm, k) => alternatives(c).some((v) => differs(bases[k], probe({ ...vary(v), xNorm }))));
  const params = schemaControls(setting.name, setting.params).filter((c) =>
    relevant((v) => ({ ...setting, params: { ...setting.params, [c.key]: v } }), c),
  );
  const state: NumberControl[] = [];
  for (const [key, value] of Object.entries(setting.state)) {
    const hint = STATE_HINTS[key];
    if (!hint) continue;
    const c: NumberControl = {
      kind: 'number',
      key,
      min: hint.min,
      max: hint.max,
      step: niceStep(hint.max - hint.min),
      value,
      angular: false,
    };
    if (relevant((v) => ({ ...setting, state: { ...setting.state, [key]: v as number } }), c)) state.push(c);
  }
  const norm = { ...NORM_CONTROL, value: setting.xNorm };
  const xNorm = alternatives(norm).some((v) => differs(bases[0], probe({ ...setting, xNorm: v as number })))
    ? norm
    : null;
  return { params, state, xNorm };
}

/**
 * The controls of a setting. An invalid one (from a link, say) has no logits to probe, so its controls
 * are those of the head's defaults, showing the setting's values: every value stays in reach to fix.
 */
export function controlsInReach(setting: HeadSetting): HeadControls {
  try {
    buildHead(setting);
    return controlsFor(setting);
  } catch {
    const base = controlsFor(defaultSetting(setting.name));
    const valued = <C extends Control>(c: C): C => {
      const v = setting.params[c.key];
      return typeof v === typeof c.value ? ({ ...c, value: v } as C) : c;
    };
    return { ...base, params: base.params.map(valued) };
  }
}
