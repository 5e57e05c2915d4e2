/**
 * The page in a real browser: Debian's chromium, headless, driven by playwright-core, WebGL on
 * SwiftShader (software). For the same scene, question and schedule the page must give `adsc run`'s
 * answer, its overlay must show exactly the vision tokens `adsc run` says each layer kept, and its
 * attention must have run on gpu.js in WebGL mode. Screenshots of a run with each method go to
 * $ADSC_SCREENSHOTS (default web/screenshots, git-ignored).
 *
 * Without chromium (CHROMIUM_PATH, default /usr/bin/chromium) the tests are skipped; with CI set
 * they fail instead, as .ci/run installs it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '@adsc/cli';
import type { RgbImage } from '@adsc/model';
import { encodePng } from '@adsc/shapes';
import { buildSite } from '../scripts/build.js';
import { serveStatic } from '../scripts/serve.js';
import { METHODS, resolveMethod } from '../src/methods.js';
import { scene } from '../src/session.js';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = process.env.ADSC_SCREENSHOTS ?? join(WEB, 'screenshots');
const ci = Boolean(process.env.CI);
const have = existsSync(CHROMIUM);
const TIMEOUT_MS = 180_000;
/** A seed no model was trained or tuned on, and the scene's own question (one object, 42-84 px). */
const SEED = 7;

if (!have && !ci) console.warn(`skipping the browser tests: no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

interface RunJson {
  text: string;
  vision_indices_per_layer: number[][];
}

/** The scene of `seed` written as a PNG file in `dir`. */
function scenePng(dir: string, seed: number, name = `scene-${seed}.png`): { png: string; image: RgbImage } {
  const { image } = scene(seed, [1, 1], [42, 56, 70, 84]);
  const png = join(dir, name);
  writeFileSync(png, encodePng(image));
  return { png, image };
}

/**
 * `adsc run` on the image file `png`, with the page's method, on the very model and adapter files
 * the site serves (buildSite's default: examples/shapes-llava/checkpoints/binding).
 */
async function adscRun(site: string, png: string, question: string, method: string): Promise<RunJson> {
  const { schedule, adapter } = resolveMethod(method, undefined);
  const out: string[] = [];
  const args = ['run', '--model', join(site, 'models/shapes-llava'), '--image', png, '--prompt', question, '--schedule', schedule, '--max-new-tokens', '3', '--json'];
  if (adapter) args.push('--adapter', join(site, 'models/adapters', adapter));
  const code = await main(args, (l) => out.push(l), () => {});
  expect(code).toBe(0);
  return JSON.parse(out[0]) as RunJson;
}

/** Waits for the page to finish a run; fails with the page's own message if it shows an error. */
async function finished(page: Page): Promise<void> {
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout: TIMEOUT_MS });
  const error = await page.locator('#error').textContent();
  expect(await page.evaluate(() => document.body.dataset.state), `page error: ${error}`).toBe('done');
}

/** Moves the layer slider as a user's drag does: a new value, then an input event. */
async function slideTo(page: Page, layer: number): Promise<void> {
  await page.evaluate((l) => {
    const slider = document.getElementById('layer') as HTMLInputElement;
    slider.value = String(l);
    slider.dispatchEvent(new Event('input'));
  }, layer);
}

/** The patches whose centre pixel on the overlay canvas is the image's own pixel (not shaded). */
async function unshadedPatches(page: Page, layer: number, image: { width: number; data: Uint8Array }): Promise<number[]> {
  await slideTo(page, layer);
  const { scale, centres } = await page.evaluate(() => {
    const canvas = document.getElementById('overlay') as HTMLCanvasElement;
    const ctx = canvas.getContext('2d')!;
    const s = canvas.width / 168;
    const out: number[][] = [];
    for (let i = 0; i < 144; i++) {
      const x = ((i % 12) * 14 + 7) * s;
      const y = (Math.floor(i / 12) * 14 + 7) * s;
      out.push(Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3)));
    }
    return { scale: s, centres: out };
  });
  expect(scale).toBe(2);
  return centres.flatMap((rgb, i) => {
    const p = ((Math.floor(i / 12) * 14 + 7) * image.width + (i % 12) * 14 + 7) * 3;
    return rgb.every((v, c) => Math.abs(v - image.data[p + c]) <= 2) ? [i] : [];
  });
}

describe.skipIf(!have && !ci)('the page in headless chromium', () => {
  let browser: Browser;
  let page: Page;
  let server: Server;
  let url: string;
  let work: string;
  let site: string;

  beforeAll(async () => {
    if (!have) throw new Error(`chromium is required here (CI is set) but ${CHROMIUM} does not exist: apt-get install chromium`);
    work = mkdtempSync(join(tmpdir(), 'adsc-web-'));
    mkdirSync(SHOTS, { recursive: true });
    site = await buildSite({ out: join(work, 'site') });
    ({ server, url } = await serveStatic(site, 0));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Software WebGL (SwiftShader); no sandbox as root; no background traffic on a closed network.
      args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  }, TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('answers the URL\'s question with adsc run\'s answer, its attention on gpu.js in WebGL mode', async () => {
    const { record } = scene(SEED, [1, 1], [42, 56, 70, 84]);
    const question = 'Is there a red square?';
    await page.goto(`${url}?seed=${SEED}&q=${encodeURIComponent(question)}&schedule=fastv&layer=2`);
    await finished(page);
    const expected = await adscRun(site, scenePng(work, SEED).png, question, 'fastv');
    expect(await page.locator('#answer').textContent()).toBe(expected.text);
    expect(await page.locator('#question').inputValue()).toBe(question);
    expect(await page.locator('#layer').inputValue()).toBe('2');
    expect(['webgl', 'webgl2']).toContain(await page.evaluate(() => document.body.dataset.attention));
    expect(await page.evaluate(() => document.body.dataset.matmul)).toBe('wasm');
    // FastV's ranking layer 0 runs the CPU reference (it needs probabilities); every other layer's
    // prefill, the decode steps and the vision tower's layers ran on the gpu.js kernels.
    expect(Number(await page.evaluate(() => document.body.dataset.gpuCalls))).toBeGreaterThanOrEqual(7);
    expect(record.text).not.toBe(question);
  }, TIMEOUT_MS);

  it.each(METHODS.map((m) => m.name))('shows %s: adsc run\'s answer and, at every layer, exactly the vision tokens it kept', async (method) => {
    const { record } = scene(SEED, [1, 1], [42, 56, 70, 84]);
    await page.goto(`${url}?seed=${SEED}&schedule=${method}`);
    await finished(page);
    const { png, image } = scenePng(work, SEED);
    const expected = await adscRun(site, png, record.text, method);
    expect(await page.locator('#answer').textContent()).toBe(expected.text);
    for (let layer = 0; layer < expected.vision_indices_per_layer.length; layer++) {
      expect(await unshadedPatches(page, layer, image), `layer ${layer}`).toEqual(expected.vision_indices_per_layer[layer]);
    }
    await slideTo(page, 1);
    await page.screenshot({ path: join(SHOTS, `${method}.png`), fullPage: true });
  }, TIMEOUT_MS);

  it('answers about an uploaded PNG as adsc run answers about the file', async () => {
    const { png, image } = scenePng(work, SEED + 1, 'upload.png');
    const question = 'What shape is the blue object?';
    await page.goto(`${url}?q=${encodeURIComponent(question)}&schedule=adsc`);
    await finished(page);
    await page.locator('#upload').setInputFiles(png);
    await page.waitForFunction(() => document.getElementById('expected')?.textContent === 'uploaded: upload.png' && document.body.dataset.state === 'done', null, { timeout: TIMEOUT_MS });
    expect(await page.locator('#answer').textContent()).toBe((await adscRun(site, png, question, 'adsc')).text);
    // The browser decoded the file to the very pixels the scene was drawn with.
    expect(await unshadedPatches(page, 0, image)).toHaveLength(144);
  }, TIMEOUT_MS);

  it('says what is wrong with a URL parameter in #error', async () => {
    await page.goto(`${url}?seed=abc`);
    await page.waitForFunction(() => document.body.dataset.state === 'error', null, { timeout: TIMEOUT_MS });
    expect(await page.locator('#error').textContent()).toBe('URL parameter seed="abc": expected an integer from 0 to 4294967295');
  }, TIMEOUT_MS);
});
