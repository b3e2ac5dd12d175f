/**
 * End to end: build the single-file page, serve it with `vite preview`, and drive it with Chromium: the
 * explorer's boundary against hand calculations, greyed plots for invalid settings, every head training
 * in a panel, run-id isolation on restarts, the URL round trip, layouts from phone to desktop (with
 * screenshots), the file:// build, no console errors and no request leaving the origin.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headNames } from '../../src/heads/registry.js';
import type { ExplorerReadout, TrainingReadout } from '../../web/src/hooks.js';

const CHROMIUM = '/usr/bin/chromium';
const WEB_ROOT = fileURLToPath(new URL('../../web', import.meta.url));
const hasChromium = existsSync(CHROMIUM);
/** Screenshots of the layouts go here (kept after the run, for a look). */
const SHOTS = process.env.FACEVERLOSS_WEB_SHOTS ?? join(tmpdir(), 'faceverloss-web-screenshots');

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

const explorerReadout = (page: Page) => page.evaluate(() => window.faceverloss.explorer as ExplorerReadout);
const training = (page: Page) =>
  page.evaluate(() => window.faceverloss.training as Record<string, TrainingReadout>);

/** The training panels' workers are up (each test that trains waits for it, whatever ran before). */
async function waitReady(page: Page): Promise<void> {
  await page.waitForFunction(() => window.faceverloss.ready, null, { timeout: 60_000 });
}

async function waitRedraw(page: Page, before: number): Promise<ExplorerReadout> {
  await page.waitForFunction((n) => window.faceverloss.explorer!.redraws > n, before);
  return explorerReadout(page);
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
  let origin = '';
  let url = '';
  const problems: string[] = [];
  const foreignRequests: string[] = [];

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'faceverloss-web-'));
    userDataDir = mkdtempSync(join(tmpdir(), 'faceverloss-chromium-'));
    mkdirSync(SHOTS, { recursive: true });
    const config = {
      root: WEB_ROOT,
      configFile: join(WEB_ROOT, 'vite.config.ts'),
      logLevel: 'warn' as const,
    };
    await build({ ...config, build: { outDir, emptyOutDir: true } });
    server = await preview({ ...config, build: { outDir }, preview: { host: '127.0.0.1', port: 41730 } });
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
      viewport: { width: 1280, height: 800 },
    });
    const resolved = server.resolvedUrls?.local[0];
    if (!resolved) throw new Error('vite preview reported no local URL');
    url = resolved;
    origin = new URL(url).origin;
    // Every request of every page and worker: only this origin, data: and blob: are allowed.
    context.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(`${origin}/`) && !/^(data|blob):/.test(u) && !u.startsWith('file://'))
        foreignRequests.push(u);
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    await page.goto(url);
    await page.waitForFunction(() => (window.faceverloss?.explorer?.redraws ?? 0) >= 1, null, {
      timeout: 30_000,
    });
  }, 150_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    for (const dir of [outDir, userDataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('draws ArcFace’s boundary and moves it with the margin slider', async () => {
    // No accuracy is shown before the first held-out evaluation.
    expect(await page.locator('#panel-0-status').textContent()).toMatch(/held-out accuracy (–|\d+\.\d%)/);
    const before = await explorerReadout(page);
    // Pixel checksums are a test tool: the readout of a normal redraw carries none.
    expect(Object.keys(before).some((k) => /checksum/i.test(k))).toBe(false);
    expect(before.setting.name).toBe('arcface');
    expect(before.setting.params.margin).toBe(0.5);
    expect(before.error).toBeNull();
    expect(before.segments).toBeGreaterThan(100);
    expect(Math.abs(before.winFraction - arcfaceWinShare(0.5))).toBeLessThan(GRID_TOLERANCE);
    const sumBefore = await page.evaluate(() => window.faceverloss.checksum('boundary-canvas'));

    await page.locator('#control-margin').fill('0.2');
    const after = await waitRedraw(page, before.redraws);
    expect(after.setting.params.margin).toBeCloseTo(0.2, 12);
    expect(await page.evaluate(() => window.faceverloss.checksum('boundary-canvas'))).not.toBe(sumBefore);
    expect(Math.abs(after.winFraction - arcfaceWinShare(0.2))).toBeLessThan(GRID_TOLERANCE);
    // The number input beside the slider follows it.
    expect(Number(await page.locator('#control-margin-number').inputValue())).toBeCloseTo(0.2, 12);
  });

  it('greys the plots with the reason for an invalid setting, and recovers', async () => {
    let r = await explorerReadout(page);
    await page.locator('#head-select').selectOption('magface');
    r = await waitRedraw(page, r.redraws);
    expect(r.effectiveMargin).toMatch(/m\(‖x‖\) = 0\.625/);
    await page.locator('#control-lowerNorm-number').fill('150');
    r = await waitRedraw(page, r.redraws);
    expect(r.error).toMatch(/upperNorm must exceed lowerNorm/);
    expect(await page.locator('#boundary-canvas').getAttribute('data-state')).toBe('invalid');
    // A corner of the canvas is the grey of an unavailable plot, not a stale picture.
    const corner = await page.evaluate(() => {
      const c = document.getElementById('boundary-canvas') as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData(2, 2, 1, 1).data);
    });
    expect(corner).toEqual([217, 217, 217, 255]);
    await page.locator('#control-lowerNorm-number').fill('10');
    r = await waitRedraw(page, r.redraws);
    expect(r.error).toBeNull();
    expect(await page.locator('#boundary-canvas').getAttribute('data-state')).toBe('drawn');
  });

  it('draws the cosine plane, probability shading and an overlaid head', async () => {
    let r = await explorerReadout(page);
    await page.locator('#head-select').selectOption('cosface');
    r = await waitRedraw(page, r.redraws);
    const winShading = await page.evaluate(() => window.faceverloss.checksum('boundary-canvas'));
    await page.locator('#shading-select').selectOption('probability');
    r = await waitRedraw(page, r.redraws);
    const lowScale = await page.evaluate(() => window.faceverloss.checksum('boundary-canvas'));
    expect(lowScale).not.toBe(winShading);
    // Under probability shading the scale s changes the picture although the boundary stays put.
    await page.locator('#control-scale-number').fill('4');
    const r2 = await waitRedraw(page, r.redraws);
    expect(r2.winFraction).toBeCloseTo(r.winFraction, 12);
    expect(await page.evaluate(() => window.faceverloss.checksum('boundary-canvas'))).not.toBe(lowScale);
    await page.locator('#plane-select').selectOption('cosine');
    await page.locator('#overlay-select').selectOption('arcface');
    await page.waitForFunction(() => window.faceverloss.explorer!.overlay === 'arcface');
    r = await explorerReadout(page);
    expect(r.plane).toBe('cosine');
    expect(r.error).toBeNull();
    expect(await page.locator('#boundary-formulas tr.current').getAttribute('data-head')).toBe('cosface');
  });

  it('lists every head in the explorer and in the panels', async () => {
    const values = (sel: string) =>
      page.locator(sel).evaluateAll((opts) => opts.map((o) => (o as HTMLOptionElement).value));
    expect(await values('#head-select option')).toEqual([...headNames]);
    expect(await values('#panel-0-head option')).toEqual([...headNames]);
    // The digits' colours are named once for all panels.
    expect(await page.locator('#class-legend li').allTextContents()).toEqual(
      Array.from({ length: 10 }, (_, d) => String(d)),
    );
  });

  it('trains both panels and the loss goes down', async () => {
    await waitReady(page);
    const steps = 40;
    await page.evaluate((n) => window.faceverloss.trainSteps(n), steps);
    const t = await training(page);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    for (const id of ['panel-0', 'panel-1']) {
      expect(t[id].error, id).toBeNull();
      expect(t[id].backend, id).toMatch(/^(webgl|wasm|cpu)$/);
      expect(t[id].losses.length, id).toBe(steps);
      expect(t[id].losses.every(Number.isFinite), id).toBe(true);
      expect(mean(t[id].losses.slice(-10)), id).toBeLessThan(0.9 * mean(t[id].losses.slice(0, 10)));
      expect(t[id].accuracy, id).toBeGreaterThan(0.2);
      expect(t[id].tar, id).toBeGreaterThanOrEqual(0);
      expect(t[id].tar, id).toBeLessThanOrEqual(1);
      expect(t[id].stepsPerSecond, id).toBeGreaterThan(0);
    }
    expect(await page.locator('#panel-0-status').textContent()).toMatch(
      /^(webgl|wasm|cpu)( \([^)]+\))? · step 40 ·/,
    );
  }, 90_000);

  it('starts each head from its own defaults: Softmax → CosFace has a margin', async () => {
    await waitReady(page);
    await page.locator('#panel-0-head').selectOption('cosface');
    const t = await training(page);
    expect(t['panel-0'].head).toBe('cosface');
    expect(t['panel-0'].params.margin).toBeGreaterThan(0);
    expect(t['panel-0'].params.scale).toBeLessThanOrEqual(32);
    // An invalid value gives the reason in the panel and keeps the inputs there to fix it.
    await page.locator('#panel-0-scale-number').fill('-1');
    await page.locator('#panel-0-scale-number').press('Enter');
    await page.waitForFunction(() => window.faceverloss.training['panel-0'].error !== null);
    expect(await page.locator('#panel-0-status').textContent()).toMatch(/^Error: .*scale/);
    await page.locator('#panel-0-scale-number').fill('16');
    await page.locator('#panel-0-scale-number').press('Enter');
    await page.waitForFunction(() => window.faceverloss.training['panel-0'].error === null);
  });

  it('a restarted run never shows the previous run’s losses, and keeps running', async () => {
    await waitReady(page);
    await page.locator('#panel-0-train').click();
    await page.waitForFunction(() => window.faceverloss.training['panel-0'].step >= 15, null, {
      timeout: 30_000,
    });
    const before = (await training(page))['panel-0'].runId;
    // Moving a slider restarts the run while it trains.
    await page.locator('#panel-0-scale-number').fill('12');
    await page.locator('#panel-0-scale-number').press('Enter');
    await page.waitForFunction((id) => window.faceverloss.training['panel-0'].runId > id, before);
    await page.waitForFunction(() => window.faceverloss.training['panel-0'].step >= 10, null, {
      timeout: 30_000,
    });
    const t = (await training(page))['panel-0'];
    expect(t.params.scale).toBe(12);
    expect(t.running).toBe(true);
    // Every loss belongs to this run: one per step taken since the restart.
    expect(t.losses.length).toBe(t.step);
    await page.locator('#panel-0-train').click();
    await page.waitForFunction(() => !window.faceverloss.training['panel-0'].running, null, {
      timeout: 30_000,
    });
    const paused = (await training(page))['panel-0'];
    // Pausing between reports still delivers the loss of every step taken.
    expect(paused.losses.length).toBe(paused.step);
    await page.waitForTimeout(400);
    expect((await training(page))['panel-0'].step).toBe(paused.step);
  }, 60_000);

  it('trains every head a few steps without NaN', async () => {
    await waitReady(page);
    const heads = [...headNames];
    for (let k = 0; k < heads.length; k += 2) {
      const pair = heads.slice(k, k + 2);
      await page.locator('#panel-0-head').selectOption(pair[0]);
      await page.locator('#panel-1-head').selectOption(pair[1] ?? pair[0]);
      await page.evaluate(() => window.faceverloss.trainSteps(3));
      const t = await training(page);
      for (const id of ['panel-0', 'panel-1']) {
        expect(t[id].error, t[id].head).toBeNull();
        expect(t[id].losses.length, t[id].head).toBe(3);
        expect(t[id].losses.every(Number.isFinite), `${t[id].head}: ${t[id].losses}`).toBe(true);
      }
    }
  }, 120_000);

  it('shares the batch order, and the initial weights under "same start"', async () => {
    await waitReady(page);
    await page.locator('#panel-0-head').selectOption('cosface');
    await page.locator('#panel-1-head').selectOption('cosface');
    await page.evaluate(() => window.faceverloss.trainSteps(3));
    let t = await training(page);
    expect(t['panel-1'].losses).toEqual(t['panel-0'].losses);
    await page.locator('#same-start').uncheck();
    await page.waitForFunction(() => window.faceverloss.training['panel-0'].step === 0);
    await page.evaluate(() => window.faceverloss.trainSteps(3));
    t = await training(page);
    expect(t['panel-1'].losses[0]).not.toBe(t['panel-0'].losses[0]);
    await page.locator('#same-start').check();
  }, 60_000);

  it('compares up to four heads on shared axes', async () => {
    await waitReady(page);
    await page.locator('#add-panel').click();
    await page.locator('#add-panel').click();
    expect(await page.locator('#add-panel').isDisabled()).toBe(true);
    await page.waitForFunction(() => Object.keys(window.faceverloss.training).length === 4);
    // Steps asked of panels still loading run once they are ready.
    await page.evaluate(() => window.faceverloss.trainSteps(5));
    const before = await training(page);
    await page.evaluate(() => window.faceverloss.trainSteps(5));
    const t = await training(page);
    for (const [id, r] of Object.entries(t)) {
      expect(r.step, id).toBe(before[id].step + 5);
      expect(r.losses.length, id).toBe(r.step);
    }
    expect(await page.locator('#series-key li').count()).toBe(4);
    await page.locator('#panel-3-remove').click();
    await page.locator('#panel-2-remove').click();
    expect(Object.keys(await training(page))).toEqual(['panel-0', 'panel-1']);
  }, 90_000);

  it('a link reproduces the view', async () => {
    await waitReady(page);
    await page.locator('#panel-0-head').selectOption('arcface');
    await page.locator('#panel-1-head').selectOption('magface');
    const link = page.url();
    const state = await page.evaluate(() => ({
      explorer: window.faceverloss.explorer!,
      heads: Object.values(window.faceverloss.training).map((t) => [t.head, t.params]),
    }));
    const other = await context!.newPage();
    await other.goto(link);
    await other.waitForFunction(() => (window.faceverloss?.explorer?.redraws ?? 0) >= 1);
    const restored = await other.evaluate(() => ({
      explorer: window.faceverloss.explorer!,
      heads: Object.values(window.faceverloss.training).map((t) => [t.head, t.params]),
    }));
    expect(restored.explorer.setting).toEqual(state.explorer.setting);
    expect(restored.explorer.plane).toBe(state.explorer.plane);
    expect(restored.explorer.shading).toBe(state.explorer.shading);
    expect(restored.explorer.overlay).toBe(state.explorer.overlay);
    expect(restored.heads).toEqual(state.heads);
    // An invalid setting from a link is greyed, with every control there to fix it.
    const bad = new URL(link);
    const q = new URLSearchParams(bad.hash.slice(1));
    q.set('head', 'magface');
    q.set('params', JSON.stringify({ lowerNorm: 150, upperNorm: 1 }));
    bad.hash = q.toString();
    const third = await context!.newPage();
    await third.goto(bad.href);
    await third.waitForFunction(() => (window.faceverloss?.explorer?.redraws ?? 0) >= 1);
    expect((await explorerReadout(third)).error).toMatch(/upperNorm must exceed lowerNorm/);
    expect(Number(await third.locator('#control-lowerNorm-number').inputValue())).toBe(150);
    await third.locator('#control-lowerNorm-number').fill('0.5');
    await third.waitForFunction(() => window.faceverloss.explorer!.error === null);
    await third.close();
    expect(await other.evaluate(() => window.faceverloss.checksum('boundary-canvas'))).toBe(
      await page.evaluate(() => window.faceverloss.checksum('boundary-canvas')),
    );
    await other.close();
  }, 60_000);

  it('saves plots as PNG and as vector SVG', async () => {
    const save = async (selector: string) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator(selector).click()]);
      const path = await download.path();
      return { name: download.suggestedFilename(), bytes: readFileSync(path) };
    };
    const png = await save('#explorer figure:nth-of-type(1) [data-export="png"]');
    expect(png.name).toBe('decision-boundary.png');
    expect([...png.bytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join('')).toBe('PNG');
    const svg = await save('#explorer figure:nth-of-type(2) [data-export="svg"]');
    expect(svg.name).toBe('logit-curves.svg');
    const text = svg.bytes.toString('utf8');
    expect(text).toMatch(/^<svg /);
    // Curves and labels as vectors, not a picture of them.
    expect(text).toMatch(/<path d="M[^"]+L/);
    expect(text).toContain('>logit</text>');
    expect(text).not.toContain('<image');
    const loss = await save('#training [data-export="svg"] >> nth=-3');
    expect(loss.name).toBe('loss.svg');
    expect(loss.bytes.toString('utf8')).toContain('>loss</text>');
  });

  it.each([
    [390, 844],
    [800, 1000],
    [1280, 800],
  ])('fits a %i × %i window without horizontal overflow', async (width, height) => {
    await page.setViewportSize({ width, height });
    // The pictures are redrawn at their new size (backing store = CSS size × device pixel ratio).
    await page.waitForFunction(() =>
      ['boundary-canvas', 'curves-canvas', 'compare-loss'].every((id) => {
        const c = document.getElementById(id) as HTMLCanvasElement;
        return c.width === Math.round(c.clientWidth * devicePixelRatio);
      }),
    );
    const overflow = await page.evaluate(() => {
      const doc = document.documentElement;
      const wide = Array.from(document.querySelectorAll('canvas, select, input, table, .panel'))
        .filter((e) => e.getBoundingClientRect().right > doc.clientWidth + 0.5)
        .map((e) => e.id || e.tagName);
      // A setting's name sits above its slider and number input, never over them.
      const collisions = Array.from(document.querySelectorAll('.number-row'))
        .map((row) => {
          const label = row.querySelector('label')!.getBoundingClientRect();
          const inputs = row.querySelector('.inputs')!.getBoundingClientRect();
          return label.bottom <= inputs.top + 0.5 && label.right <= row.getBoundingClientRect().right + 0.5
            ? null
            : row.querySelector('label')!.textContent;
        })
        .filter((x) => x !== null);
      return { scroll: doc.scrollWidth, client: doc.clientWidth, wide, collisions };
    });
    await page.screenshot({ path: join(SHOTS, `page-${width}x${height}.png`), fullPage: true });
    expect(overflow.wide).toEqual([]);
    expect(overflow.collisions).toEqual([]);
    expect(overflow.scroll).toBeLessThanOrEqual(overflow.client);
  });

  it('opens from file:// as a single styled, working file', async () => {
    const local = await context!.newPage();
    local.on('pageerror', (e) => problems.push(`file:// pageerror: ${e.message}`));
    await local.goto(pathToFileURL(join(outDir, 'index.html')).href);
    await local.waitForFunction(() => (window.faceverloss?.explorer?.redraws ?? 0) >= 1, null, {
      timeout: 30_000,
    });
    expect(await local.evaluate(() => getComputedStyle(document.body).maxWidth)).toBe('1240px');
    await local.waitForFunction(() => document.body.dataset.ready !== undefined, null, { timeout: 60_000 });
    expect(await local.evaluate(() => document.body.dataset.ready)).toBe('true');
    await local.evaluate(() => window.faceverloss.trainSteps(2));
    const t = await training(local);
    expect(t['panel-0'].losses.every(Number.isFinite)).toBe(true);
    await local.close();
  }, 90_000);

  it('logged no errors and requested nothing outside the page', () => {
    expect(problems).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });
});
