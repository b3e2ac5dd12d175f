/** `faceverloss demo`: every head's loss on a small built-in example. */
import type { Command } from 'commander';
import { createHead, headNames } from '../heads/registry.js';
import { createRng } from '../rng.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('print every head’s training loss and gradient norm on a built-in example')
    .option('--seed <n>', 'random seed', '1')
    .action((opts: { seed: string }) => {
      const rng = createRng(Number.parseInt(opts.seed, 10));
      const B = 32;
      const D = 16;
      const C = 10;
      const X = Float64Array.from({ length: B * D }, () => rng.normal());
      const labels = Int32Array.from({ length: B }, () => rng.int(C));
      for (const name of headNames) {
        const head = createHead(name, {}, { rng: createRng(7), classes: C });
        const K = head.subCenters;
        const W = Float64Array.from({ length: C * K * D }, () => rng.normal());
        const extras = Object.fromEntries(
          Object.entries(head.learnables(C, D)).map(([k, s]) => [k, s.init(rng)]),
        );
        const out = head.forward({ X, labels, W, extras });
        let g = 0;
        for (const v of out.grads.X) g += v * v;
        process.stdout.write(
          `${name.padEnd(18)} loss ${out.loss.toFixed(4).padStart(10)}   |dL/dX| ${Math.sqrt(g).toExponential(3)}\n`,
        );
      }
    });
}
