/**
 * Training worker: decodes the digits carried in the bundle, picks the first TF.js backend that
 * initialises (WebGL on a real GPU, then WebAssembly, then plain JS), and trains one head at a time,
 * tagging every report with the run id the panel gave.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../../src/tf/index.js';
import { inlineDigits, inlineWasmUrls } from './inline-binaries.js';
import type { MnistSubset } from './mnist-format.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { EmbeddingTrainer } from './trainer.js';
import { tarAtLowFar } from './verification.js';

/** The worker's global scope, typed by hand (the page's tsconfig uses the DOM library). */
const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
};

// The multi-threaded WebAssembly build needs a cross-origin-isolated page (SharedArrayBuffer), which a
// plain static host or file:// does not give; it is switched off and not bundled. setWasmPaths wants
// all three names, so the threaded one points at the single-threaded SIMD file it will never load.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
const wasm = inlineWasmUrls();
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasm.plain,
  'tfjs-backend-wasm-simd.wasm': wasm.simd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasm.simd,
});

let data: MnistSubset | null = null;
let trainer: EmbeddingTrainer | null = null;
/** The run the worker is on (reports carry it). */
let currentRun = -1;
/** The loop now training; a loop whose token is no longer this one stops at its next step. */
let activeLoop: symbol | null = null;
/**
 * Losses not yet reported, and when the steps since the last report began. Kept here, not in a loop,
 * so a report after a pause or a new `run` still carries every step taken: one loss per step.
 */
let pendingLosses: number[] = [];
let pendingSince = 0;

/**
 * The WebGL renderer is a CPU emulation (SwiftShader, llvmpipe): TF.js on it is far slower than on
 * WebAssembly, so such a context does not count as WebGL.
 */
function softwareWebGl(): boolean {
  try {
    const gl =
      new OffscreenCanvas(1, 1).getContext('webgl2') ?? new OffscreenCanvas(1, 1).getContext('webgl');
    if (!gl) return true;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    return /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
  } catch {
    return true;
  }
}

/** Why WebGL was passed over, if it was. */
let skippedWebGl = '';

async function pickBackend(preferred: string[]): Promise<string> {
  for (const name of preferred) {
    // A list of one (the page's ?backend=) is taken as asked, software renderer or not.
    if (name === 'webgl' && preferred.length > 1 && softwareWebGl()) {
      skippedWebGl = 'no hardware WebGL';
      continue;
    }
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        if (name === 'wasm') registerWasmTrainingKernels();
        // A backend can initialise and still fail its first kernel (no WebGL context in a worker).
        tf.tidy(() => tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])).dataSync());
        return name;
      }
    } catch {
      // Try the next one.
    }
  }
  throw new Error(`no TF.js backend among ${preferred.join(', ')} initialised`);
}

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

/** Report the current run: held-out evaluation plus the losses since the last report. */
function report(running: boolean): void {
  if (!trainer) return;
  const snap = trainer.snapshot();
  const embeddings = snap.embeddings.slice();
  const weights = snap.weights.slice();
  const losses = pendingLosses;
  const now = performance.now();
  const stepsPerSecond = losses.length > 0 ? (1000 * losses.length) / Math.max(1, now - pendingSince) : null;
  pendingLosses = [];
  post(
    {
      type: 'progress',
      runId: currentRun,
      step: trainer.steps,
      losses,
      embeddings,
      labels: snap.labels.slice(),
      weights,
      accuracy: snap.accuracy,
      tar: tarAtLowFar(snap.embeddings, snap.labels, trainer.dim),
      stepsPerSecond,
      running,
    },
    [embeddings.buffer, weights.buffer],
  );
  // The evaluation above is not training time.
  pendingSince = performance.now();
}

/** Train in slices, yielding to the event loop between them so `stop` and `configure` get through. */
async function run(runId: number, steps: number | null, every: number): Promise<void> {
  if (runId !== currentRun || !trainer) return;
  // A second `run` of the same run replaces the first loop.
  const token = Symbol('loop');
  activeLoop = token;
  pendingSince = performance.now();
  let done = 0;
  while (trainer && activeLoop === token && (steps === null || done < steps)) {
    const loss = trainer.step();
    if (!Number.isFinite(loss)) {
      activeLoop = null;
      throw new Error(`the loss became ${loss} at step ${trainer.steps}`);
    }
    pendingLosses.push(loss);
    done++;
    const finished = steps !== null && done >= steps;
    if (pendingLosses.length >= every || finished) {
      report(!finished);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
  if (activeLoop === token) activeLoop = null;
}

scope.onmessage = (event) => {
  const msg = event.data;
  const handle = async () => {
    if (msg.type === 'init') {
      const [backend, digits] = await Promise.all([pickBackend(msg.backends), inlineDigits()]);
      data = digits;
      post({ type: 'ready', backend, note: backend === 'webgl' ? '' : skippedWebGl, digits: digits.count });
    } else if (msg.type === 'configure') {
      if (!data) throw new Error('configure before init');
      currentRun = msg.runId;
      activeLoop = null;
      pendingLosses = [];
      trainer?.dispose();
      trainer = null;
      const { head, params, seed, initSeed } = msg.settings;
      trainer = new EmbeddingTrainer(data, { head, params, seed, initSeed });
      report(false);
    } else if (msg.type === 'run') {
      await run(msg.runId, msg.steps, msg.every);
    } else if (msg.type === 'stop') {
      if (msg.runId !== currentRun || activeLoop === null) return;
      activeLoop = null;
      report(false);
    }
  };
  handle().catch((e: unknown) =>
    post({
      type: 'error',
      runId: msg.type === 'init' ? null : msg.runId,
      message: e instanceof Error ? e.message : String(e),
    }),
  );
};
