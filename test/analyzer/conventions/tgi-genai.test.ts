import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../../src/analyzer/index.js';
import { analyzeServing, phasesOf, SERVING, writeTgiVariant } from './_helpers.js';
import { rustDurationNs } from '../../../src/analyzer/index.js';
import { timePerOutputTokenMs } from '../../../src/model/generation.js';
import { renderJson } from '../../../src/report/json.js';
import { renderText } from '../../../src/report/text.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { renderHtml } from '../../../src/report/html/index.js';
import { parseSlo } from '../../../src/analyzer/index.js';

describe('TGI router span (synthetic, fields of router/src/server.rs)', () => {
  it('reads Rust Debug durations exactly', () => {
    expect(rustDurationNs('1.234567ms')).toBe(1_234_567n);
    expect(rustDurationNs('850µs')).toBe(850_000n);
    expect(rustDurationNs('2.5s')).toBe(2_500_000_000n);
    expect(rustDurationNs('12ns')).toBe(12n);
    expect(rustDurationNs('None')).toBeUndefined();
    // A number is seconds; one that overflows as nanoseconds is unusable, not an internal error.
    expect(rustDurationNs(0.0015)).toBe(1_500_000n);
    expect(rustDurationNs(1e308)).toBeUndefined();
  });

  it('places validation, queue and inference in order and recovers the token count from time_per_token', async () => {
    const result = await analyzeServing('tgi-router-generate.synthetic.json');
    expect(result.conventions.map((c) => c.label)).toEqual(['TGI router span']);
    const [request] = result.timings;
    expect(request!.model).toBe('text-generation-inference.router');
    // 23.456789 ms span: validation 0.4125 + queue 1.2 + inference 21.75; the rest is other.
    expect(phasesOf(request!)).toEqual({ preprocess: 0.4125, queue: 1.2, compute: 21.75, other: 0.094289, e2e: 23.456789 });
    expect(request!.tokensOut).toBe(20); // 21.75 ms ÷ 1.0875 ms
    expect(result.conventions[0]!.unseen.join(' ')).toMatch(/prefill\/decode split/);
  });

  it('reads the token counts a fork records on the span (LoRAX: prompt_tokens, generated_tokens)', async () => {
    const result = await analyzeServing('lorax-router-generate-stream.synthetic.json');
    expect(result.conventions.map((c) => c.label)).toEqual(['TGI router span']);
    const [request] = result.timings;
    expect([request!.tokensIn, request!.tokensOut]).toEqual([356, 20]);
    expect(phasesOf(request!)).toMatchObject({ preprocess: 0.4125, queue: 1.2, compute: 21.75 });
  });
});

describe('TGI router spans of failed and cancelled requests (synthetic: router/src/server.rs and infer/mod.rs, tracing-opentelemetry attributes)', () => {
  it('counts the handler spans that ended without timings apart, by who ended them, out of the latency figures, and never a wrapper or Infer span', async () => {
    const result = await analyzeServing('tgi-router-failed-cancelled.synthetic.json');
    // generate, generate_stream, chat_completions and the generate span under compat_generate finished; an overload
    // (chat_completions, after its template: `parameters` recorded) is the server's; a validation error (generate) and a
    // chat template failing on the messages (chat_completions without `parameters`, its error read after it) the
    // client's; a dropped stream (generate_stream) and a completions whose client went away (no `parameters`, known by
    // code.namespace, read after its Infer span) ended with no error.
    expect(result.conventions.map((c) => [c.label, c.requests])).toEqual([
      ['TGI router span', 4],
      ["TGI router span without timings: rejected, the client's error (validation, chat template; not in the latency figures)", 2],
      ['TGI router span without timings: cancelled by the client (no error in its trace; not in the latency figures)', 2],
      ['TGI router span without timings: failed, a server error (overloaded, generation; not in the latency figures)', 1],
    ]);
    expect(result.conventions.map((c) => c.ended)).toEqual([undefined, 'client-error', 'cancelled', 'server-error']);
    const json = JSON.parse(renderJson(result)) as { conventions: { requests: number; ended: string | null }[] };
    expect(json.conventions.map((c) => [c.ended, c.requests])).toEqual([[null, 4], ['client-error', 2], ['cancelled', 2], ['server-error', 1]]);
    expect(result.requests).toBe(4);
    expect([...result.timings].map((r) => r.e2eMs).sort((a, b) => a - b)).toEqual([23.456789, 60, 250, 412]);
    // The chat_completions with a template error and the completions, known by code.namespace (children read first), are in.
    expect(result.conventions.reduce((n, c) => n + (c.label.startsWith('TGI router span without timings') ? c.requests : 0), 0)).toBe(5);
    // The stream cancelled after 850 ms is not an 850 ms latency, and the window ends with the last finished request.
    expect(result.overall?.e2e.maxMs).toBe(412);
  });

  it("counts them in the model's errors and failures, as TGI's Prometheus path does: beside the finished requests, in text, JSON and HTML", async () => {
    const result = await analyzeServing('tgi-router-failed-cancelled.synthetic.json');
    const [model] = result.models;
    // Overloaded: the server's; validation and the chat template: the client's; two went away: cancelled, not errors.
    expect(model!.summary).toMatchObject({ model: 'text-generation-inference.router', requests: 4, errors: 3, failures: { server: 1, client: 2, cancelled: 2 } });
    expect(model!.summary.e2e.count).toBe(4);
    const line = '4 requests, 4.2 req/s, 3 errors (1 server, 2 client), 2 cancelled by the client';
    expect(renderText(result, { color: false }).replace(/\s+/g, ' ')).toContain(line);
    expect(renderMarkdown(result)).toContain('3 errors (1 server, 2 client), 2 cancelled by the client');
    expect((await renderHtml(result)).replace(/\s+/g, ' ')).toContain('3 errors (1 server, 2 client), 2 cancelled by the client');
    const json = JSON.parse(renderJson(result)) as { models: { requests: number; errors: number; failures: unknown }[] };
    expect(json.models[0]).toMatchObject({ requests: 4, errors: 3, failures: { server_errors: 1, client_errors: 2, cancelled: 2 } });
    // --model keeps them with their model, and counts none for another.
    const only = await analyzeFiles([SERVING + 'tgi-router-failed-cancelled.synthetic.json'], { diagnose: false, model: 'text-generation-inference.router' });
    expect(only.models[0]!.summary).toMatchObject({ errors: 3, failures: { server: 1, client: 2, cancelled: 2 } });
  });

  it('holds the finished requests to the SLO when the failures outnumber them: those are not among the requests, so not every request failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ld-tgi-'));
    try {
      // Two finished requests (the chat_completions and the compat_generate traces left out) beside the five unfinished.
      const file = writeTgiVariant(dir, 'tgi-mostly-failed.json', ['2c0f5a1e9b8d4c3a8f7e6d5c4b3a2903', '2c0f5a1e9b8d4c3a8f7e6d5c4b3a2904']);
      const result = await analyzeFiles([file], { diagnose: { slo: parseSlo('p99=2s') } });
      const [model] = result.models;
      expect(model!.summary).toMatchObject({ requests: 2, errors: 3 });
      expect(model!.diagnosis!.slo).toMatchObject({ met: true, checks: [{ metric: 'e2e', quantile: 'p99', actualMs: 412, met: true }] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a model whose every request failed or was cancelled: no completed request, its failures split, insufficient data, the SLO not checked (every request failed), in text, Markdown, HTML and --json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ld-tgi-'));
    try {
      const file = writeTgiVariant(dir, 'tgi-all-failed.json');
      const result = await analyzeFiles([file], { diagnose: { slo: parseSlo('p99=2s') } });
      expect(result.requests).toBe(0);
      expect(result.models).toHaveLength(1);
      const [model] = result.models;
      expect(model!.summary).toMatchObject({ model: 'text-generation-inference.router', requests: 0, errors: 3, failures: { server: 1, client: 2, cancelled: 2 } });
      expect(model!.diagnosis).toMatchObject({ primary: 'insufficient-data', insufficientData: ['no request completed (3 failed, 2 cancelled): no latency to diagnose'] });
      expect(model!.diagnosis!.slo).toMatchObject({ met: false, checks: [{ metric: 'e2e', quantile: 'p99', met: false, unmeasuredWhy: 'every request failed' }] });
      // Its own "SLO not checked", not the input's "no inference requests"; no generic report as if nothing were TGI's.
      expect(result.warnings.map((w) => w.code)).not.toContain('slo-not-checked');
      expect(result.generic).toBeUndefined();
      const text = renderText(result, { color: false }).replace(/\s+/g, ' ');
      expect(text).toContain('Model text-generation-inference.router 0 requests, no rate, 3 errors (1 server, 2 client), 2 cancelled by the client No request completed: no latency to measure');
      expect(text).toContain('SLO not checked: p99 not measured (every request failed)');
      expect(text).not.toContain('end-to-end');
      expect(renderMarkdown(result)).toContain('0 requests, no rate, 3 errors (1 server, 2 client), 2 cancelled by the client. No request completed');
      const html = (await renderHtml(result)).replace(/\s+/g, ' ');
      expect(html).toContain('No request completed: no latency to measure (a failed or cancelled request records none). 3 errors (1 server, 2 client), 2 cancelled by the client');
      const json = JSON.parse(renderJson(result)) as { models: Record<string, unknown>[] };
      expect(json.models[0]).toMatchObject({ model: 'text-generation-inference.router', requests: 0, errors: 3, failures: { server_errors: 1, client_errors: 2, cancelled: 2 }, window: null, e2e: null, diagnosis: { primary: 'insufficient-data' } });
      // --model finds it: a model seen only by its failures is a model of the input.
      const only = await analyzeFiles([file], { diagnose: false, model: 'text-generation-inference.router' });
      expect(only.models.map((m) => m.summary)).toMatchObject([{ requests: 0, errors: 3 }]);
      await expect(analyzeFiles([file], { diagnose: false, model: 'tgi' })).rejects.toThrow(`--model "tgi" matches no model in ${file}; models seen: text-generation-inference.router (1)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TGI router spans without location attributes (not known to be TGI\'s own router)', () => {
  it('counts the unfinished handler spans it still knows (by parameters) without saying who ended them', async () => {
    const doc = JSON.parse(readFileSync(SERVING + 'tgi-router-failed-cancelled.synthetic.json', 'utf8')) as { resourceSpans: { scopeSpans: { spans: { attributes: { key: string }[] }[] }[] }[] };
    for (const r of doc.resourceSpans) for (const ss of r.scopeSpans) for (const span of ss.spans) span.attributes = span.attributes.filter((a) => !a.key.startsWith('code.'));
    const dir = mkdtempSync(join(tmpdir(), 'ld-tgi-'));
    try {
      const file = join(dir, 'tgi-no-location.json');
      writeFileSync(file, JSON.stringify(doc));
      const result = await analyzeFiles([file], { diagnose: false });
      // generate (validation), chat_completions (overloaded, with parameters) and generate_stream (dropped); the
      // template failure and the completions have nothing left that names them.
      expect(result.conventions.map((c) => [c.label, c.requests])).toEqual([
        ['TGI router span', 4],
        ['TGI router span without timings (failed or cancelled before its last token: not in the latency figures)', 3],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OpenTelemetry GenAI client spans (synthetic, semconv v1.41 attributes)', () => {
  it('alone: a request with end-to-end time only', async () => {
    const result = await analyzeServing('genai-client-alone.synthetic.json');
    expect(result.conventions.map((c) => c.label)).toEqual(['OpenTelemetry GenAI client span (alone: end-to-end only)']);
    const [request] = result.timings;
    expect(request!.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
    expect(phasesOf(request!)).toEqual({ other: 812.5, e2e: 812.5 });
    expect([request!.tokensIn, request!.tokensOut]).toEqual([42, 7]);
  });

  it('reads the prompt tokens served from the provider’s cache (gen_ai.usage.cache_read.input_tokens)', async () => {
    const doc = JSON.parse(readFileSync(SERVING + 'genai-client-alone.synthetic.json', 'utf8')) as { resourceSpans: { scopeSpans: { spans: { attributes: unknown[] }[] }[] }[] };
    doc.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes.push({ key: 'gen_ai.usage.cache_read.input_tokens', value: { intValue: '32' } });
    const dir = mkdtempSync(join(tmpdir(), 'ld-genai-'));
    try {
      writeFileSync(join(dir, 'cached.json'), JSON.stringify(doc));
      const [request] = (await analyzeFiles([join(dir, 'cached.json')], { diagnose: false })).timings;
      expect([request!.tokensIn, request!.tokensOut, request!.tokensCached]).toEqual([42, 7, 32]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('alone and streamed: gen_ai.response.time_to_first_chunk is its first token, so TTFT and TPOT are measured', async () => {
    const result = await analyzeServing('genai-client-streaming.synthetic.json');
    expect(result.conventions.map((c) => c.label)).toEqual(['OpenTelemetry GenAI client span (alone: end-to-end and time to first chunk)']);
    expect(result.conventions[0]!.unseen.join(' ')).not.toMatch(/first token/);
    const [request] = result.timings;
    expect(phasesOf(request!)).toEqual({ other: 812.5, e2e: 812.5 });
    expect(request!.ttftMs).toBe(187.5);
    expect(timePerOutputTokenMs(request!.e2eMs, request!.ttftMs, request!.tokensOut)).toBeCloseTo((812.5 - 187.5) / (7 - 1), 9);
  });

  it('alone and streamed by OpenLLMetry (no time_to_first_chunk): its first chunk event is the first token', async () => {
    const result = await analyzeServing('genai-client-openllmetry-stream.synthetic.json');
    expect(result.conventions.map((c) => c.label)).toEqual(['OpenTelemetry GenAI client span (alone: end-to-end and time to first chunk)']);
    const [request] = result.timings;
    expect(request!.model).toBe('gpt-4o-mini');
    expect(request!.ttftMs).toBe(200);
    expect([request!.tokensIn, request!.tokensOut]).toEqual([42, 7]);
    expect(timePerOutputTokenMs(request!.e2eMs, request!.ttftMs, request!.tokensOut)).toBeCloseTo((812.5 - 200) / (7 - 1), 9);
  });

  it('with the vLLM server span in the trace: one request, client − server left unattributed (vLLM records no split of it)', async () => {
    const result = await analyzeServing('genai-client-vllm-server.synthetic.json');
    expect(result.conventions.map((c) => c.label).sort()).toEqual(['OpenTelemetry GenAI client span (with the server span: client − server unattributed, the server records no split)', 'vLLM llm_request span (v1 engine)']);
    expect(result.requests).toBe(1);
    const [request] = result.timings;
    expect(request!.hasClient).toBe(true);
    expect(phasesOf(request!)).toEqual({
      preprocess: 5.433,
      queue: 12.345,
      prefill: 87.654,
      decode: 1234.567,
      postprocess: 5.679,
      other: 54.322, // 20 ms before the server span + 1400 − 1365.678 after it: the wire and vLLM's API server
      e2e: 1400,
    });
    expect(request!.serverMs).toBeCloseTo(1345.678, 9);
  });

  it('an in-process model’s inference span (kind INTERNAL, allowed by the conventions) is a request with its TTFT; a tool span, or a wrapper above a client span, is not', async () => {
    const result = await analyzeServing('genai-inference-internal.synthetic.json');
    expect(result.conventions.map((c) => [c.label, c.requests]).sort()).toEqual([
      ['OpenTelemetry GenAI client span (alone: end-to-end only)', 1],
      ['OpenTelemetry GenAI inference span of an in-process model (kind INTERNAL: end-to-end and time to first chunk)', 1],
    ]);
    // The wrapped remote call counts once (its CLIENT span), not twice.
    expect(result.requests).toBe(2);
    expect(result.timings.rows().find((r) => r.model === 'gpt-4o-mini')!.e2eMs).toBe(880);
    const request = result.timings.rows().find((r) => r.model === 'llama-3.2-1b-instruct');
    expect(request!.model).toBe('llama-3.2-1b-instruct');
    expect(phasesOf(request!)).toEqual({ other: 1250, e2e: 1250 });
    expect(request!.ttftMs).toBe(87.5);
    expect([request!.tokensIn, request!.tokensOut]).toEqual([412, 94]);
    // (1250 − 87.5) ÷ (94 − 1), by hand.
    expect(timePerOutputTokenMs(request!.e2eMs, request!.ttftMs, request!.tokensOut)).toBeCloseTo(12.5, 9);
  });
});

describe('OpenTelemetry GenAI spans of an agent (real: the Jaeger UI GenAI sample trace)', () => {
  it("counts only the model calls: a CLIENT 'retrieval' span (a vector store query) is no model request", async () => {
    // 57 spans: 4 `chat model-a` and 1 `chat model-b` CLIENT spans, 3 `retrieval vector-search` CLIENT spans, agents and tools.
    const result = await analyzeFiles(['test/fixtures/traces/jaeger-json/jaeger-ui-genai-agent-trace.json']);
    expect(result.conventions.map((c) => [c.label, c.requests])).toEqual([['OpenTelemetry GenAI client span (alone: end-to-end only)', 5]]);
    const rows = result.timings.rows();
    expect(rows.map((r) => r.model).sort()).toEqual(['model-a', 'model-a', 'model-a', 'model-a', 'model-b']);
    expect(rows.map((r) => r.e2eMs).sort((a, b) => a - b)).toEqual([1800, 1800, 1800, 1800, 3500]);
  });
});

describe('TGI response headers on an HTTP client span (synthetic, headers of router/src/server.rs)', () => {
  it('puts the server in the middle of the client span: network = client − x-total-time, then validation, queue, inference', async () => {
    const result = await analyzeServing('tgi-headers-client-span.synthetic.json');
    expect(result.conventions.map((c) => c.label)).toEqual(['TGI response headers on a client span']);
    const [request] = result.timings;
    expect(request!.hasClient).toBe(true);
    expect(request!.serverMs).toBe(24);
    // 30 ms client span, 24 ms server: 3 ms of network each way.
    expect(phasesOf(request!)).toEqual({ preprocess: 1, network: 6, queue: 3, compute: 20, other: 0, e2e: 30 });
    expect([request!.tokensIn, request!.tokensOut]).toEqual([10, 20]);
  });

  it('a header that overflows as nanoseconds (1e303 ms) is left out, never an internal error', async () => {
    const text = readFileSync(SERVING + 'tgi-headers-client-span.synthetic.json', 'utf8');
    const damaged = text.replace(/("key": "http\.response\.header\.x-queue-time",\s*"value": \{\s*"arrayValue": \{\s*"values": \[\s*\{\s*"stringValue": )"3"/, '$1"1e303"');
    expect(damaged).not.toBe(text);
    const dir = mkdtempSync(join(tmpdir(), 'ld-tgi-'));
    try {
      writeFileSync(join(dir, 'damaged.json'), damaged);
      const [request] = (await analyzeFiles([join(dir, 'damaged.json')], { diagnose: false })).timings;
      expect(request!.phases.queue).toBeUndefined();
      expect(request!.phases.compute).toBe(20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
