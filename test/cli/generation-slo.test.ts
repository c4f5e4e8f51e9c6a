/**
 * `--slo` on generation figures (`ttft:p95=…`, `tpot:p99=…`) on the trace inputs the analyzer reads
 * them from: vLLM `llm_request` spans (alone, and under a GenAI client span), TGI router spans (token
 * counts but no first token) and this project's tracer writing a token stream. Each objective is
 * checked met and missed through the installed CLI (exit 0 / 3), an objective the input cannot
 * measure fails closed (exit 4, naming it), a bad spec is one line (exit 2), and the library API
 * checks against the very figures of the summary table.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFiles, parseSlo } from '../../src/analyzer/index.js';
import { createInferenceTracer, setupTracing } from '../../src/tracer/index.js';
import { runCli } from '../support/cli.js';

const SERVING = 'test/fixtures/serving';
/** Two vLLM v1 requests: TTFT 105 and 310 ms, TPOT 9.8 and 10.2 ms, e2e up to 1.35 s. */
const VLLM = `${SERVING}/vllm-llm-request-v1.synthetic.json`;
/** 60 vLLM requests under client spans: TTFT p95 502 ms, TPOT 9–11 ms. */
const BUSY = `${SERVING}/genai-client-vllm-busy-api-server.synthetic.json`;
/** TGI router: four finished requests with token counts, no first token (no TTFT, no TPOT). */
const TGI = `${SERVING}/tgi-router-failed-cancelled.synthetic.json`;

const tmp = mkdtempSync(join(tmpdir(), 'ld-generation-slo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const gate = (file: string, slo: string, ...more: string[]) => runCli('analyze', file, '--slo', slo, '--fail-on-slo', ...more);

describe('--slo on TTFT and TPOT, through the CLI', { timeout: 120_000 }, () => {
  it('vLLM spans: met exits 0 and says so; a missed TTFT or TPOT target exits 3', async () => {
    const [met, ttftMissed, tpotMissed, e2eOnly] = await Promise.all([
      gate(VLLM, 'ttft:p95=400ms,tpot:p99=20ms,p99=2s'),
      gate(VLLM, 'ttft:p95=200ms,tpot:p99=20ms'),
      gate(VLLM, 'tpot:p99=5ms'),
      // An existing command line keeps its meaning: a bare quantile is end-to-end (1.35 s here).
      gate(VLLM, 'p99=1s'),
    ]);
    expect(met.code, met.stderr).toBe(0);
    expect(met.stdout.replace(/\s+/g, ' ')).toMatch(/SLO met \(p99 1346 ms ≤ 2000 ms, TTFT p95 310 ms ≤ 400 ms, TPOT p99 10\.2 ms ≤ 20\.0 ms\)/);
    expect(ttftMissed.code).toBe(3);
    expect(ttftMissed.stderr.trim()).toBe('latency-doctor: SLO violated for vllm-llama-3.1-8b (ttft:p95=200ms,tpot:p99=20ms)');
    expect(ttftMissed.stdout.replace(/\s+/g, ' ')).toMatch(/SLO violated \(TTFT p95 310 ms > 200 ms\)/);
    expect(tpotMissed.code).toBe(3);
    expect(tpotMissed.stdout.replace(/\s+/g, ' ')).toMatch(/SLO violated \(TPOT p99 10\.2 ms > 5\.00 ms\)/);
    expect(e2eOnly.code).toBe(3);
  });

  it('vLLM behind a client span (60 requests): TTFT p95 502 ms meets 600 ms and misses 450 ms; --json names each check', async () => {
    const [met, missed] = await Promise.all([gate(BUSY, 'ttft:p95=600ms,tpot:p95=15ms', '--json'), gate(BUSY, 'e2e:p99=2s,ttft:p95=450ms', '--json')]);
    expect(met.code, met.stderr).toBe(0);
    const checks = (run: { stdout: string }) => (JSON.parse(run.stdout) as { diagnosis: { slo: { met: boolean; checks: { metric: string; quantile: string; actual_ms: number; met: boolean }[] } } }).diagnosis.slo;
    expect(checks(met).checks.map((c) => [c.metric, c.quantile, c.met])).toEqual([
      ['ttft', 'p95', true],
      ['tpot', 'p95', true],
    ]);
    expect(missed.code).toBe(3);
    const slo = checks(missed);
    expect(slo.met).toBe(false);
    expect(slo.checks.map((c) => [c.metric, c.met])).toEqual([
      ['e2e', true],
      ['ttft', false],
    ]);
    expect(slo.checks[1]!.actual_ms).toBeGreaterThan(450);
  });

  it('the text report lists every target’s outcome when one is missed or not measured', async () => {
    const run = await runCli('analyze', BUSY, '--slo', 'p99=2s,ttft:p95=450ms,tpot:p99=50ms,itl:p99=20ms');
    expect(run.code, run.stderr).toBe(0);
    const block = run.stdout.slice(run.stdout.indexOf('\nSLO\n')).replace(/\s+/g, ' ');
    expect(block).toMatch(/^ SLO met: p99 875 ms ≤ 2000 ms missed: TTFT p95 502 ms > 450 ms met: TPOT p99 11\.5 ms ≤ 50\.0 ms not checked: ITL p99 not measured \(no inter-token latency in the input: only a server’s per-token histogram gives it \(--prometheus\)\) /);
  });

  it('TGI spans have no first token: a TTFT or TPOT target fails closed with exit 4 and names what was not measured', async () => {
    const [ttft, both, e2e, noGate] = await Promise.all([
      gate(TGI, 'ttft:p95=1s'),
      gate(TGI, 'p99=2s,ttft:p95=1s,tpot:p99=50ms'),
      gate(TGI, 'p99=2s'),
      runCli('analyze', TGI, '--slo', 'ttft:p95=1s'),
    ]);
    expect(ttft.code).toBe(4);
    expect(ttft.stderr.trim()).toBe('latency-doctor: SLO not checked: ttft:p95 of text-generation-inference.router (no first token recorded in the input) not measured');
    expect(ttft.stdout).not.toMatch(/SLO met/);
    expect(both.code).toBe(4);
    expect(both.stderr).toContain('ttft:p95 of text-generation-inference.router (no first token recorded in the input), tpot:p99 of text-generation-inference.router (no time per output token in the input: it needs a first token and two or more output tokens per request, or a TPOT histogram) not measured');
    // The end-to-end target alone is measured there, and met.
    expect(e2e.code, e2e.stderr).toBe(0);
    // Without the gate the report says the objective was not checked, and the run is still an analysis.
    expect(noGate.code).toBe(0);
    expect(noGate.stdout.replace(/\s+/g, ' ')).toContain('SLO not checked: ttft:p95 not measured (no first token recorded in the input)');
  });

  it('a bad spec is one line naming --slo, the part and what was expected: exit 2', async () => {
    const [value, metric] = await Promise.all([runCli('analyze', VLLM, '--slo', 'ttft:p95=abc'), runCli('analyze', VLLM, '--slo', 'p99=1s,foo:p95=1ms')]);
    expect(value.code).toBe(2);
    expect(value.stdout).toBe('');
    expect(value.stderr).toBe('latency-doctor: --slo "ttft:p95=abc": expected a duration after p95=, like 500ms, 0.5s or 800us (got "abc")\n');
    expect(metric.code).toBe(2);
    expect(metric.stderr).toBe('latency-doctor: --slo "foo:p95=1ms": expected a metric e2e, ttft, tpot or itl before the quantile, like ttft:p95=500ms (got "foo")\n');
  });

  it('--html draws the TTFT and TPOT targets on the generation chart, the end-to-end one on the histogram', async () => {
    const file = join(tmp, 'busy.html');
    const run = await runCli('analyze', BUSY, '--slo', 'p99=2s,ttft:p95=600ms,tpot:p95=15ms', '--html', file);
    expect(run.code, run.stderr).toBe(0);
    const html = readFileSync(file, 'utf8');
    for (const label of ['SLO p99 2000 ms', 'SLO ttft:p95 600 ms', 'SLO tpot:p95 15 ms']) expect(html).toContain(label);
  });
});

describe('--slo on TTFT and TPOT, through the library', () => {
  it('checks against the same TTFT and TPOT percentiles the summary table prints', async () => {
    const result = await analyzeFiles([BUSY], { diagnose: { slo: parseSlo('ttft:p95=450ms,tpot:p99=50ms') } });
    const m = result.models[0]!;
    const g = m.summary.generation!;
    expect(m.diagnosis?.slo?.checks).toEqual([
      { metric: 'ttft', quantile: 'p95', targetMs: 450, actualMs: g.ttft!.p95Ms, met: false },
      { metric: 'tpot', quantile: 'p99', targetMs: 50, actualMs: g.tpot!.p99Ms, met: true },
    ]);
    expect(m.diagnosis?.slo?.met).toBe(false);
    expect(m.diagnosis?.headline).toMatch(/SLO violated \(TTFT p95 502 ms > 450 ms\)$/);
  });

  it('a model without generation data: the TTFT target is unmeasured, neither met nor violated', async () => {
    const result = await analyzeFiles([TGI], { diagnose: { slo: parseSlo('p99=2s,ttft:p99=1s') } });
    const slo = result.models[0]!.diagnosis!.slo!;
    expect(slo.met).toBe(false);
    expect(slo.unmeasured).toEqual(['ttft:p99']);
    expect(slo.checks.map((c) => [c.metric, c.met, c.unmeasuredWhy])).toEqual([
      ['e2e', true, undefined],
      ['ttft', false, 'no first token recorded in the input'],
    ]);
  });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function* tokens(n: number, stepMs: number): AsyncGenerator<string> {
  for (let i = 0; i < n; i += 1) {
    await sleep(stepMs);
    yield `t${i}`;
  }
}

describe('--slo on our tracer’s token streams', { timeout: 120_000 }, () => {
  it('TTFT ≥ 25 ms (20 ms prefill + a 5 ms step) and TPOT ≥ 5 ms: p50 targets at those bounds are missed, ten times above met', async () => {
    const file = join(tmp, 'tracer.jsonl');
    const tracing = setupTracing({ serviceName: 'lm', exporter: { file }, metrics: false, scheduledDelayMillis: 20 });
    const tracer = createInferenceTracer({ model: 'tiny-lm' });
    for (let i = 0; i < 6; i += 1) {
      const stream = await tracer.generate(async (req) => {
        req.setInputTokens(12);
        await req.prefill(() => sleep(20));
        return req.decode(() => req.stream(tokens(5, 5)));
      });
      for await (const _ of stream) void _;
    }
    await tracing.shutdown();

    // At the title's bounds: each measured p50 is above them, so both are missed (a first token marked at the
    // prefill's end, 5 ms early, would meet the TTFT one; one never marked leaves both unmeasured, exit 4 below).
    const atBounds = await analyzeFiles([file], { diagnose: { slo: parseSlo('ttft:p50=25ms,tpot:p50=5ms') } });
    const m = atBounds.models.find((x) => x.summary.model === 'tiny-lm')!;
    expect(m.summary.generation?.ttft?.count).toBe(6);
    expect(m.summary.generation?.tpot?.count).toBe(6);
    expect(m.diagnosis?.slo?.checks.map((c) => [c.metric, c.quantile, c.met, c.unmeasuredWhy])).toEqual([
      ['ttft', 'p50', false, undefined],
      ['tpot', 'p50', false, undefined],
    ]);
    // Ten times the bounds: met (room for a loaded machine's late timers).
    const above = await analyzeFiles([file], { diagnose: { slo: parseSlo('ttft:p50=250ms,tpot:p50=50ms') } });
    expect(above.models.find((x) => x.summary.model === 'tiny-lm')!.diagnosis?.slo?.met).toBe(true);

    const [met, ttftMissed, tpotMissed] = await Promise.all([gate(file, 'ttft:p50=250ms,tpot:p50=50ms'), gate(file, 'ttft:p50=25ms'), gate(file, 'tpot:p50=5ms')]);
    expect(met.code, met.stderr).toBe(0);
    expect(ttftMissed.code, ttftMissed.stderr).toBe(3);
    expect(ttftMissed.stderr.trim()).toBe('latency-doctor: SLO violated for tiny-lm (ttft:p50=25ms)');
    expect(tpotMissed.code, tpotMissed.stderr).toBe(3);
    expect(tpotMissed.stderr.trim()).toBe('latency-doctor: SLO violated for tiny-lm (tpot:p50=5ms)');
  });
});
