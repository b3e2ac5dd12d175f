/**
 * The explorer page: margin explorer on top, 2–4 live-training panels compared below. The view lives
 * in the URL fragment, so a link reproduces it.
 */
import './style.css';
import { mountExplorer } from './explorer/view.js';
import { pageHooks } from './hooks.js';
import { mountTraining } from './train/compare.js';
import { decodePageState, encodePageState } from './url-state.js';

const hooks = pageHooks();
const initial = decodePageState(location.hash);
const explorer = mountExplorer(document.getElementById('explorer')!);
explorer.setState(initial.explorer);
const training = mountTraining(document.getElementById('training')!, initial.training);

const saveState = () => {
  const fragment = encodePageState({ explorer: explorer.getState(), training: training.getState() });
  history.replaceState(null, '', `${location.pathname}${location.search}#${fragment}`);
};
explorer.onChange = saveState;
training.onChange = saveState;
// A link pasted into this tab changes only the fragment, which does not reload the page: start afresh
// from it. (The page's own updates use replaceState, which fires no hashchange.)
addEventListener('hashchange', () => location.reload());

// Pictures are sized by CSS; redraw them when the layout changes width.
let lastWidth = document.documentElement.clientWidth;
new ResizeObserver(() => {
  const width = document.documentElement.clientWidth;
  if (width === lastWidth) return;
  lastWidth = width;
  explorer.redraw();
  training.redraw();
}).observe(document.body);

training.ready().then(
  () => {
    hooks.ready = true;
    document.body.dataset.ready = 'true';
  },
  (e: unknown) => {
    document.body.dataset.ready = 'error';
    console.error(e);
  },
);
