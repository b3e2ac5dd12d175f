/**
 * {@link Comm} over MPI_COMM_WORLD, through the optional addon build/Release/faceverloss_mpi.node
 * (native/src/mpi_binding.cc). The addon is built by `npm install` only when pkg-config finds Open MPI
 * or MPICH; without it, {@link MpiComm.world} throws {@link ModelParallelUnavailableError} saying what to
 * install. MPI runs with MPI_THREAD_FUNNELED: use the communicator from the main thread only.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelParallelUnavailableError } from '../errors.js';
import { type Comm, type CommArray, checkAllGather, checkAllReduce, checkReduceScatter } from './comm.js';

interface MpiBinding {
  init(): { rank: number; size: number; threadLevel: number; library: string };
  allGather(send: CommArray, recv: CommArray): void;
  allReduce(buf: CommArray, op: 'max' | 'sum'): void;
  reduceScatter(send: CommArray, recv: CommArray): void;
  barrier(): void;
  finalize(): void;
  abort(code: number): void;
}

// Two levels below the package root both as src/parallel/ and as dist/parallel/ (as src/engine/native.ts).
const addonPath = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'build',
  'Release',
  'faceverloss_mpi.node',
);

const INSTALL_HINT =
  'install Open MPI or MPICH with its development files (Debian/Ubuntu: `apt-get install openmpi-bin ' +
  'libopenmpi-dev`, or `mpich libmpich-dev`), check that `pkg-config --exists ompi-c` (or `mpich`) ' +
  'succeeds, then rebuild with `npm run build:native`, and launch with `mpirun -np N`';

let binding: MpiBinding | undefined;

/** Why the addon cannot be used, or null. FACEVERLOSS_MPI=0 turns it off (read at every call). */
function unavailableReason(): string | null {
  if (process.env.FACEVERLOSS_MPI === '0')
    return `disabled by FACEVERLOSS_MPI=0; unset it, or ${INSTALL_HINT}`;
  if (!existsSync(addonPath)) return `${addonPath} is not built; ${INSTALL_HINT}`;
  return null;
}

function loadBinding(): MpiBinding {
  const reason = unavailableReason();
  if (reason !== null) throw new ModelParallelUnavailableError(reason);
  if (binding) return binding;
  try {
    binding = createRequire(import.meta.url)(addonPath) as MpiBinding;
  } catch (err) {
    throw new ModelParallelUnavailableError(
      `${addonPath} failed to load (${(err as Error).message}); ${INSTALL_HINT}`,
    );
  }
  return binding;
}

/** Whether the MPI addon can be used, and if not, why (without starting MPI). */
export function mpiAvailable(): { available: true; path: string } | { available: false; reason: string } {
  const reason = unavailableReason();
  return reason === null ? { available: true, path: addonPath } : { available: false, reason };
}

/** The processes of an MPI job (MPI_COMM_WORLD). */
export class MpiComm implements Comm {
  readonly rank: number;
  readonly size: number;
  /** The MPI library's version string (MPI_Get_library_version). */
  readonly library: string;
  private readonly mpi: MpiBinding;
  private static instance: MpiComm | undefined;

  private constructor(mpi: MpiBinding) {
    const info = mpi.init();
    this.mpi = mpi;
    this.rank = info.rank;
    this.size = info.size;
    this.library = info.library;
  }

  /**
   * Starts MPI (MPI_Init_thread with MPI_THREAD_FUNNELED) on first use and returns the world
   * communicator. Throws {@link ModelParallelUnavailableError} when the addon is missing or MPI fails to start.
   */
  static world(): MpiComm {
    const mpi = loadBinding();
    if (MpiComm.instance) return MpiComm.instance;
    try {
      MpiComm.instance = new MpiComm(mpi);
    } catch (err) {
      throw new ModelParallelUnavailableError(
        `MPI did not start (${(err as Error).message}); ${INSTALL_HINT}`,
      );
    }
    return MpiComm.instance;
  }

  allGather<T extends CommArray>(send: T, recv: T): void {
    checkAllGather(send, recv, this.size);
    this.mpi.allGather(send, recv);
  }

  allReduceMax(buf: CommArray): void {
    checkAllReduce(buf);
    this.mpi.allReduce(buf, 'max');
  }

  allReduceSum(buf: CommArray): void {
    checkAllReduce(buf);
    this.mpi.allReduce(buf, 'sum');
  }

  reduceScatter<T extends Float32Array | Float64Array>(send: T, recv: T): void {
    checkReduceScatter(send, recv, this.size);
    this.mpi.reduceScatter(send, recv);
  }

  barrier(): void {
    this.mpi.barrier();
  }

  /** Ends MPI in this process (also done automatically when Node exits). No collective may follow. */
  finalize(): void {
    this.mpi.finalize();
  }

  /** Ends every rank of the job with `code`: after an error on one rank the others would wait forever. */
  abort(code = 1): never {
    this.mpi.abort(code);
    process.exit(code);
  }
}
