/**
 * The HTML report in a real browser: Debian's Chromium driven by playwright-core, kept off the
 * network by its flags. The page must load from file:// with no console error and no request
 * beyond the file itself, show the verdict and the phase table with the numbers of the same
 * run's --json, draw every chart (pixels on each canvas), copy the next step, work in dark mode,
 * with several models (tabs) and GPU samples, and print. Screenshots go to the test's temp dir.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../diagnose/gen.js';
import { gpuSamplesFor, toSpans } from '../diagnose/to-spans.js';
import { toOtlpJsonLines } from '../support/synth.js';
import { lmSpans } from '../support/lm-spans.js';
import { runCli as cli } from '../support/cli.js';

const root = new URL('../../', import.meta.url).pathname;
const CHROMIUM = '/usr/bin/chromium';
const tmp = mkdtempSync(join(tmpdir(), 'ld-html-'));
// LD_KEEP_SCREENSHOTS=DIR keeps the screenshots (the temp dir is removed) to look at them.
const shots = process.env['LD_KEEP_SCREENSHOTS'] ?? tmp;
let browser: Browser;

beforeAll(async () => {
  // The installed CLI inlines the prebuilt client bundle; build it when a test run starts from a clean tree.
  if (!existsSync(join(root, 'dist/report/html/client.bundle.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--disable-background-networking', '--disable-component-update', '--no-first-run'] });
}, 240_000);
afterAll(async () => {
  await browser?.close();
  rmSync(tmp, { recursive: true, force: true });
});


interface Loaded {
  page: Page;
  context: BrowserContext;
  requests: string[];
  errors: string[];
}

/** Opens `file` from file:// and records every request and console error. */
async function open(file: string, colorScheme: 'light' | 'dark' = 'light', width = 1280): Promise<Loaded> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, context, requests, errors };
}

/** The parts of a canvas the pixel count reads (this project's TypeScript has no DOM types). */
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}

/** Share of a canvas's pixels that are painted (not transparent). Polled: a chart in a tab just shown paints after its resize observer fires. */
function paintedShare(page: Page, id: string): Promise<number> {
  return page.$eval(`canvas[data-chart="${id}"]`, (canvas) => {
    const c = canvas as unknown as CanvasLike;
    if (c.width === 0 || c.height === 0) return 0;
    const pixels = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
    return painted / (c.width * c.height);
  });
}

function expectNoNetwork(loaded: Loaded, file: string): void {
  expect(loaded.errors).toEqual([]);
  // The only request is the page itself, from file://.
  expect(loaded.requests).toEqual([pathToFileURL(file).href]);
}

/** The number shown in a cell, compared with the JSON value at the precision formatMs uses. */
function expectShown(text: string, value: number): void {
  const shown = Number(text.replace(/,/g, '').replace('%', ''));
  const step = value < 10 ? 0.01 : value < 1000 ? 0.1 : 1;
  expect(Math.abs(shown - value), `${text} vs ${value}`).toBeLessThanOrEqual(step / 2 + 1e-9);
}

describe('analyze --html in Chromium', { timeout: 180_000 }, () => {
  it('the demo report: no network, verdict and phase table as in --json, every chart drawn, copy works, screenshots', async () => {
    const file = join(tmp, 'demo.html');
    const run = await cli('analyze', 'examples/traces/inference-demo.otlp.jsonl', '--json', '--html', file);
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    const loaded = await open(file);
    const { page } = loaded;
    expectNoNetwork(loaded, file);

    const recommendation = json.diagnosis.recommendations.find((r: { fix: string }) => r.fix === json.diagnosis.primary);
    expect(await page.textContent('[data-field="fix"]')).toBe(json.diagnosis.primary);
    expect(await page.textContent('[data-field="headline"]')).toBe(json.diagnosis.headline);
    expect(await page.textContent('[data-field="confidence"]')).toBe(recommendation.confidence.toFixed(2));
    expect(await page.textContent('[data-field="next-step"]')).toBe(recommendation.next_step.text);
    expect(await page.textContent('[data-field="expected-gain"]')).toContain(`${recommendation.estimated_gain.metric.replace('_ms', '')} `);
    // The card's numbers come from the trimmed requests; it says so, with the JSON's counts.
    const population = json.diagnosis.population;
    expect(await page.textContent('[data-field="population"]')).toContain(`${population.diagnosed} requests after warm-up trim (${population.warmup_trimmed} warm-up`);
    expect(await page.textContent('[data-field="population"]')).toContain(`the phase table covers all ${json.requests}`);

    const phases = Object.entries(json.phases) as [string, { p50_ms: number; p95_ms: number; p99_ms: number; max_ms: number; share: number }][];
    expect(await page.$$eval('table[data-table="phases"] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-phase')))).toEqual([...phases.map(([p]) => p), 'e2e']);
    for (const [phase, s] of [...phases, ['e2e', json.e2e] as const]) {
      for (const q of ['p50', 'p95', 'p99', 'max'] as const) expectShown(await page.textContent(`tr[data-phase="${phase}"] td[data-q="${q}"]`) ?? '', s[`${q}_ms`]);
    }
    expectShown(await page.textContent('tr[data-phase="queue"] td[data-q="share"]') ?? '', json.phases.queue.share * 100);

    for (const chart of ['mix-0', 'time-0', 'hist-0', 'waterfall-0-0', 'waterfall-0-1']) await expect.poll(() => paintedShare(page, chart), { timeout: 10_000, message: chart }).toBeGreaterThan(0.02);

    await page.click('button.copy');
    const snippet = recommendation.next_step.snippet;
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(snippet ? `${recommendation.next_step.text}\n\n${snippet.code}` : recommendation.next_step.text);
    expect(await page.textContent('button.copy')).toBe('Copied');

    // Every rule, folded away: the --explain text.
    expect(await page.textContent('details.rules pre')).toContain('dynamic-batching');
    expect(await page.$eval('details.rules', (d) => d.hasAttribute('open'))).toBe(false);

    await page.screenshot({ path: join(shots, 'first-screen.png') });
    expect(statSync(join(shots, 'first-screen.png')).size).toBeGreaterThan(20_000);
    // Printed: a PDF with the charts drawn, tabs and copy buttons hidden.
    await page.emulateMedia({ media: 'print' });
    expect(await page.isVisible('button.copy')).toBe(false);
    await page.evaluate("dispatchEvent(new Event('beforeprint'))");
    expect(await page.isVisible('details.rules pre')).toBe(true);
    expect((await page.pdf({ format: 'A4' })).length).toBeGreaterThan(20_000);
    await loaded.context.close();

    const dark = await open(file, 'dark');
    expectNoNetwork(dark, file);
    expect(await dark.page.evaluate('getComputedStyle(document.body).backgroundColor')).toBe('rgb(15, 18, 22)');
    await expect.poll(() => paintedShare(dark.page, 'hist-0'), { timeout: 10_000 }).toBeGreaterThan(0.02);
    await dark.page.screenshot({ path: join(shots, 'first-screen-dark.png') });
    await dark.context.close();
  });

  it("readable on a phone (375 px): the page never scrolls sideways; the phase table scrolls inside its card, the share column in reach", async () => {
    const file = join(tmp, 'narrow.html');
    const run = await cli('analyze', 'examples/traces/inference-demo.otlp.jsonl', '--html', file);
    expect(run.code, run.stderr).toBe(0);
    const loaded = await open(file, 'light', 375);
    expectNoNetwork(loaded, file);
    // A string: this project's TypeScript has no DOM types.
    const layout = await loaded.page.evaluate<{ page: number; viewport: number; scroller: string; card: number }>(`(() => {
      const scroller = document.querySelector('table[data-table="phases"]').parentElement;
      return { page: document.documentElement.scrollWidth, viewport: window.innerWidth, scroller: getComputedStyle(scroller).overflowX, card: scroller.closest('.card').getBoundingClientRect().right };
    })()`);
    expect(layout.page).toBeLessThanOrEqual(layout.viewport);
    expect(layout.card).toBeLessThanOrEqual(layout.viewport);
    expect(layout.scroller).toBe('auto');
    await loaded.page.screenshot({ path: join(shots, 'narrow-375.png'), fullPage: true });
    expect(loaded.errors).toEqual([]);
    await loaded.context.close();
  });

  it('TTFT and TPOT objectives are drawn on the generation chart: more of it painted than without them, no error', async () => {
    const busy = 'test/fixtures/serving/genai-client-vllm-busy-api-server.synthetic.json';
    const [plain, withSlo] = [join(tmp, 'busy.html'), join(tmp, 'busy-slo.html')];
    const runs = await Promise.all([cli('analyze', busy, '--html', plain), cli('analyze', busy, '--slo', 'ttft:p95=600ms,tpot:p95=15ms', '--html', withSlo)]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const painted: number[] = [];
    for (const file of [plain, withSlo]) {
      const loaded = await open(file);
      expectNoNetwork(loaded, file);
      await expect.poll(() => paintedShare(loaded.page, 'generation-0'), { timeout: 10_000 }).toBeGreaterThan(0.02);
      painted.push(await paintedShare(loaded.page, 'generation-0'));
      await loaded.context.close();
    }
    // Two dashed level lines (and their legend entries) across the chart.
    expect(painted[1]).toBeGreaterThan(painted[0]! * 1.01);
  });

  it('one request on a Triton monotonic clock, and traces with no request: the page says what --json says (no 1970 date, no rate from one request)', async () => {
    const file = join(tmp, 'one-request.html');
    const run = await cli('analyze', 'test/fixtures/traces/ml-serving/triton-docs-trace-timestamps.json', '--json', '--html', file);
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.requests).toBe(1);
    expect(json.window.clock).toBe('monotonic');
    expect(json.window.start).toBeNull();
    expect(json.models[0].throughput_rps).toBeNull();
    const loaded = await open(file);
    expectNoNetwork(loaded, file);
    const subtitle = await loaded.page.textContent('header p.sub');
    expect(subtitle).toContain('1 request from ');
    expect(subtitle).toContain("on the server's monotonic clock");
    expect(subtitle).not.toMatch(/1970|UTC/);
    const heading = await loaded.page.textContent('.card.phases h2');
    expect(heading).toBe('Where the time goes · 1 request · no rate from one request');
    expectShown((await loaded.page.textContent('tr[data-phase="e2e"] td[data-q="p50"]')) ?? '', json.e2e.p50_ms);
    await loaded.context.close();

    // Spans outside the convention: no request to show, said in words, nothing broken.
    const none = join(tmp, 'no-request.html');
    const generic = await cli('analyze', 'test/fixtures/traces/jaeger-json/jaeger-ui-petclinic-31char-traceid.json', '--html', none);
    expect(generic.code, generic.stderr).toBe(0);
    const empty = await open(none);
    expectNoNetwork(empty, none);
    expect(await empty.page.textContent('header p.sub')).toMatch(/^0 requests from /);
    expect(await empty.page.textContent('main')).toContain('No request spans follow the span convention');
    await empty.context.close();

    // Nothing read at all (exit 4): the page says so instead of blaming the span convention.
    const nothingFile = join(tmp, 'no-spans.json');
    writeFileSync(nothingFile, '{"resourceSpans":[]}');
    const nothing = join(tmp, 'no-spans.html');
    const measured = await cli('analyze', nothingFile, '--html', nothing);
    expect(measured.code).toBe(4);
    const blank = await open(nothing);
    expectNoNetwork(blank, nothing);
    expect(await blank.page.textContent('main')).toContain('No spans found in the input: nothing was measured.');
    await blank.context.close();
  });

  it('two models and GPU samples: one tab per model, GPU state on the latency chart', async () => {
    const a = generate({ n: 400, seed: 21, model: 'resnet50', rps: 80, phases: { queue: 8, compute: 12 } });
    const b = generate({ n: 150, seed: 22, model: 'bert-base', rps: 30, phases: { preprocess: 3, compute: 20 }, idOffset: 10_000 });
    const traces = join(tmp, 'two.otlp.jsonl');
    const samples = join(tmp, 'gpu.jsonl');
    writeFileSync(traces, toOtlpJsonLines(toSpans([...a, ...b])));
    writeFileSync(samples, gpuSamplesFor(a, (f) => (f > 0.6 ? ['sw_thermal_slowdown'] : [])));
    const file = join(tmp, 'two.html');
    const run = await cli('analyze', traces, samples, '--html', file);
    expect(run.code, run.stderr).toBe(0);
    const loaded = await open(file);
    const { page } = loaded;
    expectNoNetwork(loaded, file);
    expect(await page.$$eval('[data-tab]', (tabs) => tabs.map((t) => t.textContent))).toEqual(['resnet50', 'bert-base']);
    expect(await page.isVisible('section[data-model="bert-base"]')).toBe(false);
    expect(await page.textContent('section[data-model="resnet50"] .card h2 >> text=with GPU state')).toContain('GPU state');
    const data = JSON.parse(readFileSync(file, 'utf8').match(/<script type="application\/json" id="ld-data">(.*?)<\/script>/s)![1]!);
    expect(data.models[0].gpu.throttled.some((x: number) => x > 0.5)).toBe(true);
    expect(data.models[0].gpu.temperatureC).toContain(88);
    await page.click('[data-tab="1"]');
    expect(await page.isVisible('section[data-model="bert-base"]')).toBe(true);
    expect(await page.isVisible('section[data-model="resnet50"]')).toBe(false);
    for (const chart of ['mix-1', 'time-1', 'hist-1', 'waterfall-1-0', 'waterfall-1-1']) await expect.poll(() => paintedShare(page, chart), { timeout: 10_000, message: chart }).toBeGreaterThan(0.02);
    await page.click('[data-tab="0"]');
    await page.screenshot({ path: join(shots, 'two-models-gpu.png'), fullPage: true });
    await loaded.context.close();
  });

  it('a generation model: TTFT and TPOT over time, drawn from the first-token events and token counts', async () => {
    // Prefill grows over the run (a longer prompt mix), decode per token stays: TTFT rises, TPOT does not.
    const spans = lmSpans({ n: 300, seed: 41, prefillMs: (frac) => 20 + frac * 60 });
    const traces = join(tmp, 'lm.otlp.jsonl');
    writeFileSync(traces, toOtlpJsonLines(spans));
    const file = join(tmp, 'lm.html');
    const run = await cli('analyze', traces, '--html', file);
    expect(run.code, run.stderr).toBe(0);
    const loaded = await open(file);
    expectNoNetwork(loaded, file);
    await expect.poll(() => paintedShare(loaded.page, 'generation-0'), { timeout: 10_000 }).toBeGreaterThan(0.02);
    const data = JSON.parse(readFileSync(file, 'utf8').match(/<script type="application\/json" id="ld-data">(.*?)<\/script>/s)![1]!);
    const { ttft, tpot } = data.models[0].generation;
    expect(ttft.p50[ttft.p50.length - 1]).toBeGreaterThan(ttft.p50[0] + 40);
    expect(Math.abs(tpot.p50[tpot.p50.length - 1] - tpot.p50[0])).toBeLessThan(1.5);
    expect(await loaded.page.textContent('tr[data-phase="prefill"] td:first-child')).toBe('prefill');
    await loaded.page.screenshot({ path: join(shots, 'generation.png'), fullPage: true });
    await loaded.context.close();
  });

  it("a vLLM export: the example traces draw the phases vLLM's attributes stand for; with two requests the over-time charts say why they are not drawn", async () => {
    const file = join(tmp, 'vllm.html');
    const run = await cli('analyze', 'test/fixtures/serving/vllm-llm-request-v1.synthetic.json', '--html', file);
    expect(run.code, run.stderr).toBe(0);
    const data = JSON.parse(readFileSync(file, 'utf8').match(/<script type="application\/json" id="ld-data">(.*?)<\/script>/s)![1]!);
    const [slowest] = data.models[0].examples as { spans: { name: string; phase: string; startMs: number; endMs: number }[] }[];
    // One llm_request span in the file; the waterfall shows what the analysis made of it.
    expect(slowest!.spans.map((s) => s.phase)).toEqual(expect.arrayContaining(['queue', 'prefill', 'decode']));
    const decode = slowest!.spans.find((s) => s.phase === 'decode')!;
    const json = JSON.parse((await cli('analyze', 'test/fixtures/serving/vllm-llm-request-v1.synthetic.json', '--json')).stdout);
    expect(decode.endMs - decode.startMs).toBeCloseTo(json.phases.decode.max_ms, 1);
    const loaded = await open(file);
    expectNoNetwork(loaded, file);
    await expect.poll(() => paintedShare(loaded.page, 'waterfall-0-0'), { timeout: 10_000 }).toBeGreaterThan(0.02);
    // No empty axes: each window needs 3 requests for a percentile point, and two requests fill none.
    expect(await loaded.page.$('canvas[data-chart="time-0"]')).toBeNull();
    expect(await loaded.page.$('canvas[data-chart="generation-0"]')).toBeNull();
    const notes = await loaded.page.$$eval('.card.uncharted', (cards) => cards.map((c) => c.textContent ?? ''));
    expect(notes).toHaveLength(2);
    for (const note of notes) expect(note).toContain('Not drawn: 2 requests in all');
    await loaded.context.close();
  });

  it('diff --html: the comparison page loads offline and draws its before/after overlays', async () => {
    const before = join(tmp, 'before.otlp.jsonl');
    const after = join(tmp, 'after.otlp.jsonl');
    writeFileSync(before, toOtlpJsonLines(toSpans(generate({ n: 600, seed: 31, phases: { queue: 20, compute: 10 } }))));
    writeFileSync(after, toOtlpJsonLines(toSpans(generate({ n: 600, seed: 32, phases: { queue: 2, compute: 10 } }))));
    const file = join(tmp, 'diff.html');
    const run = await cli('diff', before, '--', after, '--html', file, '--json');
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    const loaded = await open(file);
    expectNoNetwork(loaded, file);
    const p50 = json.models[0].e2e.quantiles[0];
    const cells = await loaded.page.$$eval('tr[data-quantity="end-to-end"][data-q="p50"] td', (tds) => tds.map((t) => t.textContent ?? ''));
    expectShown(cells[2]!, p50.before_ms);
    expectShown(cells[3]!, p50.after_ms);
    expect(cells[7]).toBe('faster');
    for (const chart of ['mix-0', 'time-0', 'hist-0']) await expect.poll(() => paintedShare(loaded.page, chart), { timeout: 10_000, message: chart }).toBeGreaterThan(0.02);
    await loaded.page.screenshot({ path: join(shots, 'diff-page.png'), fullPage: true });
    await loaded.context.close();
  });

  it('diff --html where every AFTER request failed: the charts draw no AFTER latency, as the table compares successful requests only', async () => {
    const before = join(tmp, 'ok.otlp.jsonl');
    const after = join(tmp, 'all-failed.otlp.jsonl');
    writeFileSync(before, toOtlpJsonLines(toSpans(generate({ n: 300, seed: 33, phases: { queue: 20, compute: 10 } }))));
    writeFileSync(after, toOtlpJsonLines(toSpans(generate({ n: 300, seed: 34, errorShare: 1, phases: { queue: 20, compute: 10 } }))));
    const file = join(tmp, 'diff-failed.html');
    const run = await cli('diff', before, '--', after, '--html', file);
    expect(run.code, run.stderr).toBe(0);
    const loaded = await open(file);
    expectNoNetwork(loaded, file);
    const cells = await loaded.page.$$eval('tr[data-quantity="end-to-end"][data-q="p50"] td', (tds) => tds.map((t) => t.textContent ?? ''));
    expect(cells[3]).toBe('–');
    const data = JSON.parse(await loaded.page.$eval('#ld-data', (el) => el.textContent ?? '')) as { models: { before: { histogram: { counts: number[]; lowMs: number } }; after: { histogram: { counts: number[] } } }[] };
    const total = (counts: number[]): number => counts.reduce((a, b) => a + b, 0);
    expect(total(data.models[0]!.before.histogram.counts)).toBe(300);
    expect(total(data.models[0]!.after.histogram.counts)).toBe(0);
    // The bins span the BEFORE requests (≈ 30 ms), not 0 … their p99.
    expect(data.models[0]!.before.histogram.lowMs).toBeGreaterThan(5);
    await loaded.context.close();
  });
});
