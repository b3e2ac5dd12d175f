/**
 * The `faceverloss` command line. Each sub-command lives in its own file and registers itself here;
 * `main` is exported so the bin script and tests can run the CLI in-process.
 */
import { Command } from 'commander';
import { FaceVerLossError } from '../errors.js';
import { loadRunEmbedder } from '../train/embedder.js';
import { registerCompare } from './compare.js';
import { registerDemo } from './demo.js';
import { registerEval } from './eval.js';
import { registerGolden } from './golden.js';
import { registerPlot } from './plot.js';
import { registerTrain } from './train.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('faceverloss')
    .description('Margin-based face-verification losses: train, evaluate, compare, plot, benchmark.')
    .showHelpAfterError();
  registerDemo(program);
  registerEval(program, { loadModel: loadRunEmbedder });
  registerGolden(program);
  registerPlot(program);
  registerTrain(program);
  registerCompare(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof FaceVerLossError) {
      process.stderr.write(`faceverloss: ${err.message}\n`);
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
