/**
 * Long fuzzing run of the parsers and the margin-softmax operator: the same properties as the vitest
 * suites in test/fuzz (which are CI's budget), with a budget you choose. `npm run fuzz -- --help` lists
 * the options; see docs/fuzzing.md. Exits 1 when a property fails, printing its counterexample.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { nativeImplementation } from '../src/engine/head-step.js';
import { loadEngine } from '../src/engine/native.js';
import { tfjsImplementation } from '../src/tf/implementation.js';
import {
  compareWithOracle,
  describeCase,
  type Fp32Implementation,
  headOf,
  inputsOf,
  type OperatorCase,
  operatorCase,
  outputFinite,
  tiedOperatorCase,
} from '../test/fuzz/operator.js';
import { type AnyProperty, parserChecks, parserProperties } from '../test/fuzz/parsers.js';
import { OPERATOR_REGRESSIONS, PARSER_REGRESSIONS } from '../test/fuzz/regressions.js';

const USAGE = `Usage: npm run fuzz -- [options]

Fuzzes every parser and the margin-softmax operator (fp64 oracle finite; TF.js and the native kernel
against the oracle, on random and on near-tied cases). The fixed regression cases run first.

Options:
  --runs N            total random cases, split over the properties as below (default 101000;
                      a long run: --runs 1000000, about 2 min on 2 cores)
  --parser-runs N     cases per parser property (default 8.8% of --runs each, 10 properties)
  --operator-runs N   fp64 oracle cases (default 5% of --runs)
  --tf-runs N         TF.js cases, half random, half near-tied (default 1% of --runs)
  --native-runs N     native kernel cases, half random, half near-tied (default 6% of --runs)
  --seed N            fast-check seed (default: from the clock; printed, so a run can be repeated)
  -h, --help          this text

Examples:
  npm run fuzz                           # the default 101,000 cases
  npm run fuzz -- --runs 1000000         # a long run
  npm run fuzz -- --native-runs 200000 --parser-runs 0 --operator-runs 0 --tf-runs 0 --seed 7
`;

function usageError(message: string): never {
  process.stderr.write(`fuzz: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      runs: { type: 'string', default: '101000' },
      'parser-runs': { type: 'string' },
      'operator-runs': { type: 'string' },
      'tf-runs': { type: 'string' },
      'native-runs': { type: 'string' },
      seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  // parseArgs throws on unknown options and missing values: say which, with the usage, no stack.
  usageError((err as Error).message);
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

/** A non-negative integer option, or `share` of --runs when it is not given. */
function count(name: string, share?: number): number {
  const raw = values[name];
  if (raw === undefined && share !== undefined) return Math.round(total * share);
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(n))
    usageError(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

const total = count('runs');
const seed = count('seed');
const parserRuns = count('parser-runs', 0.088);
const operatorRuns = count('operator-runs', 0.05);
const tfRuns = count('tf-runs', 0.01);
const nativeRuns = count('native-runs', 0.06);
let done = 0;
let failed = false;

async function run(name: string, property: AnyProperty, numRuns: number): Promise<void> {
  if (numRuns === 0) return;
  const start = performance.now();
  const details = await fc.check(property, { numRuns, seed });
  const seconds = (performance.now() - start) / 1000;
  done += details.numRuns;
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
function agreement(
  impl: Fp32Implementation,
  tally: Record<string, number>,
  cases: fc.Arbitrary<OperatorCase> = operatorCase,
): AnyProperty {
  return fc.property(cases, (c) => {
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

/** The fixed cases of test/fuzz/regressions.ts: failures found once, which must stay fixed. */
async function regressions(native: boolean): Promise<void> {
  let bad = 0;
  for (const { found, parser, input } of PARSER_REGRESSIONS) {
    try {
      await parserChecks[parser](input);
    } catch (err) {
      bad++;
      process.stdout.write(`  regression ${parser} (${found}): ${(err as Error).message}\n`);
    }
  }
  const impls: [string, Fp32Implementation][] = [['TF.js', tfjsImplementation]];
  if (native) impls.push(['native', nativeImplementation]);
  for (const { found, case: c } of OPERATOR_REGRESSIONS) {
    for (const [name, impl] of impls) {
      const r = compareWithOracle(c, impl);
      if (r.kind === 'agree') continue;
      bad++;
      process.stdout.write(`  regression ${name} ${c.head} (${found}): ${JSON.stringify(r)}\n`);
    }
  }
  const cases = PARSER_REGRESSIONS.length + OPERATOR_REGRESSIONS.length * impls.length;
  done += cases;
  failed ||= bad > 0;
  process.stdout.write(
    `${'fixed regression cases'.padEnd(36)} ${String(cases).padStart(7)} cases  ${bad > 0 ? 'FAILED' : 'ok'}\n`,
  );
}

const started = performance.now();
process.stdout.write(`fuzz seed ${seed}\n`);
await tf.setBackend('cpu');
const native = loadEngine() !== null;
await regressions(native);
for (const [name, property] of Object.entries(parserProperties)) await run(name, property(), parserRuns);

await run(
  'operator: fp64 oracle finite',
  fc.property(operatorCase, (c) => {
    const bad = outputFinite(headOf(c).forward(inputsOf(c, headOf(c))));
    if (bad !== undefined) throw new Error(`${bad} for ${describeCase(c)}`);
  }),
  operatorRuns,
);

const tfTally: Record<string, number> = {};
const half = (n: number) => [Math.ceil(n / 2), Math.floor(n / 2)] as const;
await run('operator: TF.js fp32 vs oracle', agreement(tfjsImplementation, tfTally), half(tfRuns)[0]);
await run(
  'operator: TF.js, near-tied rows',
  agreement(tfjsImplementation, tfTally, tiedOperatorCase),
  half(tfRuns)[1],
);
printTally(tfTally);

if (!native) {
  process.stdout.write(
    'operator: native fused kernel              skipped (the native engine is not built)\n',
  );
} else {
  const nativeTally: Record<string, number> = {};
  await run(
    'operator: native fp32 vs oracle',
    agreement(nativeImplementation, nativeTally),
    half(nativeRuns)[0],
  );
  await run(
    'operator: native, near-tied rows',
    agreement(nativeImplementation, nativeTally, tiedOperatorCase),
    half(nativeRuns)[1],
  );
  printTally(nativeTally);
}

const minutes = (performance.now() - started) / 60_000;
process.stdout.write(
  `${done} cases in ${minutes.toFixed(1)} min, ${failed ? 'FAILURES above' : 'no failures'}\n`,
);
process.exitCode = failed ? 1 : 0;
