/**
 * The `faceverloss` command line. Each sub-command lives in its own file and registers itself here;
 * `main` is exported so the bin script and tests can run the CLI in-process.
 *
 * Command files are imported when the program is built, each on its own: a command whose optional
 * packages are not installed (TF.js, sharp, the digits, the picture stack) stays listed and, when run,
 * fails with a {@link MissingPackageError} naming what to install, while the other commands work.
 */
import { Command } from 'commander';
import { FaceVerLossError } from '../errors.js';
import { asMissingPackage } from '../optional-packages.js';

type Register = (program: Command) => void;

/** A sub-command: its name and how to import the function that registers it. */
export interface CommandSource {
  readonly name: string;
  readonly load: () => Promise<Register>;
}

const COMMANDS: readonly CommandSource[] = [
  { name: 'demo', load: async () => (await import('./demo.js')).registerDemo },
  {
    name: 'eval',
    load: async () => {
      const { registerEval } = await import('./eval.js');
      const loadModel = async (model: string) => {
        // IResNets are large: the native kernels (else wasm) make their evaluation bearable.
        await (await import('../node/index.js')).useBestBackend();
        return (await import('../train/embedder.js')).loadRunEmbedder(model);
      };
      return (program) => registerEval(program, { loadModel });
    },
  },
  { name: 'embed', load: async () => (await import('./embed.js')).registerEmbed },
  { name: 'golden', load: async () => (await import('./golden.js')).registerGolden },
  { name: 'plot', load: async () => (await import('./plot.js')).registerPlot },
  { name: 'train', load: async () => (await import('./train.js')).registerTrain },
  { name: 'compare', load: async () => (await import('./compare.js')).registerCompare },
  { name: 'reshard', load: async () => (await import('./reshard.js')).registerReshard },
];

/** A stand-in for a command whose module needs a missing package: listed, and failing with the reason. */
function registerUnavailable(program: Command, name: string, reason: FaceVerLossError): void {
  program
    .command(name)
    .description(`(unavailable: ${reason.message})`)
    .allowUnknownOption()
    .argument('[args...]')
    .action(() => {
      throw reason;
    });
}

export async function buildProgram(commands: readonly CommandSource[] = COMMANDS): Promise<Command> {
  const program = new Command();
  program
    .name('faceverloss')
    .description(
      'Margin-based face-verification losses: train, evaluate, compare, plot, embed (runs, insightface .pth, .onnx).',
    )
    .showHelpAfterError();
  for (const { name, load } of commands) {
    let register: Register;
    try {
      register = await load();
    } catch (err) {
      const typed = asMissingPackage(`the '${name}' command`, err);
      if (!(typed instanceof FaceVerLossError)) throw err;
      registerUnavailable(program, name, typed);
      continue;
    }
    register(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram()).parseAsync(argv);
  } catch (err) {
    const typed = asMissingPackage('this command', err);
    if (typed instanceof FaceVerLossError) {
      process.stderr.write(`faceverloss: ${typed.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  main(process.argv).catch((err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
