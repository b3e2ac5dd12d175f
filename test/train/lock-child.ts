/**
 * Holds the lock of a run folder in its own process, for the lock tests:
 * `node --import tsx test/train/lock-child.ts RUN_DIR [--exit]`. Prints `locked` once it holds the
 * lock; with `--exit` it then exits normally without releasing it by hand (the exit hook must), else it
 * waits until a signal ends it.
 */
import { acquireRunLock } from '../../src/train/run-lock.js';

acquireRunLock(process.argv[2]);
process.stdout.write('locked\n');
if (process.argv.includes('--exit')) process.exit(0);
setInterval(() => {}, 60_000);
