/**
 * Where the conformance suites find the golden fixtures: FACEVERLOSS_GOLDEN when set (e.g. a held-out
 * set in the same format), otherwise the development set kept in the repository.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GOLDEN_DIR =
  process.env.FACEVERLOSS_GOLDEN ?? resolve(fileURLToPath(new URL('../fixtures/golden', import.meta.url)));
