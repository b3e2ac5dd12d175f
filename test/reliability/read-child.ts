/**
 * Runs readers on paths given on the command line, in a process of its own, so that a reader that
 * blocks (on a named pipe, on /dev/zero) can be killed by the parent instead of hanging its tests:
 * `node --import tsx test/reliability/read-child.ts READER=PATH ...`. Prints one JSON line per input as
 * soon as it is answered: `{ "input", "typed", "name", "message" }` for an error, `{ "input", "ok" }`.
 */
import { openImageFolder } from '../../src/data/image-folder.js';
import { RecordIOFile } from '../../src/data/recordio/file.js';
import { FaceVerLossError } from '../../src/errors.js';
import { readVerificationBin } from '../../src/eval/bin-file.js';
import { readEmbeddingsFile } from '../../src/eval/embeddings-file.js';
import { readPairsFile } from '../../src/eval/pairs-file.js';
import { readScoresFile } from '../../src/eval/scores-file.js';
import { loadFixture } from '../../src/golden/fixture.js';
import { readMetrics } from '../../src/viz/metrics-file.js';

/** The readers by name; each reads the whole input. */
export const CHILD_READERS: Record<string, (path: string) => unknown> = {
  scores: readScoresFile,
  pairs: readPairsFile,
  embeddings: readEmbeddingsFile,
  bin: readVerificationBin,
  fixture: loadFixture,
  metrics: readMetrics,
  rec: async (path) => (await RecordIOFile.open(path)).close(),
  'image-folder': async (dir) => {
    const ds = await openImageFolder(dir, { shape: { height: 4, width: 4, channels: 3 } });
    try {
      for (let i = 0; i < (ds.size ?? 0); i++) await ds.read(i);
    } finally {
      await ds.close();
    }
  },
};

for (const input of process.argv.slice(2)) {
  const eq = input.indexOf('=');
  const read = CHILD_READERS[input.slice(0, eq)];
  try {
    await read(input.slice(eq + 1));
    process.stdout.write(`${JSON.stringify({ input, ok: true })}\n`);
  } catch (err) {
    const e = err as Error;
    const typed = err instanceof FaceVerLossError;
    process.stdout.write(
      `${JSON.stringify({ input, typed, name: e.constructor.name, message: e.message })}\n`,
    );
  }
}
