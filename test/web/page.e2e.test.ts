/**
 * End to end: build the explorer page, serve it with `vite preview`, drive it with Chromium, and check
 * that a slider moves the decision boundary and that live training lowers the loss.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headNames } from '../../src/heads/registry.js';
import type { ExplorerReadout, PageHooks } from '../../web/src/hooks.js';

const CHROMIUM = '/usr/bin/chromium';
const WEB_ROOT = fileURLToPath(new URL('../../web', import.meta.url));
const hasChromium = existsSync(CHROMIUM);

/**
 * Share of the (θy, θj) ∈ [0, π]² square where ArcFace's target wins, worked out by hand: below the
 * fallback (θy < π − m) the target wins iff θj > θy + m, a triangle of area (π − m)²/2; past it the
 * fallback cos θy − m·sin(π − m) stays below cos θj for every θj (for the margins used here), so adds none.
 */
function arcfaceWinShare(m: number): number {
  return (Math.PI - m) ** 2 / 2 / Math.PI ** 2;
}

/** The grid's share of a region differs from the area by its boundary cells: about 1/180 here. */
const GRID_TOLERANCE = 0.012;

function explorerReadout(page: Page): Promise<ExplorerReadout> {
  return page.evaluate(() => window.faceverloss.explorer as ExplorerReadout);
}

if (!hasChromium) {
  it.skip(`web explorer end-to-end: skipped, ${CHROMIUM} not found (CI installs it with apt-get)`, () => {});
}

describe.skipIf(!hasChromium)('web explorer in Chromium', () => {
  let outDir = '';
  let userDataDir = '';
  let server: PreviewServer;
  let context: BrowserContext | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'faceverloss-web-'));
    userDataDir = mkdtempSync(join(tmpdir(), 'faceverloss-chromium-'));
    const config = {
      root: WEB_ROOT,
      configFile: join(WEB_ROOT, 'vite.config.ts'),
      logLevel: 'warn' as const,
    };
    await build({ ...config, build: { outDir, emptyOutDir: true } });
    server = await preview({
      ...config,
      build: { outDir },
      preview: { host: '127.0.0.1', port: 41730, strictPort: false },
    });
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1200, height: 1500 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('vite preview reported no local URL');
    await page.goto(url);
    await page.waitForFunction(() => (window.faceverloss?.explorer?.redraws ?? 0) >= 1, null, {
      timeout: 30_000,
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    for (const dir of [outDir, userDataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('draws ArcFace’s boundary and moves it with the margin slider', async () => {
    const before = await explorerReadout(page);
    expect(before.setting.name).toBe('arcface');
    expect(before.setting.params.margin).toBe(0.5);
    expect(before.error).toBeNull();
    expect(before.segments).toBeGreaterThan(100);
    expect(Math.abs(before.winFraction - arcfaceWinShare(0.5))).toBeLessThan(GRID_TOLERANCE);

    await page.locator('#control-margin').fill('0.2');
    await page.waitForFunction((n) => window.faceverloss.explorer!.redraws > n, before.redraws);
    const after = await explorerReadout(page);
    expect(after.setting.params.margin).toBeCloseTo(0.2, 12);
    expect(after.boundaryChecksum).not.toBe(before.boundaryChecksum);
    expect(after.curvesChecksum).not.toBe(before.curvesChecksum);
    expect(Math.abs(after.winFraction - arcfaceWinShare(0.2))).toBeLessThan(GRID_TOLERANCE);
    const attr = await page.locator('#boundary-canvas').getAttribute('data-checksum');
    expect(attr).toBe(after.boundaryChecksum);
  });

  it('lists every head and draws a varied selection without an error', async () => {
    const names = await page
      .locator('#head-select option')
      .evaluateAll((opts) => opts.map((o) => (o as HTMLOptionElement).value));
    expect(names).toEqual([...headNames]);
    // Every head's grid is checked in test/web/explorer.test.ts; here one of each kind of margin is drawn.
    const sample = ['sphereface', 'combined', 'circleloss', 'magface', 'adaface', 'qamface', 'centerloss'];
    for (const name of sample) {
      const redraws = (await explorerReadout(page)).redraws;
      await page.locator('#head-select').selectOption(name);
      await page.waitForFunction((n) => window.faceverloss.explorer!.redraws > n, redraws);
      const r = await explorerReadout(page);
      expect(r.setting.name).toBe(name);
      expect(r.error, name).toBeNull();
    }
    await page.locator('#head-select').selectOption('cosface');
  });

  it('trains both panels and the loss goes down', async () => {
    await page.waitForFunction(() => window.faceverloss.ready, null, { timeout: 60_000 });
    const steps = 40;
    await page.evaluate((n) => window.faceverloss.trainSteps(n), steps);
    const training = await page.evaluate(() => window.faceverloss.training as PageHooks['training']);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    for (const id of ['left', 'right']) {
      const t = training[id];
      expect(t.error, id).toBeNull();
      expect(t.backend, id).toMatch(/^(webgl|wasm|cpu)$/);
      expect(t.losses.length, id).toBe(steps);
      expect(t.losses.every(Number.isFinite), id).toBe(true);
      expect(mean(t.losses.slice(-10)), id).toBeLessThan(0.9 * mean(t.losses.slice(0, 10)));
    }
    // The Train button runs freely until paused.
    await page.locator('#left-train').click();
    await page.waitForFunction((n) => window.faceverloss.training.left.step >= n, steps + 10, {
      timeout: 30_000,
    });
    await page.locator('#left-train').click();
    await page.waitForFunction(() => !window.faceverloss.training.left.running, null, { timeout: 30_000 });
    const paused = await page.evaluate(() => window.faceverloss.training.left.step);
    await page.waitForTimeout(500);
    expect(await page.evaluate(() => window.faceverloss.training.left.step)).toBe(paused);

    const shot = join(outDir, 'explorer.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).toBe(true);
    if (process.env.FACEVERLOSS_SCREENSHOT)
      await page.screenshot({ path: process.env.FACEVERLOSS_SCREENSHOT, fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
