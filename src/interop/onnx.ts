/**
 * ONNX models (insightface's zoo ships `.onnx` files) run through `onnxruntime-web`, an optional peer:
 * WebAssembly only, so it works in Node and browsers with nothing downloaded at install. It is loaded on
 * first use; without it the caller gets a `MissingPackageError` naming the package to install.
 */
import { CorruptFileError, ShapeMismatchError } from '../errors.js';
import { asMissingPackage } from '../optional-packages.js';

/** The package that runs ONNX models. */
export const ONNX_RUNTIME_PACKAGE = 'onnxruntime-web';

/** A loaded ONNX model with one image input (N×C×H×W) and one embedding output (N×D). */
export interface OnnxModel {
  readonly inputName: string;
  readonly outputName: string;
  /** Runs a batch: `nchw` holds `shape` = [N, C, H, W] float32 values; returns N×D values and D. */
  run(
    nchw: Float32Array,
    shape: readonly [number, number, number, number],
  ): Promise<{ data: Float32Array; dim: number }>;
}

type OrtModule = typeof import('onnxruntime-web');

async function importOrt(): Promise<OrtModule> {
  try {
    return await import(ONNX_RUNTIME_PACKAGE);
  } catch (err) {
    throw asMissingPackage('running .onnx models', err);
  }
}

/** Loads the ONNX model in `bytes`; `source` names it in errors. */
export async function loadOnnxModel(bytes: Uint8Array, source: string): Promise<OnnxModel> {
  const ort = await importOrt();
  // One thread, no worker proxy: predictable in tests and in Node without COOP/COEP headers.
  ort.env.wasm.numThreads = 1;
  let session: Awaited<ReturnType<OrtModule['InferenceSession']['create']>>;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (err) {
    throw new CorruptFileError(source, `not a model onnxruntime can run (${(err as Error).message})`);
  }
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  return {
    inputName,
    outputName,
    async run(nchw, shape) {
      const input = new ort.Tensor('float32', nchw, [...shape]);
      const result = await session.run({ [inputName]: input });
      const output = result[outputName];
      input.dispose();
      const dims = output.dims;
      if (output.type !== 'float32' || dims.length !== 2 || dims[0] !== shape[0]) {
        output.dispose();
        throw new ShapeMismatchError(
          `${source} output '${outputName}'`,
          `float32 [${shape[0]}, D]`,
          `${output.type} [${dims.join(', ')}]`,
        );
      }
      const data = Float32Array.from(output.data as Float32Array);
      output.dispose();
      return { data, dim: dims[1] };
    },
  };
}
