/** The explorer page: margin explorer on top, two live-training panels below. */
import './style.css';
import { mountExplorer } from './explorer/view.js';
import { pageHooks } from './hooks.js';
import { mountTrainingPanel } from './train/panel.js';

const hooks = pageHooks();
mountExplorer(document.getElementById('explorer')!);
const panels = [
  mountTrainingPanel(document.getElementById('train-left')!, {
    id: 'left',
    head: 'softmax',
    params: { scale: 16, margin: 0 },
  }),
  mountTrainingPanel(document.getElementById('train-right')!, {
    id: 'right',
    head: 'arcface',
    params: { scale: 16, margin: 0.3 },
  }),
];
hooks.trainSteps = async (steps: number) => {
  await Promise.all(panels.map((p) => p.trainSteps(steps)));
};
Promise.all(panels.map((p) => p.ready)).then(
  () => {
    hooks.ready = true;
    document.body.dataset.ready = 'true';
  },
  (e: unknown) => {
    document.body.dataset.ready = 'error';
    console.error(e);
  },
);
