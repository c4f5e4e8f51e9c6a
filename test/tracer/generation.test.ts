/**
 * The tracer's generation API: prefill/decode spans, the first-token event, token counts, the
 * TTFT/TPOT/token histograms, values and errors passed through unchanged; and a real express
 * server streaming tokens over Server-Sent Events on loopback, read by a streaming client, its
 * spans analysed: the analyzer's TTFT and token counts agree with what the client saw.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { HistogramMetricData, MetricData } from '@opentelemetry/sdk-metrics';
import { analyzeFiles } from '../../src/analyzer/index.js';
import { ATTR, FIRST_TOKEN_EVENT, TRACER_METRICS } from '../../src/semconv.js';
import { createInferenceTracer, setupTracing, spansToTracesData } from '../../src/tracer/index.js';
import type { TracingHandle } from '../../src/tracer/index.js';
import { CollectingReader } from '../support/telemetry-sinks.js';
import { TIMER_SLACK_MS } from '../support/timers.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const hrMs = (t: [number, number]): number => t[0] * 1000 + t[1] / 1e6;
const dir = mkdtempSync(join(tmpdir(), 'ld-generation-tracer-'));
let tracing: TracingHandle | undefined;
afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function histogram(metrics: MetricData[], name: string): HistogramMetricData {
  const m = metrics.find((x) => x.descriptor.name === name);
  expect(m, name).toBeDefined();
  expect(m!.dataPointType).toBe(DataPointType.HISTOGRAM);
  return m as HistogramMetricData;
}

describe('tracer.generate', () => {
  it('records prefill and decode spans, the first-token event, token counts and the generation histograms', async () => {
    const exporter = new InMemorySpanExporter();
    const reader = new CollectingReader();
    tracing = setupTracing({ exporter: { spanExporter: exporter }, metrics: { readers: [reader], otlp: false }, scheduledDelayMillis: 10 });
    const tracer = createInferenceTracer({ model: 'tiny-lm' });
    let firstTokenAt = 0;
    let beforeFirstToken = 0;
    const before = performance.now();
    const answer = await tracer.generate(async (req) => {
      req.setInputTokens(12);
      req.setCachedTokens(4);
      await req.queue(() => sleep(3));
      await req.prefill(() => sleep(8));
      beforeFirstToken = performance.now();
      req.token();
      firstTokenAt = performance.now();
      await req.decode(async () => {
        for (let i = 0; i < 9; i++) {
          await sleep(1);
          req.token();
        }
      }, 3);
      return { tokens: req.outputTokens };
    });
    const after = performance.now();
    expect(answer).toEqual({ tokens: 10 });
    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.attributes[ATTR.MODEL_NAME] === 'tiny-lm')!;
    expect(request.attributes).toMatchObject({ [ATTR.TOKENS_OUTPUT]: 10, [ATTR.TOKENS_INPUT]: 12, [ATTR.TOKENS_CACHED]: 4 });
    const phases = spans.filter((s) => s.attributes[ATTR.PHASE] !== undefined);
    expect(phases.map((s) => s.attributes[ATTR.PHASE]).sort()).toEqual(['decode', 'prefill', 'queue']);
    expect(phases.find((s) => s.attributes[ATTR.PHASE] === 'decode')!.attributes[ATTR.BATCH_SIZE]).toBe(3);
    // Exactly one event, however many tokens: tokens are counters, not spans or events.
    expect(request.events.map((e) => e.name)).toEqual([FIRST_TOKEN_EVENT]);
    const prefill = phases.find((s) => s.attributes[ATTR.PHASE] === 'prefill')!;
    const eventMs = hrMs(request.events[0]!.time);
    expect(eventMs).toBeGreaterThanOrEqual(hrMs(prefill.endTime));
    expect(eventMs).toBeLessThanOrEqual(hrMs(request.endTime));
    expect(spans).toHaveLength(4);

    const metrics = await reader.metrics();
    const ttft = histogram(metrics, TRACER_METRICS.TIME_TO_FIRST_TOKEN.name);
    expect(ttft.descriptor.unit).toBe('s');
    const ttftPoint = ttft.dataPoints[0]!;
    expect(ttftPoint.attributes).toEqual({ [ATTR.MODEL_NAME]: 'tiny-lm' });
    expect(ttftPoint.value.count).toBe(1);
    // The tracer's TTFT and TPOT lie within what the caller saw around the call.
    // Queue 3 ms + prefill 8 ms.
    expect(ttftPoint.value.sum! * 1000).toBeGreaterThanOrEqual(11 - TIMER_SLACK_MS);
    expect(ttftPoint.value.sum! * 1000).toBeLessThanOrEqual(firstTokenAt - before + 1e-6);
    const tpot = histogram(metrics, TRACER_METRICS.TIME_PER_OUTPUT_TOKEN.name).dataPoints[0]!;
    expect(tpot.value.sum! * 1000).toBeGreaterThanOrEqual(0.9);
    expect(tpot.value.sum! * 1000).toBeLessThanOrEqual((after - beforeFirstToken) / 9 + 1e-6);
    const tokens = histogram(metrics, TRACER_METRICS.TOKENS.name);
    const byType = Object.fromEntries(tokens.dataPoints.map((p) => [p.attributes[ATTR.TOKEN_TYPE], p.value.sum]));
    expect(byType).toEqual({ output: 10, input: 12, cached: 4 });
  });

  it('counts chunks and async iterators, and passes errors through after recording the tokens', async () => {
    const exporter = new InMemorySpanExporter();
    tracing = setupTracing({ exporter: { spanExporter: exporter }, metrics: false, scheduledDelayMillis: 10 });
    const tracer = createInferenceTracer({ model: 'tiny-lm' });
    async function* model(): AsyncGenerator<string> {
      for (const chunk of ['ab', 'cde', 'f']) {
        await sleep(1);
        yield chunk;
      }
    }
    const seen: string[] = [];
    const failure = new Error('client went away');
    await expect(
      tracer.generate(async (req) => {
        for await (const chunk of req.stream(model(), (c) => c.length)) seen.push(chunk);
        req.tokens(Number.NaN);
        req.tokens(-3);
        for await (const x of req.stream([1, 2], () => {
          throw new Error('bad count');
        }))
          seen.push(String(x));
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(seen).toEqual(['ab', 'cde', 'f', '1', '2']);
    const sync = tracer.generate((req) => {
      req.tokens(5);
      return 'done';
    });
    expect(sync).toBe('done');
    await tracing.forceFlush();
    const requests = exporter.getFinishedSpans().filter((s) => s.attributes[ATTR.MODEL_NAME] === 'tiny-lm');
    expect(requests.map((s) => s.attributes[ATTR.TOKENS_OUTPUT]).sort()).toEqual([5, 6]);
    expect(requests.find((s) => s.attributes[ATTR.TOKENS_OUTPUT] === 6)!.status.code).toBe(2);
  });

  it('takes a chunk count that rounds to no token as none: no first token, no TTFT (trace file)', async () => {
    const file = join(dir, 'fraction.jsonl');
    tracing = setupTracing({ exporter: { file }, metrics: false });
    const tracer = createInferenceTracer({ model: 'fraction-lm' });
    const counted = tracer.generate((req) => {
      req.tokens(0.4);
      return req.outputTokens;
    });
    expect(counted).toBe(0);
    await tracing.shutdown();
    tracing = undefined;
    const result = await analyzeFiles([file], { diagnose: false });
    expect(result.requests).toBe(1);
    // Before: a first-token event with 0 tokens made the request generative, with a TTFT.
    expect(result.overall!.generation).toBeUndefined();
  });

  it('works untraced before setupTracing', async () => {
    const tracer = createInferenceTracer({ model: 'tiny-lm' });
    const out = await tracer.generate(async (req) => {
      await req.prefill(() => sleep(1));
      for (let i = 0; i < 100; i++) req.token();
      return req.outputTokens;
    });
    expect(out).toBe(100);
  });
});

describe('tracer.generate behind an express SSE endpoint', () => {
  it('streams tokens to a real client; the analysed spans give the client’s token count and a TTFT below the client’s', async () => {
    const exporter = new InMemorySpanExporter();
    tracing = setupTracing({ serviceName: 'sse-lm', exporter: { spanExporter: exporter }, metrics: false, scheduledDelayMillis: 10 });
    const tracer = createInferenceTracer({ model: 'sse-lm' });
    const app = express();
    app.get('/generate', (httpReq, res) => {
      const n = Number(httpReq.query['n']);
      void tracer.generate(async (req) => {
        req.setInputTokens(7);
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.flushHeaders();
        await req.prefill(() => sleep(6));
        async function* tokens(): AsyncGenerator<string> {
          for (let i = 0; i < n; i++) {
            if (i > 0) await sleep(1);
            yield `t${i}`;
          }
        }
        await req.decode(async () => {
          for await (const t of req.stream(tokens())) res.write(`data: ${t}\n\n`);
        });
        res.end('event: done\ndata: \n\n');
      });
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const clientTtft: number[] = [];
    const clientTokens: number[] = [];
    try {
      for (let r = 0; r < 6; r++) {
        const start = performance.now();
        const response = await fetch(`http://127.0.0.1:${port}/generate?n=${10 + r}`);
        const reader = response.body!.getReader();
        const decoder = new TextDecoder();
        let text = '';
        let first: number | undefined;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
          if (first === undefined && text.includes('data: t0')) first = performance.now() - start;
        }
        clientTtft.push(first!);
        clientTokens.push((text.match(/^data: t\d+$/gm) ?? []).length);
      }
    } finally {
      server.close();
    }
    await tracing.forceFlush();
    const file = join(dir, 'sse.json');
    writeFileSync(file, JSON.stringify(spansToTracesData(exporter.getFinishedSpans())));
    const result = await analyzeFiles([file], { diagnose: false });
    expect(result.requests).toBe(6);
    const g = result.overall!.generation!;
    expect(clientTokens).toEqual([10, 11, 12, 13, 14, 15]);
    expect(g.tokensOut!.max).toBe(15);
    expect(g.tokensOut!.count).toBe(6);
    expect(g.tokensIn!.p50).toBe(7);
    expect(g.ttft!.count).toBe(6);
    // Server-side TTFT (span start → first token) is inside what the client waited for it.
    expect(g.ttft!.maxMs).toBeLessThanOrEqual(Math.max(...clientTtft));
    expect(g.ttft!.p50Ms).toBeGreaterThanOrEqual(6 - TIMER_SLACK_MS);
    expect(g.tpot!.count).toBe(6);
    expect(result.overall!.phases.prefill!.present).toBe(6);
    expect(result.overall!.phases.decode!.present).toBe(6);
  });
});
