/**
 * What the mpirun tests need, and how they launch a job: `mpirun`, the native engine and the MPI addon.
 * Without them the tests are skipped and say why; with FACEVERLOSS_REQUIRE_MPI=1 (CI) their absence is a
 * failure.
 */
import { spawnSync } from 'node:child_process';
import { loadEngine } from '../../src/engine/native.js';
import { mpiAvailable } from '../../src/parallel/mpi-comm.js';

/** Why an mpirun test cannot run here, or null. */
export function mpiMissing(): string | null {
  if (loadEngine() === null) return 'the native engine is not built';
  const addon = mpiAvailable();
  if (!addon.available) return addon.reason;
  const mpirun = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (mpirun.error || mpirun.status !== 0)
    return 'mpirun is not on PATH (apt-get install openmpi-bin libopenmpi-dev)';
  return null;
}

/** Whether a missing MPI is a failure (CI) rather than a reason to skip. */
export const mpiRequired = process.env.FACEVERLOSS_REQUIRE_MPI === '1';

/** Environment of an mpirun job on one machine: one engine thread per rank, allowed as root in a container. */
export const mpiEnv = {
  ...process.env,
  FACEVERLOSS_THREADS: '1',
  OMPI_ALLOW_RUN_AS_ROOT: '1',
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
  OMPI_MCA_btl_vader_single_copy_mechanism: 'none',
};

/** `mpirun --oversubscribe -np RANKS node --import tsx ARGS…`; throws with the job's output on failure. */
export function mpirun(ranks: number, args: readonly string[], timeoutMs = 150_000): string {
  const job = spawnSync(
    'mpirun',
    ['--oversubscribe', '-np', String(ranks), process.execPath, '--import', 'tsx', ...args],
    { encoding: 'utf8', env: mpiEnv, timeout: timeoutMs },
  );
  if (job.status !== 0)
    throw new Error(`mpirun -np ${ranks} failed (${job.status}):\n${job.stdout}\n${job.stderr}`);
  return job.stdout;
}
