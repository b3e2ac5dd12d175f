/**
 * Runs every script in examples/ in quick mode as a child process, so the examples cannot drift away
 * from the API: each must exit with 0 and print the line that shows it did its job. Expected numbers
 * are written out from the formulas, not taken from a previous run.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
// Generous: each example takes a few seconds alone, but the machine running the suite may be busy.
const TIMEOUT_MS = 110_000;
const outDir = mkdtempSync(join(tmpdir(), 'faceverloss-examples-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** Runs `examples/<name>.ts --quick …args`; resolves with its stdout, rejects with stderr on failure. */
function runExample(name: string, ...args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join('examples', `${name}.ts`), '--quick', ...args],
      { cwd: ROOT, timeout: TIMEOUT_MS - 5_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) fail(new Error(`${name} failed (${error.message}):\n${stderr}\n${stdout}`));
        else done(stdout);
      },
    );
  });
}

/** The numbers captured by `pattern` in `text` (the test fails with the output when it is missing). */
function numbers(text: string, pattern: RegExp): number[] {
  const match = text.match(pattern);
  expect(match, `no line matching ${pattern} in:\n${text}`).not.toBeNull();
  return match!.slice(1).map(Number);
}

const degrees = (r: number) => (r * 180) / Math.PI;

describe.concurrent('examples (quick mode)', () => {
  it(
    'custom-loop: the ArcFace loss goes down and CurricularFace t moves off 0, untouched by predict',
    async () => {
      const out = await runExample('custom-loop');
      const [first, last] = numbers(out, /ArcFace loss: first ([\d.]+) -> last ([\d.]+)/);
      expect(last).toBeLessThan(0.8 * first);
      const [t] = numbers(out, /CurricularFace t: ([-\d.]+) \(unchanged by predict: true\)/);
      // t is an EMA of mean target cosines, so it lies in (0, 1) once training aligned anything.
      expect(t).toBeGreaterThan(0);
      expect(t).toBeLessThan(1);
    },
    TIMEOUT_MS,
  );

  it(
    'fit: model.fit lowers the loss; the reloaded model gives identical outputs and state',
    async () => {
      const out = await runExample('fit');
      const [first, last] = numbers(out, /fit loss: first ([\d.]+) -> last ([\d.]+)/);
      expect(last).toBeLessThan(0.8 * first);
      expect(out).toMatch(/reloaded outputs identical: true \(max \|difference\| 0\), state identical: true/);
    },
    TIMEOUT_MS,
  );

  it(
    'evaluate-bin: the .bin and the scores CSV give the same metrics, better than chance',
    async () => {
      const out = await runExample('evaluate-bin');
      expect(out).toMatch(/digits\.bin: 100 pairs, 200 PNG images/);
      expect(out).toMatch(/TAR @ FAR=1e-1 /);
      const [accBin, accCsv, aucBin, aucCsv] = numbers(
        out,
        /bin vs CSV: accuracy ([\d.]+)% \/ ([\d.]+)%, AUC ([\d.]+) \/ ([\d.]+)/,
      );
      expect(accCsv).toBe(accBin);
      expect(aucCsv).toBe(aucBin);
      // Same-digit pairs are closer in pixel space, and a random projection keeps that on average.
      expect(aucBin).toBeGreaterThan(0.6);
      expect(aucBin).toBeLessThanOrEqual(1);
    },
    TIMEOUT_MS,
  );

  it(
    'plot: writes the charts and reads boundaries that match θj = θy + m and cos θj = cos θy − m',
    async () => {
      const dir = join(outDir, 'plot');
      const out = await runExample('plot', '--out', dir);
      for (const file of ['arcface-vs-cosface.svg', 'arcface.svg', 'roc.svg']) {
        expect(existsSync(join(dir, file)), file).toBe(true);
        expect(readFileSync(join(dir, file), 'utf8')).toMatch(/^<svg/);
      }
      for (const thetaY of [30, 60, 90]) {
        const [arc, cos] = numbers(
          out,
          new RegExp(
            `at θy = ${thetaY}°: ArcFace boundary θj = ([\\d.]+)°, CosFace boundary θj = ([\\d.]+)°`,
          ),
        );
        // Printed with two decimals: 0.006° covers the rounding.
        expect(Math.abs(arc - (thetaY + degrees(0.5)))).toBeLessThan(0.006);
        expect(Math.abs(cos - degrees(Math.acos(Math.cos((thetaY * Math.PI) / 180) - 0.35)))).toBeLessThan(
          0.006,
        );
      }
    },
    TIMEOUT_MS,
  );

  it(
    'reference-flags: the insightface flags change the target past θ + m > π and only the gradient before',
    async () => {
      const out = await runExample('reference-flags');
      const theta = (170 * Math.PI) / 180;
      const [paper, insightface] = numbers(
        out,
        /θy = 170°: target logit paper = ([-\d.]+), insightface = ([-\d.]+)/,
      );
      // Paper code past π: s·(cos θ − m·sin(π − m)); insightface: s·cos(θ + m), s = 64, m = 0.5.
      expect(Math.abs(paper - 64 * (Math.cos(theta) - 0.5 * Math.sin(Math.PI - 0.5)))).toBeLessThan(1e-5);
      expect(Math.abs(insightface - 64 * Math.cos(theta + 0.5))).toBeLessThan(1e-5);
      expect(insightface).toBeGreaterThan(64 * Math.cos(theta));
      const [lossPaper, lossInsightface] = numbers(
        out,
        /θy = 60°: loss paper = ([\d.]+), insightface = ([\d.]+)/,
      );
      expect(lossInsightface).toBe(lossPaper);
      // θj = θy, so loss = softplus(s·(cos θ − cos(θ + m))) at θ = 60° (no clamp, no fallback).
      const z = 64 * (Math.cos(Math.PI / 3) - Math.cos(Math.PI / 3 + 0.5));
      expect(Math.abs(lossPaper - (z + Math.log1p(Math.exp(-z))))).toBeLessThan(1e-8);
    },
    TIMEOUT_MS,
  );
});
