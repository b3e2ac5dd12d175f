/**
 * Bad command lines, run in-process through `main`: unknown commands and options, missing, unreadable
 * and corrupt input files, bad option values and unwritable outputs. Each must end with a non-zero exit
 * code and a short message naming the option or file — never a stack trace — and must leave the output
 * path as it was (absent, or with its previous content).
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { flipBytes, GOLDEN_FIXTURE, SCORES_CSV, type ValidFiles, writeValidFiles } from './files.js';

const GOLDEN = GOLDEN_FIXTURE;
const INTEROP = join(import.meta.dirname, '../fixtures/interop');

/** What one in-process run left behind. */
interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** An error that escaped `main` (the bin script would print its stack). */
  escaped?: unknown;
}

class ExitCalled {
  constructor(readonly code: number) {}
}

/** Runs `faceverloss ...args` in this process, capturing output, `process.exit` and `process.exitCode`. */
async function runCli(args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const saved = {
    out: process.stdout.write,
    err: process.stderr.write,
    exit: process.exit,
    code: process.exitCode,
  };
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  process.exit = ((code?: number) => {
    throw new ExitCalled(code ?? 0);
  }) as typeof process.exit;
  let exitCode: number;
  let escaped: unknown;
  try {
    await main(['node', 'faceverloss', ...args]);
    exitCode = Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof ExitCalled) exitCode = err.code;
    else {
      escaped = err;
      exitCode = 1;
    }
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exit = saved.exit;
    process.exitCode = saved.code;
  }
  return { exitCode, stdout, stderr, escaped };
}

/** One bad command line and what its message must name. */
interface BadCommand {
  args: string[];
  mentions: string | RegExp;
  /** An output path that must be absent (or hold `previous`) afterwards. */
  out?: string;
  previous?: string;
}

/** Why a run is not a clean failure, or undefined when it is one. */
function judge(c: BadCommand, r: CliRun): string | undefined {
  if (r.escaped !== undefined) {
    const e = r.escaped;
    return `an error escaped main (a stack trace for the user): ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`;
  }
  if (r.exitCode === 0) return `exit code 0; stdout ${JSON.stringify(r.stdout.slice(0, 120))}`;
  const all = `${r.stderr}\n${r.stdout}`;
  if (/^\s+at .+[:(]\d+/m.test(all)) return `output holds a stack trace: ${all.slice(0, 300)}`;
  const first = r.stderr.split('\n').find((l) => l.trim() !== '') ?? '';
  const message = first === '' ? (r.stdout.trim().split('\n')[0] ?? '') : first;
  const ok = typeof c.mentions === 'string' ? all.includes(c.mentions) : c.mentions.test(all);
  if (!ok) return `message does not mention ${String(c.mentions)}: ${JSON.stringify(message)}`;
  if (message.length > 600) return `first message line is ${message.length} characters long`;
  if (c.out !== undefined) {
    if (c.previous === undefined && existsSync(c.out)) return `left an output file at ${c.out}`;
    if (c.previous !== undefined && readFileSync(c.out, 'utf8') !== c.previous)
      return `changed the existing output ${c.out}`;
  }
  return undefined;
}

let root: string;
let valid: ValidFiles;
let tried = 0;
let clean = 0;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fvl-reliability-cli-'));
  mkdirSync(join(root, 'valid'));
  valid = await writeValidFiles(join(root, 'valid'), GOLDEN);
});

afterAll(() => {
  console.log(`command line: ${tried} bad inputs tried, ${clean} rejected cleanly`);
  rmSync(root, { recursive: true, force: true });
});

function commands(): BadCommand[] {
  const at = (name: string) => join(root, name);
  const write = (name: string, content: string | Uint8Array) => {
    writeFileSync(at(name), content);
    return at(name);
  };
  const missing = at('missing.csv');
  const corruptCsv = write('corrupt.csv', 'score,label\n0.5,1\n0.4,x\n');
  const flippedBin = write('flipped.bin', flipBytes(readFileSync(valid.bin), 11, 3));
  const cutBin = write('cut.bin', readFileSync(valid.bin).subarray(0, 20));
  const existing = write('existing.svg', '<svg>previous</svg>');
  const aFile = write('plain-file', 'x');
  const corruptGolden = join(root, 'golden-corrupt');
  mkdirSync(corruptGolden);
  writeFileSync(join(corruptGolden, 'a.json'), readFileSync(GOLDEN, 'utf8').slice(0, 500));
  writeFileSync(join(corruptGolden, 'b.json'), '{"format":"faceverloss-golden/1","steps":[]}');
  const emptyGolden = join(root, 'golden-empty');
  mkdirSync(emptyGolden);
  // A finished run that a failing command must leave alone, and a run whose config.json was cut short.
  const existingRun = join(root, 'existing-run');
  mkdirSync(existingRun);
  writeFileSync(join(existingRun, 'config.json'), '{"config": {"head": "arcface"}, "split": "mnist"}');
  writeFileSync(join(existingRun, 'metrics.jsonl'), '{"step":1}\n');
  // A folder of the user's (not a run) holding a file with a run output's name.
  const userFolder = join(root, 'user-folder');
  mkdirSync(userFolder);
  writeFileSync(join(userFolder, 'report.html'), '<p>mine</p>');
  // A run folder another live process (this one) holds the lock of.
  const lockedRun = join(root, 'locked-run');
  mkdirSync(lockedRun);
  writeFileSync(join(lockedRun, 'config.json'), '{"config": {}, "split": "mnist"}');
  writeFileSync(
    join(root, '.locked-run.lock'),
    JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }),
  );
  const brokenRun = join(root, 'broken-run');
  mkdirSync(brokenRun);
  writeFileSync(join(brokenRun, 'config.json'), '{"config": {"head": "arc');
  const outDir = join(root, 'out-is-a-folder.svg');
  mkdirSync(outDir);
  return [
    { args: ['frobnicate'], mentions: 'frobnicate' },
    { args: ['eval', '--bogus'], mentions: '--bogus' },
    { args: ['eval'], mentions: '--scores' },
    { args: ['eval', '--scores'], mentions: '--scores' },
    { args: ['eval', '--scores', missing], mentions: missing },
    { args: ['eval', '--scores', root], mentions: root },
    { args: ['eval', '--scores', corruptCsv], mentions: corruptCsv },
    { args: ['eval', '--scores', valid.scores, '--folds', '0'], mentions: '--folds' },
    { args: ['eval', '--scores', valid.scores, '--folds', 'abc'], mentions: '--folds' },
    { args: ['eval', '--scores', valid.scores, '--folds', '1e9'], mentions: '--folds' },
    { args: ['eval', '--scores', valid.scores, '--folds', '99999999'], mentions: /fold/ },
    { args: ['eval', '--scores', valid.scores, '--pairs', valid.pairs], mentions: '--scores' },
    { args: ['eval', '--pairs', valid.pairs], mentions: '--embeddings' },
    { args: ['eval', '--pairs', valid.pairs, '--embeddings', missing], mentions: missing },
    { args: ['eval', '--pairs', corruptCsv, '--embeddings', valid.scores], mentions: corruptCsv },
    { args: ['eval', '--bin', valid.bin], mentions: '--model' },
    { args: ['eval', '--bin', valid.bin, '--model', root], mentions: '--model' },
    // The set is read before the model is loaded: its problem is reported first.
    { args: ['eval', '--bin', cutBin, '--model', root], mentions: cutBin },
    {
      args: ['eval', '--bin', flippedBin, '--model', at('no-such-run')],
      mentions: /flipped\.bin|no-such-run/,
    },
    { args: ['eval', '--gallery', valid.scores], mentions: '--probe' },
    { args: ['eval', '--gallery', missing, '--probe', missing], mentions: missing },
    {
      args: ['plot', 'boundary', '--head', 'nope', '--out', at('b1.svg')],
      mentions: 'nope',
      out: at('b1.svg'),
    },
    { args: ['plot', 'boundary', '--head', 'arcface'], mentions: '--out' },
    {
      args: ['plot', 'boundary', '--head', 'arcface', '--out', at('b2.txt')],
      mentions: '--out',
      out: at('b2.txt'),
    },
    {
      args: ['plot', 'boundary', '--head', 'arcface', '--param', 'margin=abc', '--out', at('b3.svg')],
      mentions: 'margin',
      out: at('b3.svg'),
    },
    {
      args: ['plot', 'boundary', '--head', 'arcface', '--param', 'margin', '--out', at('b4.svg')],
      mentions: '--param',
      out: at('b4.svg'),
    },
    {
      args: ['plot', 'boundary', '--head', 'arcface', '--param', 'scale=-5', '--out', at('b5.svg')],
      mentions: 'scale',
      out: at('b5.svg'),
    },
    {
      args: ['plot', 'boundary', '--head', 'arcface', '--state', 't=NaN', '--out', at('b6.svg')],
      mentions: '--state',
      out: at('b6.svg'),
    },
    {
      args: ['plot', 'boundary', '--head', 'arcface', '--resolution', '5', '--out', at('b7.svg')],
      mentions: '--resolution',
      out: at('b7.svg'),
    },
    {
      args: ['plot', 'boundary', '--head', 'arcface', '--space', 'sideways', '--out', at('b8.svg')],
      mentions: '--space',
      out: at('b8.svg'),
    },
    {
      args: ['plot', 'boundary', '--head', 'arcface', '--resolution', '11', '--out', join(aFile, 'x.svg')],
      mentions: '--out',
      out: join(aFile, 'x.svg'),
    },
    {
      args: ['plot', 'boundary', '--head', 'arcface', '--resolution', '11', '--out', outDir],
      mentions: '--out',
    },
    { args: ['plot', 'roc', corruptCsv, '--out', at('r1.svg')], mentions: corruptCsv, out: at('r1.svg') },
    { args: ['plot', 'roc', missing, '--out', at('r2.svg')], mentions: missing, out: at('r2.svg') },
    {
      args: ['plot', 'roc', valid.scores, corruptCsv, '--out', existing],
      mentions: corruptCsv,
      out: existing,
      previous: '<svg>previous</svg>',
    },
    { args: ['plot', 'roc', valid.scores, '--out', at('r3.jpg')], mentions: '--out', out: at('r3.jpg') },
    { args: ['plot', 'curves', missing, '--out', at('c1.svg')], mentions: missing, out: at('c1.svg') },
    // Without --out too, the missing input is what is reported (it used to blame --out).
    { args: ['plot', 'curves', missing], mentions: missing },
    { args: ['plot', 'curves', join(root, 'no-such-run')], mentions: 'no-such-run' },
    { args: ['plot', 'roc', missing], mentions: missing },
    { args: ['plot', 'features', missing], mentions: missing },
    { args: ['plot', 'curves', corruptCsv, '--out', at('c2.svg')], mentions: corruptCsv, out: at('c2.svg') },
    { args: ['plot', 'features', missing, '--out', at('f1.png')], mentions: missing, out: at('f1.png') },
    {
      args: ['plot', 'features', corruptCsv, '--out', at('f2.png')],
      mentions: corruptCsv,
      out: at('f2.png'),
    },
    { args: ['plot', 'report', missing], mentions: missing },
    { args: ['plot', 'report', aFile], mentions: aFile },
    { args: ['golden', join(root, 'no-such-dir')], mentions: 'no-such-dir' },
    { args: ['golden', aFile], mentions: aFile },
    { args: ['golden', emptyGolden], mentions: /0 passed/ },
    { args: ['golden', corruptGolden], mentions: /a\.json/ },
    { args: ['golden', '--impl', 'bogus'], mentions: '--impl' },
    { args: ['train', '--epochs', '0', '--out', at('t1')], mentions: '--epochs', out: at('t1') },
    { args: ['train', '--batch', '1.5', '--out', at('t2')], mentions: '--batch', out: at('t2') },
    { args: ['train', '--head', 'nope', '--out', at('t3')], mentions: 'nope', out: at('t3') },
    { args: ['train', '--param', 'margin=abc', '--out', at('t4')], mentions: 'margin', out: at('t4') },
    { args: ['train', '--lr', 'NaN', '--out', at('t5')], mentions: '--lr', out: at('t5') },
    { args: ['train', '--config', missing, '--out', at('t6')], mentions: missing, out: at('t6') },
    {
      args: ['train', '--config', write('cut.json', '{"epochs": '), '--out', at('t7')],
      mentions: 'cut.json',
      out: at('t7'),
    },
    {
      args: ['train', '--config', write('list.json', '[1, 2]'), '--out', at('t8')],
      mentions: 'list.json',
      out: at('t8'),
    },
    {
      args: ['train', '--config', write('typo.json', '{"epochz": 3}'), '--out', at('t9')],
      mentions: 'typo.json',
      out: at('t9'),
    },
    { args: ['train', '--resume', join(root, 'no-such-run')], mentions: 'no-such-run' },
    { args: ['train', '--resume', emptyGolden], mentions: emptyGolden },
    {
      args: ['train', '--data', join(root, 'no-such-data'), '--max-steps', '1', '--out', at('t10')],
      mentions: 'no-such-data',
      out: at('t10'),
    },
    {
      args: ['train', '--data', join(root, 'no-such-data'), '--out', existingRun],
      mentions: 'no-such-data',
      out: join(existingRun, 'metrics.jsonl'),
      previous: '{"step":1}\n',
    },
    { args: ['train', '--resume', brokenRun], mentions: join(brokenRun, 'config.json') },
    { args: ['train', '--batch', '99999999', '--out', at('t11')], mentions: '--batch', out: at('t11') },
    {
      args: ['train', '--batch', '99999999', '--out', existingRun],
      mentions: '--batch',
      out: join(existingRun, 'metrics.jsonl'),
      previous: '{"step":1}\n',
    },
    {
      args: ['train', '--max-steps', '1', '--out', userFolder],
      mentions: '--out',
      out: join(userFolder, 'report.html'),
      previous: '<p>mine</p>',
    },
    {
      args: ['train', '--max-steps', '1', '--force', '--out', userFolder],
      mentions: 'report.html',
      out: join(userFolder, 'report.html'),
      previous: '<p>mine</p>',
    },
    { args: ['train', '--resume', lockedRun], mentions: /locked-run is in use by process \d+/ },
    { args: ['train', '--resume', existingRun, '--force'], mentions: '--resume' },
    { args: ['compare', '--heads', 'arcface,nope', '--out', at('k1')], mentions: 'nope', out: at('k1') },
    { args: ['compare', '--heads', ',', '--out', at('k2')], mentions: '--heads', out: at('k2') },
    { args: ['compare', '--head', 'arcface', '--out', at('k3')], mentions: '--head', out: at('k3') },
    { args: ['compare', '--epochs', '-1', '--out', at('k4')], mentions: '--epochs', out: at('k4') },
    {
      args: ['reshard', at('no-checkpoint'), at('rs1'), '--ranks', '2'],
      mentions: 'manifest.json',
      out: at('rs1'),
    },
    { args: ['reshard', emptyGolden, at('rs2'), '--ranks', '0'], mentions: '--ranks', out: at('rs2') },
    {
      args: ['reshard', corruptGolden, at('rs3'), '--ranks', '2'],
      mentions: 'manifest.json',
      out: at('rs3'),
    },
    { args: ['demo', '--seed', 'abc'], mentions: '--seed' },
    { args: ['demo', '--seed', '1.5e400'], mentions: '--seed' },
    ...embedCommands(at, write, corruptCsv),
  ];
}

/** `embed` with bad models, inputs and outputs: each named, and no output left behind. */
function embedCommands(
  at: (name: string) => string,
  write: (name: string, content: string | Uint8Array) => string,
  corruptCsv: string,
): BadCommand[] {
  const pth = readFileSync(join(INTEROP, 'iresnet-1111-w8.pth'));
  const input = join(INTEROP, 'input.npy');
  const model = join(INTEROP, 'iresnet-1111-w8.pth');
  const cut = write('cut.pth', pth.subarray(0, 4000));
  const flipped = write('flipped.pth', flipBytes(pth, 7, 40));
  const notOnnx = write('not.onnx', 'not an onnx model');
  const fortran = write(
    'fortran.npy',
    Buffer.concat([
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 54, 0]),
      Buffer.from(`{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }${' '.repeat(5)}\n`),
      Buffer.alloc(4),
    ]),
  );
  const embed = (m: string, x: string, name: string, mentions: string | RegExp): BadCommand => ({
    args: ['embed', '--model', m, '--input', x, '--out', at(name)],
    mentions,
    out: at(name),
  });
  return [
    { args: ['embed', '--input', input, '--out', at('e0.npy')], mentions: '--model', out: at('e0.npy') },
    embed(at('missing.pth'), input, 'e1.npy', 'missing.pth'),
    embed(cut, input, 'e2.npy', cut),
    embed(flipped, input, 'e3.npy', /flipped\.pth/),
    embed(notOnnx, input, 'e4.npy', notOnnx),
    embed(at('no-such-run'), input, 'e5.npy', '--model'),
    embed(model, at('missing.npy'), 'e6.npy', '--input'),
    embed(model, corruptCsv, 'e7.npy', '--input'),
    embed(model, fortran, 'e8.npy', 'Fortran'),
    embed(model, input, 'e9.txt', '--out'),
    {
      args: ['embed', '--model', model, '--input', input, '--out', at('e10.npy'), '--batch-size', '0'],
      mentions: '--batch-size',
      out: at('e10.npy'),
    },
  ];
}

describe('bad command lines fail cleanly', () => {
  it('each exits non-zero with a message naming the option or file, and writes nothing', async () => {
    const problems: string[] = [];
    for (const c of commands()) {
      tried++;
      const before = c.out === undefined ? [] : readdirSync(root);
      const problem = judge(c, await runCli(c.args));
      // Nothing half-written next to the output either (temporary files of an atomic write).
      const leftovers = readdirSync(root).filter((n) => !before.includes(n) && n.endsWith('.tmp'));
      if (problem !== undefined) problems.push(`faceverloss ${c.args.join(' ')}: ${problem}`);
      else if (leftovers.length > 0)
        problems.push(`faceverloss ${c.args.join(' ')}: left ${leftovers.join(', ')}`);
      else clean++;
    }
    expect(problems).toEqual([]);
    expect(clean).toBe(tried);
  });

  it('a valid command line exits 0 (the harness can tell success from failure)', async () => {
    const r = await runCli(['eval', '--scores', valid.scores, '--json']);
    expect(r.escaped).toBeUndefined();
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!).pairs).toBe(10);
    expect(SCORES_CSV.split('\n').length - 2).toBe(10);
  });

  it('devices as inputs are refused at once, naming the device (they used to hang)', (ctx) => {
    if (process.platform === 'win32') ctx.skip('/dev is POSIX');
    for (const args of [
      ['eval', '--scores', '/dev/zero'],
      ['eval', '--bin', '/dev/urandom', '--model', root],
    ]) {
      const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', ...args], {
        encoding: 'utf8',
        timeout: 60_000,
        killSignal: 'SIGKILL',
      });
      expect({ args, status: r.status, signal: r.signal }).toEqual({ args, status: 2, signal: null });
      expect(r.stderr).toContain(`${args[2]}: is a character device`);
    }
  }, 130_000);

  it('the installed entry point prints one line and exits 2 for a missing file', () => {
    const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'eval', '--scores', join(root, 'missing.csv')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('missing.csv');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
