/**
 * Long fuzzing run of the parsers and the margin-softmax operator: the same properties as the vitest
 * suites in test/fuzz, with a large budget.
 *
 *   npm run fuzz                                   # ≥ 100,000 cases in total
 *   npm run fuzz -- --runs 20000 --operator-runs 5000 --tf-runs 2000 --native-runs 4000 --seed 7
 *
 * `--runs` is per parser property, the other budgets per operator property. Exits 1 on the first
 * property that fails, printing its counterexample (re-run it with the printed seed and path).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { nativeImplementation } from '../src/engine/margin.js';
import { loadEngine } from '../src/engine/native.js';
import { tfjsImplementation } from '../src/tf/implementation.js';
import {
  compareWithOracle,
  describeCase,
  type Fp32Implementation,
  headOf,
  inputsOf,
  operatorCase,
  outputFinite,
} from '../test/fuzz/operator.js';
import { type AnyProperty, parserProperties } from '../test/fuzz/parsers.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '11000' },
    'operator-runs': { type: 'string', default: '10000' },
    'tf-runs': { type: 'string', default: '1000' },
    'native-runs': { type: 'string', default: '2000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
  },
});

function count(name: string): number {
  const raw = values[name as keyof typeof values] as string;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`fuzz: --${name} must be a non-negative integer, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
}

const seed = count('seed');
let total = 0;
let failed = false;

async function run(name: string, property: AnyProperty, numRuns: number): Promise<void> {
  if (numRuns === 0) return;
  const start = performance.now();
  const details = await fc.check(property, { numRuns, seed });
  const seconds = (performance.now() - start) / 1000;
  total += details.numRuns;
  const status = details.failed ? 'FAILED' : 'ok';
  process.stdout.write(
    `${name.padEnd(36)} ${String(details.numRuns).padStart(7)} cases  ${seconds.toFixed(1).padStart(6)} s  ${status}\n`,
  );
  if (details.failed) {
    failed = true;
    process.stdout.write(`${fc.defaultReportMessage(details) ?? ''}\n`);
  }
}

/** The agreement property for an fp32 implementation, tallying how cases were decided. */
function agreement(impl: Fp32Implementation, tally: Record<string, number>): AnyProperty {
  return fc.property(operatorCase, (c) => {
    const r = compareWithOracle(c, impl);
    const key = r.kind === 'skipped' ? `skipped (${r.reason})` : r.kind;
    tally[key] = (tally[key] ?? 0) + 1;
    if (r.kind === 'agree') tally[`worst ${r.tensor}`] = Math.max(tally[`worst ${r.tensor}`] ?? 0, r.worst);
    if (r.kind === 'disagree') throw new Error(`${r.message} for ${describeCase(c)}`);
  });
}

function printTally(tally: Record<string, number>): void {
  for (const [k, v] of Object.entries(tally))
    process.stdout.write(`    ${k}: ${k.startsWith('worst') ? `${v.toExponential(2)} of max|ref|` : v}\n`);
}

const started = performance.now();
process.stdout.write(`fuzz seed ${seed}\n`);
const parserRuns = count('runs');
for (const [name, property] of Object.entries(parserProperties)) await run(name, property(), parserRuns);

await run(
  'operator: fp64 oracle finite',
  fc.property(operatorCase, (c) => {
    const bad = outputFinite(headOf(c).forward(inputsOf(c, headOf(c))));
    if (bad !== undefined) throw new Error(`${bad} for ${describeCase(c)}`);
  }),
  count('operator-runs'),
);

await tf.setBackend('cpu');
const tfTally: Record<string, number> = {};
await run('operator: TF.js fp32 vs oracle', agreement(tfjsImplementation, tfTally), count('tf-runs'));
printTally(tfTally);

if (loadEngine() === null) {
  process.stdout.write(
    'operator: native fused kernel              skipped (the native engine is not built)\n',
  );
} else {
  const nativeTally: Record<string, number> = {};
  await run(
    'operator: native fp32 vs oracle',
    agreement(nativeImplementation, nativeTally),
    count('native-runs'),
  );
  printTally(nativeTally);
}

const minutes = (performance.now() - started) / 60_000;
process.stdout.write(
  `${total} cases in ${minutes.toFixed(1)} min, ${failed ? 'FAILURES above' : 'no failures'}\n`,
);
process.exitCode = failed ? 1 : 0;
