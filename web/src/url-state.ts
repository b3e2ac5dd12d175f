/**
 * The page's view as a URL fragment, so a link reproduces it: the explorer's head, parameters, state
 * values, ‖x‖, plane, shading and compared head; the training panels' heads and parameters, the seed
 * and "same start". Reading is forgiving: anything missing, unknown or malformed falls back to the
 * defaults (an out-of-range parameter is kept, and the page greys its plot with the reason).
 */

import { headNames } from '../../src/heads/registry.js';
import { EXPLORER_HEAD } from './default-heads.js';
import { defaultSetting, type HeadSetting } from './explorer/controls.js';
import type { Shading } from './explorer/draw.js';
import type { Plane } from './explorer/margin-grid.js';
import type { ExplorerState } from './explorer/view.js';
import { trainingDefaults } from './train/training-defaults.js';
import { defaultTrainingState, MAX_PANELS, type TrainingState } from './train/training-state.js';

/** Everything the URL holds. */
export interface PageState {
  explorer: ExplorerState;
  training: TrainingState;
}

/** The view of a fresh page. */
export function defaultPageState(): PageState {
  return {
    explorer: { setting: defaultSetting(EXPLORER_HEAD), plane: 'angle', shading: 'win', overlay: null },
    training: defaultTrainingState(),
  };
}

const known = (name: string | null): name is string => name !== null && headNames.includes(name);

/** A JSON object of finite numbers, strings and booleans, or null. */
function jsonRecord(text: string | null): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (
        (typeof x === 'number' && Number.isFinite(x)) ||
        typeof x === 'string' ||
        typeof x === 'boolean' ||
        x === null
      )
        out[k] = x;
    }
    return out;
  } catch {
    return null;
  }
}

function numbersOnly(r: Record<string, unknown> | null): Record<string, number> {
  return Object.fromEntries(
    Object.entries(r ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number'),
  );
}

/** The fragment (without '#') for a state. */
export function encodePageState(state: PageState): string {
  const q = new URLSearchParams();
  const { setting, plane, shading, overlay } = state.explorer;
  q.set('head', setting.name);
  q.set('params', JSON.stringify(setting.params));
  if (Object.keys(setting.state).length > 0) q.set('state', JSON.stringify(setting.state));
  q.set('norm', String(setting.xNorm));
  q.set('plane', plane);
  q.set('shading', shading);
  if (overlay) q.set('overlay', overlay);
  q.set('train', state.training.panels.map((p) => p.head).join(','));
  state.training.panels.forEach((p, k) => {
    q.set(`p${k}`, JSON.stringify(p.params));
  });
  q.set('seed', String(state.training.shared.seed));
  q.set('same', state.training.shared.sameStart ? '1' : '0');
  return q.toString();
}

/** The state a fragment describes (defaults for whatever it lacks). */
export function decodePageState(fragment: string): PageState {
  const q = new URLSearchParams(fragment.replace(/^#/, ''));
  const base = defaultPageState();
  const head = q.get('head');
  let setting: HeadSetting = base.explorer.setting;
  if (known(head)) {
    const d = defaultSetting(head);
    const norm = Number(q.get('norm'));
    setting = {
      name: head,
      params: { ...d.params, ...(jsonRecord(q.get('params')) ?? {}) },
      state: { ...d.state, ...numbersOnly(jsonRecord(q.get('state'))) },
      xNorm: q.has('norm') && Number.isFinite(norm) && norm > 0 ? norm : d.xNorm,
    };
  }
  const plane: Plane = q.get('plane') === 'cosine' ? 'cosine' : 'angle';
  const shading: Shading = q.get('shading') === 'probability' ? 'probability' : 'win';
  const overlay = q.get('overlay');
  const heads = (q.get('train') ?? '').split(',').filter(known).slice(0, MAX_PANELS);
  const panels =
    heads.length >= 2
      ? heads.map((h, k) => ({
          head: h,
          params: { ...trainingDefaults(h), ...(jsonRecord(q.get(`p${k}`)) ?? {}) },
        }))
      : base.training.panels;
  const seed = Number(q.get('seed'));
  return {
    explorer: { setting, plane, shading, overlay: known(overlay) ? overlay : null },
    training: {
      panels,
      shared: {
        seed: q.has('seed') && Number.isInteger(seed) && seed >= 0 ? seed : base.training.shared.seed,
        sameStart: q.has('same') ? q.get('same') === '1' : base.training.shared.sameStart,
      },
    },
  };
}
