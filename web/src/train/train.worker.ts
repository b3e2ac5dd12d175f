/**
 * Training worker: loads the MNIST subset, picks the first TF.js backend that initialises (WebGL,
 * then WebAssembly, then plain JS), and trains one head, posting losses and held-out embeddings.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import { decodeMnistSubset, type MnistSubset } from './mnist-format.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { EmbeddingTrainer } from './trainer.js';

/** The worker's global scope, typed by hand (the page's tsconfig uses the DOM library). */
const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
};

// The multi-threaded WebAssembly build needs a cross-origin-isolated page (SharedArrayBuffer), which a
// plain static host does not give; it is switched off and not bundled. setWasmPaths wants all three
// names, so the threaded one points at the single-threaded SIMD file it will never load.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmSimd,
});

let data: MnistSubset | null = null;
let trainer: EmbeddingTrainer | null = null;
let runId = 0;

async function loadDigits(url: string): Promise<MnistSubset> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  let bytes = new Uint8Array(await response.arrayBuffer());
  // A server may already have undone the gzip (Content-Encoding); only inflate gzip-magic bytes.
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  return decodeMnistSubset(bytes);
}

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

async function pickBackend(preferred: string[]): Promise<string> {
  for (const name of preferred) {
    // A list of one (the page's ?backend=) is taken as asked, software renderer or not.
    if (name === 'webgl' && preferred.length > 1 && softwareWebGl()) continue;
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
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

function progress(losses: number[], running: boolean): void {
  if (!trainer) return;
  const snap = trainer.snapshot();
  const embeddings = snap.embeddings.slice();
  const weights = snap.weights.slice();
  post(
    {
      type: 'progress',
      step: trainer.steps,
      losses,
      embeddings,
      labels: snap.labels.slice(),
      weights,
      accuracy: snap.accuracy,
      running,
    },
    [embeddings.buffer, weights.buffer],
  );
}

/** Train in slices, yielding to the event loop between them so `stop` and `configure` get through. */
async function run(steps: number | null, every: number): Promise<void> {
  const id = ++runId;
  let losses: number[] = [];
  let done = 0;
  while (trainer && id === runId && (steps === null || done < steps)) {
    losses.push(trainer.step());
    done++;
    const finished = steps !== null && done >= steps;
    if (losses.length >= every || finished) {
      progress(losses, !finished);
      losses = [];
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}

scope.onmessage = (event) => {
  const msg = event.data;
  const handle = async () => {
    if (msg.type === 'init') {
      const [backend, digits] = await Promise.all([pickBackend(msg.backends), loadDigits(msg.dataUrl)]);
      data = digits;
      post({ type: 'ready', backend, digits: digits.count });
    } else if (msg.type === 'configure') {
      if (!data) throw new Error('configure before init');
      runId++;
      trainer?.dispose();
      trainer = new EmbeddingTrainer(data, { head: msg.head, params: msg.params, seed: msg.seed });
      progress([], false);
    } else if (msg.type === 'run') {
      await run(msg.steps, msg.every);
    } else if (msg.type === 'stop') {
      runId++;
      progress([], false);
    }
  };
  handle().catch((e: unknown) =>
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
  );
};
