/**
 * `faceverloss reshard SRC DST --ranks N`: rewrites a sharded-head checkpoint (src/parallel/
 * shard-checkpoint.ts) for a job of N ranks. The shards are contiguous slices of W and of its momentum,
 * so this re-cuts the files; it needs no MPI and holds one new shard in memory at a time.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { reshardCheckpoint } from '../parallel/shard-checkpoint.js';

export function registerReshard(program: Command): void {
  program
    .command('reshard')
    .description(
      'rewrite a sharded-head checkpoint (manifest.json + one file per rank) for another number of ranks',
    )
    .argument('<src>', 'folder of the checkpoint to read')
    .argument('<dst>', 'folder to write (created; must not hold a manifest.json)')
    .requiredOption('--ranks <n>', 'number of ranks of the job that will load it')
    .action((src: string, dst: string, opts: { ranks: string }) => {
      const ranks = Number(opts.ranks);
      if (!Number.isInteger(ranks) || ranks < 1)
        throw new InvalidArgumentError('--ranks', 'a positive integer', opts.ranks);
      const m = reshardCheckpoint(src, dst, ranks);
      process.stdout.write(
        `${dst}: ${m.classes} classes × ${m.D} in ${m.ranks} shard(s) at step ${m.step}` +
          `${m.velocity ? ', with momentum' : ''}\n`,
      );
    });
}
