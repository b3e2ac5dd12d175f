/** The page's view in the URL fragment: a round trip keeps it, and damaged fragments fall back to defaults. */
import { describe, expect, it } from 'vitest';
import { defaultSetting } from '../../web/src/explorer/controls.js';
import { trainingDefaults } from '../../web/src/train/training-defaults.js';
import {
  decodePageState,
  defaultPageState,
  encodePageState,
  type PageState,
} from '../../web/src/url-state.js';

describe('URL state', () => {
  it('round-trips a changed view', () => {
    const magface = defaultSetting('magface');
    const state: PageState = {
      explorer: {
        setting: { ...magface, params: { ...magface.params, lowerNorm: 150, upperNorm: 1 }, xNorm: 42.5 },
        plane: 'cosine',
        shading: 'probability',
        overlay: 'cosface',
      },
      training: {
        panels: [
          { head: 'curricularface', params: { ...trainingDefaults('curricularface'), margin: 0.25 } },
          { head: 'softmax', params: trainingDefaults('softmax') },
          { head: 'adaface', params: trainingDefaults('adaface') },
        ],
        shared: { seed: 7, sameStart: false },
      },
    };
    const fragment = encodePageState(state);
    expect(decodePageState(`#${fragment}`)).toEqual(state);
    expect(decodePageState(fragment)).toEqual(state);
  });

  it('keeps head state values (CurricularFace t)', () => {
    const base = defaultPageState();
    const setting = { ...defaultSetting('curricularface'), state: { t: 0.4 } };
    const state = { ...base, explorer: { ...base.explorer, setting } };
    expect(decodePageState(encodePageState(state)).explorer.setting.state).toEqual({ t: 0.4 });
  });

  it('falls back to the defaults for an empty or damaged fragment', () => {
    expect(decodePageState('')).toEqual(defaultPageState());
    const damaged = decodePageState(
      'head=nohead&params={oops&plane=sideways&train=arcface,bogus&seed=-3&overlay=nothing&p0=[1,2]',
    );
    const d = defaultPageState();
    expect(damaged.explorer).toEqual(d.explorer);
    // One known head is not a comparison: the default pair stays.
    expect(damaged.training.panels).toEqual(d.training.panels);
    expect(damaged.training.shared.seed).toBe(1);
  });

  it('drops non-finite and nested values from parameters', () => {
    const q = new URLSearchParams({ head: 'cosface', params: '{"margin":0.1,"scale":"x","loss":{"a":1}}' });
    const s = decodePageState(q.toString()).explorer.setting;
    expect(s.params.margin).toBe(0.1);
    expect(s.params.scale).toBe('x');
    expect(s.params.loss).toBe(defaultSetting('cosface').params.loss);
  });
});
