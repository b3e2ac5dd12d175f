/**
 * `faceverloss train`: train a backbone with a head's margin loss and write a run folder.
 *
 *   train --head arcface --param scale=16 --param margin=0.3 --data mnist --backbone lenetpp
 *         --embedding-dim 2 --epochs 5 --batch 64 --lr 0.05 --optimizer sgd --momentum 0.9
 *         --weight-decay 5e-4 --schedule cosine --warmup 20 --seed 0 --out runs/arcface
 *   train --config run.json [flags override the file]
 *   train --resume runs/arcface [--epochs 8]
 *   mpirun -np 4 faceverloss train --model-parallel --batch 64 …   (see docs/scale-out.md)
 */
import type { Command } from 'commander';
import { FaceVerLossError, InvalidArgumentError } from '../errors.js';
import { useBestBackend, useWasmBackend } from '../node/index.js';
import type { Comm } from '../parallel/comm.js';
import {
  createProgress,
  formatTar,
  mergeTrainConfig,
  readConfigFile,
  type TrainResult,
  train,
} from '../train/index.js';
import { parseAssignments } from './plot.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/** Help of `--force` (train and demo). */
export const FORCE_HELP =
  'write into a folder that is not a run of ours (its files are kept; refused if one has a run output name)';

/** Raw flag values shared by train, compare and demo. */
export interface TrainFlags {
  head?: string;
  param: string[];
  data?: string;
  backbone?: string;
  width?: string;
  embeddingDim?: string;
  epochs?: string;
  batch?: string;
  lr?: string;
  optimizer?: string;
  momentum?: string;
  weightDecay?: string;
  schedule?: string;
  warmup?: string;
  clipNorm?: string;
  seed?: string;
  perClass?: string;
  trainPerClass?: string;
  heldoutPerClass?: string;
  pairs?: string;
  imageSize?: string;
  maxSteps?: string;
  flip?: boolean;
  init?: string;
  config?: string;
  backend?: string;
}

const NUMERIC: Record<string, 'int' | 'number'> = {
  width: 'number',
  embeddingDim: 'int',
  epochs: 'int',
  batch: 'int',
  lr: 'number',
  momentum: 'number',
  weightDecay: 'number',
  warmup: 'int',
  clipNorm: 'number',
  seed: 'int',
  perClass: 'int',
  trainPerClass: 'int',
  heldoutPerClass: 'int',
  pairs: 'int',
  imageSize: 'int',
  maxSteps: 'int',
};

/** Turn flag strings into config values; a value that is not a number names its flag. */
export function flagsToConfig(flags: TrainFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined || key === 'param' || key === 'config' || key === 'backend') continue;
    const kind = NUMERIC[key];
    if (kind) {
      const n = Number(value);
      if (value === '' || !Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n))) {
        const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
        throw new InvalidArgumentError(flag, kind === 'int' ? 'an integer' : 'a number', value);
      }
      out[key] = n;
    } else out[key] = value;
  }
  if (flags.param.length > 0) out.params = parseAssignments(flags.param, '--param');
  return out;
}

/** Add the shared training flags to a command. */
export function addTrainFlags(cmd: Command): Command {
  return cmd
    .option('--param <key=value>', 'head parameter (repeatable), e.g. margin=0.3', collect, [])
    .option('--data <source>', "'mnist', 'fashion-mnist', an image folder or a .rec file")
    .option(
      '--backbone <name>',
      'lenetpp, mobilefacenet, resnet-lite, iresnet18|34|50|100|200 or iresnet-A-B-C-D (blocks per stage)',
    )
    .option('--width <x>', 'channel multiplier of the backbone (1 = published widths)')
    .option('--embedding-dim <n>', 'embedding dimension (2 or 3 for pictures)')
    .option('--epochs <n>', 'epochs')
    .option('--batch <n>', 'batch size')
    .option('--lr <x>', 'peak learning rate')
    .option('--optimizer <name>', 'sgd or adam')
    .option('--momentum <x>', 'SGD momentum')
    .option('--weight-decay <x>', 'L2 weight decay of the backbone kernels')
    .option('--schedule <name>', 'step, cosine, poly or constant')
    .option('--warmup <steps>', 'linear learning-rate warm-up steps')
    .option('--clip-norm <x>', 'clip the global gradient norm (0: off)')
    .option('--seed <n>', 'seed of weights, data order and pairs')
    .option('--per-class <n>', 'use at most this many training images per class')
    .option('--train-per-class <n>', 'images per class in the training split (the rest are held out)')
    .option('--heldout-per-class <n>', 'held-out images per class used for verification')
    .option('--pairs <n>', 'verification pairs drawn from held-out images')
    .option('--image-size <n>', 'side of folder / .rec images')
    .option('--max-steps <n>', 'stop after this many steps')
    .option('--flip', 'random horizontal flips')
    .option(
      '--init <run|pth>',
      "start from another run's backbone (and class weights when shapes match), or from an insightface IResNet .pth",
    )
    .option('--backend <name>', "'best' (native kernels, else wasm, else cpu), 'wasm' or 'cpu'", 'best');
}

/** Select the TF.js backend named by `--backend`; returns a line describing it. */
export async function selectBackend(name: string | undefined): Promise<string> {
  if (name === undefined || name === 'best') return (await useBestBackend()).detail;
  if (name === 'cpu') {
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    return 'cpu backend';
  }
  if (name === 'wasm' && (await useWasmBackend())) return 'wasm backend';
  throw new InvalidArgumentError('--backend', "'best', 'wasm' or 'cpu'", name);
}

/** One summary block for a finished run. */
export function summarize(r: TrainResult): string {
  const last = r.epochs[r.epochs.length - 1];
  const lines = [
    `run folder: ${r.runDir}`,
    `split: ${r.split}`,
    `trained ${r.steps} steps in ${r.seconds.toFixed(1)} s (${r.imagesPerSecond.toFixed(0)} images/s, ${r.backend})`,
  ];
  if (last) {
    lines.push(
      `train accuracy ${(100 * last.trainAccuracy).toFixed(2)}%; held-out verification accuracy ` +
        `${(100 * last.verificationAccuracy).toFixed(2)}% (10-fold), AUC ${last.auc.toFixed(4)}, EER ${(100 * last.eer).toFixed(2)}%`,
      `held-out ${formatTar(last.tarAtFar)} (every held-out pair)`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Registers `train`. */
export function registerTrain(program: Command): void {
  addTrainFlags(
    program
      .command('train')
      .description(
        'train a backbone with a margin head; writes checkpoint, metrics, embeddings, pictures, report',
      )
      .option('--head <name>', 'head name (default arcface)')
      .option('--config <file>', 'JSON file of options (flags override it)')
      .option('--out <run>', 'run folder (default runs/<head>)')
      .option('--force', FORCE_HELP)
      .option('--resume <run>', 'continue a run folder from its checkpoint')
      .option(
        '--model-parallel',
        'under mpirun -np N: data-parallel backbone, class weights sharded over the N ranks; --batch is per rank ' +
          '(needs the MPI addon; see docs/scale-out.md)',
      ),
  ).action(
    async (
      flags: TrainFlags & { out?: string; resume?: string; force?: boolean; modelParallel?: boolean },
    ) => {
      const { modelParallel, ...other } = flags;
      if (!modelParallel) return runTrain(other);
      // Loaded only here: an ordinary run never starts MPI.
      const { MpiComm } = await import('../parallel/mpi-comm.js');
      const comm = MpiComm.world();
      try {
        await runTrain(other, comm);
      } catch (err) {
        // The other ranks would wait forever in their next collective: the error ends the whole job.
        if (comm.size === 1) throw err;
        const text = err instanceof FaceVerLossError ? err.message : ((err as Error).stack ?? String(err));
        process.stderr.write(`faceverloss (rank ${comm.rank} of ${comm.size}): ${text}\n`);
        comm.abort(2);
      }
    },
  );
}

/** `train` itself, in one process or (with `comm`) as one rank of a model-parallel job. */
async function runTrain(
  flags: TrainFlags & { out?: string; resume?: string; force?: boolean },
  comm?: Comm,
): Promise<void> {
  const { out: outFlag, resume, force, ...rest } = flags;
  const values = flagsToConfig(rest);
  if (resume !== undefined && (flags.config !== undefined || outFlag !== undefined || force)) {
    throw new InvalidArgumentError(
      '--resume',
      'a run folder alone (its config.json is reused; --epochs and --max-steps may change)',
      resume,
    );
  }
  const file = flags.config ? readConfigFile(flags.config) : undefined;
  const config = mergeTrainConfig(file, resume !== undefined ? {} : values, flags.config ?? 'config');
  const out = resume ?? outFlag ?? `runs/${config.head}`;
  const backend = await selectBackend(flags.backend);
  // In a model-parallel job rank 0 speaks for all.
  const lead = comm === undefined || comm.rank === 0;
  const write = (text: string) => {
    if (lead) process.stdout.write(text);
  };
  write(`backend: ${backend}\n`);
  const result = await train(config, {
    out,
    resume: resume !== undefined,
    force,
    epochs: values.epochs as number | undefined,
    maxSteps: values.maxSteps as number | undefined,
    progress: createProgress(process.stdout, config.logEvery),
    log: (line) => write(`${line}\n`),
    modelParallel: comm,
  });
  write(summarize(result));
}
