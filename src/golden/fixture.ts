/**
 * Reading `faceverloss-golden/1` fixtures: JSON files holding the inputs, outputs, gradients and state
 * of reference implementations over one or more SGD steps.
 */
import { CorruptFileError } from '../errors.js';
import { MiB, readRegularFile } from '../regular-file.js';

/** A decoded tensor: flat values plus shape. Non-finite values arrive as NaN / ±Infinity. */
export interface Tensor {
  dtype: string;
  shape: number[];
  data: Float64Array;
}

/** One training step of a fixture: inputs, state, and the anchor's outputs, gradients and state after. */
export interface FixtureStep {
  inputs: Record<string, Tensor>;
  stateBefore: Record<string, Tensor>;
  outputs: Record<string, Record<string, Tensor>>;
  grads: Record<string, Record<string, Tensor>>;
  /** Per dtype: state buffers, plus `params_after_forward` / `params_after_sgd` maps. */
  stateAfter: Record<
    string,
    {
      buffers: Record<string, Tensor>;
      afterForward: Record<string, Tensor>;
      afterSgd: Record<string, Tensor>;
    }
  >;
}

/** A parsed golden fixture (`faceverloss-golden/1`): one head, anchor and case. */
export interface Fixture {
  path: string;
  head: string;
  variant: string | null;
  case: string;
  anchor: { repo: string; path: string; class: string; commit: string; tag: string };
  params: Record<string, unknown>;
  setup: {
    B: number;
    D: number;
    C: number;
    steps: number;
    x_mode: string;
    optimizer: { lr: number; momentum: number; weight_decay: number; applies_to: string[] };
    train_mode: boolean;
    weights: Record<string, { anchor_layout: string }>;
  };
  steps: FixtureStep[];
}

function decodeValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new Error(`not a tensor value: ${JSON.stringify(v)}`);
}

function isTensor(v: unknown): v is { dtype: string; shape: number[]; data: unknown[] } {
  return (
    typeof v === 'object' &&
    v !== null &&
    'dtype' in v &&
    'data' in v &&
    Array.isArray((v as { data: unknown }).data)
  );
}

/** Decode a tensor; a float32 value is rounded to float32 as the format prescribes. */
export function decodeTensor(raw: unknown): Tensor {
  if (!isTensor(raw)) throw new Error('not a tensor object');
  const data = Float64Array.from(raw.data, decodeValue);
  if (raw.dtype === 'float32') for (let i = 0; i < data.length; i++) data[i] = Math.fround(data[i]);
  return { dtype: raw.dtype, shape: raw.shape, data };
}

function decodeMap(raw: unknown): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>))
    if (isTensor(v)) out[k] = decodeTensor(v);
  return out;
}

/** Largest fixture file read. */
const FIXTURE_MAX_BYTES = 256 * MiB;

/** Load and decode one fixture file. */
export function loadFixture(path: string): Fixture {
  // Regular files only, within a cap (fixtures are KiB to a few MiB): never a hang on a pipe or device.
  const text = readRegularFile(path, { what: 'a golden fixture (JSON)', maxBytes: FIXTURE_MAX_BYTES });
  return parseFixture(text.toString('utf8'), path);
}

/** Decode the text of a fixture file; `path` names it in errors. */
export function parseFixture(text: string, path: string): Fixture {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CorruptFileError(path, `cannot read fixture JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CorruptFileError(path, 'expected a JSON object with "format": "faceverloss-golden/1"');
  if (json.format !== 'faceverloss-golden/1')
    throw new CorruptFileError(path, `unknown format ${JSON.stringify(json.format)}`);
  try {
    const steps = (json.steps as Record<string, Record<string, unknown>>[]).map((s): FixtureStep => {
      const outputs: FixtureStep['outputs'] = {};
      const grads: FixtureStep['grads'] = {};
      const stateAfter: FixtureStep['stateAfter'] = {};
      for (const dt of ['float64', 'float32']) {
        outputs[dt] = decodeMap(s.outputs?.[dt]);
        grads[dt] = decodeMap(s.grads?.[dt]);
        const sa = (s.state_after?.[dt] ?? {}) as Record<string, unknown>;
        stateAfter[dt] = {
          buffers: decodeMap(sa),
          afterForward: decodeMap(sa.params_after_forward),
          afterSgd: decodeMap(sa.params_after_sgd),
        };
      }
      return {
        inputs: decodeMap(s.inputs),
        stateBefore: decodeMap(s.state_before),
        outputs,
        grads,
        stateAfter,
      };
    });
    return { ...(json as unknown as Omit<Fixture, 'steps' | 'path'>), path, steps };
  } catch (err) {
    throw new CorruptFileError(path, `malformed fixture (${(err as Error).message})`);
  }
}
