/**
 * What `train --model-parallel` refuses, in one process (LocalComm stands for the job): heads the
 * sharded step cannot run, optimisers other than SGD, a missing MPI addon, and resuming a run as the
 * other kind of job. Each refusal comes before the run folder changes.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, UnsupportedConfigError } from '../../src/errors.js';
import { LocalComm } from '../../src/parallel/comm.js';
import { train } from '../../src/train/index.js';
import { runCliForErrors, tinyConfig } from './helpers.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'fvl-mp-refuse-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const quiet = { pictures: false };

describe('train --model-parallel refuses', () => {
  it('a head the sharded step does not run, naming the head and why', async () => {
    const out = join(dir, 'curricular');
    const run = train(tinyConfig({ head: 'curricularface', params: {} }), {
      out,
      modelParallel: new LocalComm(),
      ...quiet,
    });
    await expect(run).rejects.toThrow(UnsupportedConfigError);
    await expect(run).rejects.toThrow(/curricularface.*state that changes/);
    expect(existsSync(out)).toBe(false);
  });

  it('an optimiser other than SGD', async () => {
    const out = join(dir, 'adam');
    const run = train(tinyConfig({ optimizer: 'adam' }), { out, modelParallel: new LocalComm(), ...quiet });
    await expect(run).rejects.toThrow(/--optimizer adam/);
    expect(existsSync(out)).toBe(false);
  });

  it('to start without the MPI addon, with ModelParallelUnavailableError saying what to install', async () => {
    const saved = process.env.FACEVERLOSS_MPI;
    process.env.FACEVERLOSS_MPI = '0';
    try {
      const out = join(dir, 'no-mpi');
      const { exitCode, errors } = await runCliForErrors(['train', '--model-parallel', '--out', out]);
      expect(exitCode).toBe(2);
      expect(errors).toMatch(/model parallelism unavailable: disabled by FACEVERLOSS_MPI=0/);
      expect(errors).toMatch(/libopenmpi-dev/);
      expect(existsSync(out)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.FACEVERLOSS_MPI;
      else process.env.FACEVERLOSS_MPI = saved;
    }
  });

  it('to resume a run as the other kind of job', async () => {
    const config = tinyConfig({ maxSteps: 1 });
    const single = join(dir, 'single');
    await train(config, { out: single, ...quiet });
    await expect(
      train(undefined, { out: single, resume: true, maxSteps: 2, modelParallel: new LocalComm(), ...quiet }),
    ).rejects.toThrow(InvalidArgumentError);

    const parallel = join(dir, 'parallel');
    await train(config, { out: parallel, modelParallel: new LocalComm(), ...quiet });
    expect(existsSync(join(parallel, 'head-shards', 'manifest.json'))).toBe(true);
    await expect(train(undefined, { out: parallel, resume: true, maxSteps: 2, ...quiet })).rejects.toThrow(
      /trained with --model-parallel over 1 ranks/,
    );
  }, 60_000);
});
