/**
 * `faceverloss embed --model MODEL --input X --out E`: embeddings of images with a run folder, an
 * insightface `.pth` or an `.onnx` model.
 *
 * X is a float32 `.npy` array of images already normalised to [-1, 1] (N×3×H×W as PyTorch feeds them,
 * or N×H×W×3), an image folder (one sub-folder per identity) or an insightface `.bin` verification set;
 * images are decoded as RGB and scaled to (pixel/255 − 0.5)/0.5, as insightface does. E is `.npy`
 * (float32 N×D, rows in input order) or `.csv` (`name,v1,…,vD` per line, the format `eval --embeddings`
 * reads; names are `identity/file` for folders, the row index otherwise), written atomically.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { scanImageFolder } from '../data/image-folder.js';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { readVerificationBin } from '../eval/index.js';
import { encodeNpy, readNpy } from '../interop/npy.js';
import { imagePixels } from '../train/embedder.js';
import { type EmbeddingModel, openEmbeddingModel } from '../train/embedding-model.js';
import { formatOf, writeFileAtomic } from '../viz/output.js';
import { selectBackend } from './train.js';

interface EmbedFlags {
  model: string;
  input: string;
  out: string;
  batchSize: string;
  backend?: string;
}

/** What to embed: a count, row names, and the pixels of rows [start, end). */
interface EmbedInput {
  readonly count: number;
  name(i: number): string;
  pixels(start: number, end: number): Promise<Float32Array>;
}

/** Registers `embed`. */
export function registerEmbed(program: Command, write = (text: string) => process.stdout.write(text)): void {
  program
    .command('embed')
    .description('embed images with a run folder, an insightface .pth or an .onnx model; writes .npy or .csv')
    .requiredOption(
      '--model <model>',
      'run folder, PyTorch IResNet checkpoint (.pth/.pt) or ONNX model (.onnx)',
    )
    .requiredOption(
      '--input <x>',
      '.npy float32 N×3×H×W or N×H×W×3 in [-1, 1], an image folder (one sub-folder per identity) or a .bin set',
    )
    .requiredOption('--out <file>', 'embeddings: .npy (float32 N×D) or .csv (name,v1,…,vD)')
    .option('--batch-size <n>', 'images per model call', '32')
    .option('--backend <name>', "'best' (native kernels, else wasm, else cpu), 'wasm' or 'cpu'", 'best')
    .action(async (flags: EmbedFlags) => {
      const format = formatOf(flags.out, '--out', ['npy', 'csv'] as const);
      const batchSize = Number(flags.batchSize);
      if (!/^\d+$/.test(flags.batchSize) || batchSize < 1) {
        throw new InvalidArgumentError('--batch-size', 'a positive integer', flags.batchSize);
      }
      await selectBackend(flags.backend);
      const model = await openEmbeddingModel(flags.model);
      try {
        const input = await openInput(flags.input, model);
        let dim = 0;
        let out = new Float32Array(0);
        for (let start = 0; start < input.count; start += batchSize) {
          const end = Math.min(input.count, start + batchSize);
          const result = await model.embed(await input.pixels(start, end), end - start);
          if (start === 0) {
            dim = result.dim;
            out = new Float32Array(input.count * dim);
          }
          out.set(result.data, start * dim);
        }
        const data =
          format === 'npy'
            ? encodeNpy(out, [input.count, dim])
            : Array.from(
                { length: input.count },
                (_, i) => `${input.name(i)},${Array.from(out.subarray(i * dim, (i + 1) * dim)).join(',')}\n`,
              ).join('');
        writeFileAtomic(flags.out, data, '--out');
        write(`wrote ${input.count} embeddings of dimension ${dim} to ${flags.out} (${model.description})\n`);
      } finally {
        model.dispose();
      }
    });
}

async function openInput(path: string, model: EmbeddingModel): Promise<EmbedInput> {
  let isFolder = false;
  try {
    isFolder = statSync(path).isDirectory();
  } catch {
    throw new InvalidArgumentError('--input', 'an existing .npy file, image folder or .bin set', path);
  }
  if (isFolder) {
    const { files } = await scanImageFolder(path);
    return {
      count: files.length,
      name: (i) => files[i],
      pixels: (start, end) =>
        imagePixels(
          model,
          files.slice(start, end).map((f) => join(path, f)),
          false,
          (i) => join(path, files[start + i]),
        ),
    };
  }
  if (/\.bin$/i.test(path)) {
    const { images } = readVerificationBin(path);
    return {
      count: images.length,
      name: String,
      pixels: (start, end) =>
        imagePixels(model, images.slice(start, end), false, (i) => `${path} image ${start + i}`),
    };
  }
  if (/\.npy$/i.test(path)) return npyInput(path, model);
  throw new InvalidArgumentError('--input', 'a .npy file, an image folder or a .bin set', path);
}

/** A float `.npy` of N normalised images, NCHW or NHWC, turned into NHWC rows. */
function npyInput(path: string, model: EmbeddingModel): EmbedInput {
  const array = readNpy(path);
  const [height, width, channels] = model.inputShape;
  const [n, a, b, c] = array.shape;
  const nchw = array.shape.length === 4 && a === channels && b === height && c === width;
  const nhwc = array.shape.length === 4 && a === height && b === width && c === channels;
  if (!(nchw || nhwc) || !(array.data instanceof Float32Array || array.data instanceof Float64Array)) {
    throw new ShapeMismatchError(
      '--input',
      `a float array N×${channels}×${height}×${width} (NCHW) or N×${height}×${width}×${channels} (NHWC) for ${model.description}`,
      `${array.dtype} [${array.shape.join(', ')}]`,
    );
  }
  const values = array.data as Float32Array | Float64Array;
  const size = height * width * channels;
  return {
    count: n,
    name: String,
    pixels: async (start, end) => {
      const out = new Float32Array((end - start) * size);
      if (nhwc) out.set(values.subarray(start * size, end * size));
      else {
        const plane = height * width;
        for (let i = 0; i < end - start; i++) {
          const o = i * size;
          const s = (start + i) * size;
          for (let p = 0; p < plane; p++)
            for (let k = 0; k < channels; k++) out[o + p * channels + k] = values[s + k * plane + p];
        }
      }
      return out;
    },
  };
}
