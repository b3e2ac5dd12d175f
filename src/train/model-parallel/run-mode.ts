/**
 * A run folder records whether it was trained model-parallel and over how many ranks (`modelParallel`
 * in config.json): its checkpoint then holds the backbone only and the class weights lie in shards cut
 * for that many ranks, so it resumes only as the same kind of job.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError, InvalidArgumentError, UnsupportedConfigError } from '../../errors.js';
import type { Comm } from '../../parallel/comm.js';
import type { TrainConfig } from '../config.js';

/** Refuses to resume a run in `dir` as another kind of job than the one that wrote it. */
export function checkResumeMode(dir: string, comm: Comm | undefined): void {
  const path = join(dir, 'config.json');
  let saved: { modelParallel?: { ranks?: unknown } };
  try {
    saved = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CorruptFileError(path, `not a run configuration (${(err as Error).message})`);
  }
  const ranks = saved.modelParallel?.ranks;
  if (ranks === undefined && comm === undefined) return;
  if (ranks === undefined)
    throw new InvalidArgumentError(
      '--model-parallel',
      'a run trained with --model-parallel (this one was trained in one process; resume it without the flag)',
      dir,
    );
  if (comm === undefined)
    throw new InvalidArgumentError(
      '--resume',
      `a run trained in one process (this one was trained with --model-parallel over ${ranks} ranks; resume it ` +
        `with mpirun -np ${ranks} … train --model-parallel --resume)`,
      dir,
    );
  if (ranks !== comm.size)
    throw new UnsupportedConfigError(
      `${path}: the run was trained over ${ranks} ranks and this job has ${comm.size}; resume with ` +
        `mpirun -np ${ranks} (the head's shards are cut for ${ranks} ranks and the global batch is ranks × --batch)`,
    );
}

/** What a model-parallel run cannot do, refused before anything is opened. */
export function checkModelParallelConfig(config: TrainConfig): void {
  if (config.optimizer !== 'sgd')
    throw new UnsupportedConfigError(
      `--model-parallel steps the class weights with SGD inside the sharded head; --optimizer ${config.optimizer} ` +
        'is not supported there (use --optimizer sgd)',
    );
}
