/**
 * `faceverloss eval`: verification metrics from a score file, from an LFW pairs file plus an
 * embeddings file, or from an insightface `.bin` set and a trained model; identification metrics
 * from gallery and probe embedding files. `--json` prints one JSON object as the last line.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, UnsupportedConfigError } from '../errors.js';
import {
  evaluateBin,
  evaluateVerification,
  formatIdentificationTable,
  formatVerificationTable,
  identificationToJson,
  identify,
  identityOf,
  type ModelLoader,
  readEmbeddingsFile,
  readPairsFile,
  readScoresFile,
  readVerificationBin,
  scorePairs,
  type VerificationReport,
  verificationToJson,
} from '../eval/index.js';

/** Hooks for embedding the command (tests, or a build that can load trained models). */
export interface EvalCommandOptions {
  /** Turns `--model RUN` into an embedding function; without it `--model` reports that it is unavailable. */
  readonly loadModel?: ModelLoader;
  /** Where results go (default: standard output). */
  readonly write?: (text: string) => void;
}

interface EvalFlags {
  scores?: string;
  pairs?: string;
  embeddings?: string;
  model?: string;
  bin?: string;
  gallery?: string;
  probe?: string;
  folds: string;
  batchSize: string;
  flip: boolean;
  json?: boolean;
}

/** Registers the `eval` sub-command on `program`. */
export function registerEval(program: Command, options: EvalCommandOptions = {}): void {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  program
    .command('eval')
    .description(
      'Evaluate face verification (accuracy, AUC, EER, TAR@FAR) or identification (rank-1/5, CMC). ' +
        'Give exactly one input: --scores, --pairs with --embeddings, --bin with --model, or --gallery with --probe.',
    )
    .option(
      '--scores <file>',
      'CSV with header "score,label" (score: similarity; label 1 = same, 0 = different)',
    )
    .option('--pairs <file>', 'LFW-style pairs file (needs --embeddings)')
    .option('--embeddings <file>', 'embeddings file, one "name,v1,...,vD" per line')
    .option('--bin <file>', 'insightface verification set such as lfw.bin (needs --model)')
    .option(
      '--model <model>',
      'model to embed the --bin images with: run folder, insightface .pth/.pt or .onnx',
    )
    .option('--batch-size <n>', 'images per model call with --bin', '64')
    .option('--no-flip', 'with --bin: do not add the embedding of the mirrored image')
    .option('--gallery <file>', 'gallery embeddings file for identification (needs --probe)')
    .option('--probe <file>', 'probe embeddings file for identification (needs --gallery)')
    .option('--folds <k>', 'number of contiguous folds for the accuracy', '10')
    .option('--json', 'print one JSON object (as the last line) instead of a table')
    .action(async (flags: EvalFlags) => {
      const folds = positiveInteger('--folds', flags.folds);
      const mode = pickMode(flags);
      if (mode === 'identification') {
        const gallery = readEmbeddingsFile(flags.gallery!);
        const probe = readEmbeddingsFile(flags.probe!);
        const result = identify({
          gallery: gallery.vectors,
          galleryLabels: gallery.names.map(identityOf),
          probes: probe.vectors,
          probeLabels: probe.names.map(identityOf),
        });
        write(
          flags.json
            ? `${JSON.stringify(identificationToJson(result))}\n`
            : formatIdentificationTable(result),
        );
        return;
      }
      let report: VerificationReport;
      if (mode === 'scores') {
        report = evaluateVerification(readScoresFile(flags.scores!), { folds });
      } else if (mode === 'pairs') {
        const pairs = readPairsFile(flags.pairs!);
        const table = readEmbeddingsFile(flags.embeddings!);
        report = evaluateVerification(
          scorePairs(pairs, table, { pairs: flags.pairs!, embeddings: flags.embeddings! }),
          {
            folds,
          },
        );
      } else {
        if (options.loadModel === undefined) {
          throw new UnsupportedConfigError(
            '--model: loading a trained model is not available yet in this build; ' +
              'evaluate a .bin from code with evaluateBin(bin, embed), or export embeddings and use --pairs/--embeddings',
          );
        }
        // Arguments and the set are checked before the model is loaded: a bad --bin (a device, a
        // truncated pickle) is reported at once, not after the slowest step.
        const batchSize = positiveInteger('--batch-size', flags.batchSize);
        const bin = readVerificationBin(flags.bin!);
        const embed = await options.loadModel(flags.model!);
        report = (await evaluateBin(bin, embed, { batchSize, flip: flags.flip, folds })).report;
      }
      write(flags.json ? `${JSON.stringify(verificationToJson(report))}\n` : formatVerificationTable(report));
    });
}

type Mode = 'scores' | 'pairs' | 'bin' | 'identification';

/** Exactly one input must be given, and options that come in pairs must come together. */
function pickMode(flags: EvalFlags): Mode {
  const modes: Mode[] = [];
  if (flags.scores !== undefined) modes.push('scores');
  if (flags.pairs !== undefined || flags.embeddings !== undefined) modes.push('pairs');
  if (flags.bin !== undefined || flags.model !== undefined) modes.push('bin');
  if (flags.gallery !== undefined || flags.probe !== undefined) modes.push('identification');
  const expected =
    'exactly one of --scores, --pairs with --embeddings, --bin with --model, --gallery with --probe';
  if (modes.length !== 1) {
    throw new InvalidArgumentError(
      'eval inputs',
      expected,
      modes.length === 0 ? 'none' : modes.join(' and '),
    );
  }
  const mode = modes[0];
  const missing =
    mode === 'pairs'
      ? missingOf(flags, ['pairs', 'embeddings'])
      : mode === 'bin'
        ? missingOf(flags, ['bin', 'model'])
        : mode === 'identification'
          ? missingOf(flags, ['gallery', 'probe'])
          : undefined;
  if (missing !== undefined)
    throw new InvalidArgumentError(`--${missing}`, `a file (${expected})`, 'nothing');
  return mode;
}

function missingOf(flags: EvalFlags, names: readonly (keyof EvalFlags)[]): string | undefined {
  return names.find((n) => flags[n] === undefined);
}

function positiveInteger(option: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !(n >= 1)) throw new InvalidArgumentError(option, 'a positive integer', value);
  return n;
}
