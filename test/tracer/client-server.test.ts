/**
 * Client and server over real HTTP on loopback: `tracer.fetch` on the caller's side injects W3C
 * traceparent into a CLIENT span; the express middleware on the server continues the trace, so
 * the request span `infer` records inside the handler is the client span's child. Also the
 * standard OTEL_* variables: service name, endpoint, sampler.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR, ROLE_CLIENT } from '../../src/semconv.js';
import { createInferenceTracer, expressMiddleware, setupTracing, traceClientCall } from '../../src/tracer/index.js';
import type { TracingHandle } from '../../src/tracer/index.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import type { OtlpReceiver } from '../support/otlp-receiver.js';

let tracing: TracingHandle | undefined;
let server: Server | undefined;
let receiver: OtlpReceiver | undefined;
const savedEnv = { ...process.env };

afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
  if (server !== undefined) await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = undefined;
  await receiver?.close();
  receiver = undefined;
  process.env = { ...savedEnv };
});

async function listen(app: express.Express): Promise<string> {
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('client → HTTP → express server', () => {
  it('makes the server request span a child of the client span and records HTTP outcome', async () => {
    const memory = new InMemorySpanExporter();
    tracing = setupTracing({ serviceName: 'both-sides', exporter: { spanExporter: memory }, metrics: false, scheduledDelayMillis: 10 });
    const tracer = createInferenceTracer({ model: 'mnist', runtime: 'onnxruntime' });
    const app = express();
    app.use(expressMiddleware());
    app.post('/predict', express.json(), async (req, res) => {
      const answer = await tracer.infer(async (r) => {
        const input = r.preprocess(() => (req.body as { x: number[] }).x.map((v) => v / 255));
        const out = await r.compute(async () => input.reduce((a, b) => a + b, 0));
        return r.serialize(() => JSON.stringify({ out }));
      });
      res.type('application/json').send(answer);
    });
    app.post('/fail', (_req, res) => {
      res.status(503).send('overloaded');
    });
    const base = await listen(app);

    const response = await tracer.fetch(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ x: [255, 510] }),
    });
    expect(await response.json()).toEqual({ out: 3 });
    const failed = await tracer.fetch(`${base}/fail`, { method: 'POST' });
    expect(failed.status).toBe(503);
    await tracing.forceFlush();

    const spans = memory.getFinishedSpans();
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(clients).toHaveLength(2);
    const [ok, bad] = [clients.find((s) => s.attributes['http.response.status_code'] === 200)!, clients.find((s) => s.attributes['http.response.status_code'] === 503)!];
    expect(ok.attributes[ATTR.ROLE]).toBe(ROLE_CLIENT);
    expect(ok.attributes[ATTR.MODEL_NAME]).toBe('mnist');
    expect(ok.status.code).toBe(SpanStatusCode.UNSET);
    expect(bad.status.code).toBe(SpanStatusCode.ERROR);
    const request = spans.find((s) => s.name === 'infer mnist')!;
    expect(request.kind).toBe(SpanKind.SERVER);
    expect(request.spanContext().traceId).toBe(ok.spanContext().traceId);
    expect(request.parentSpanContext?.spanId).toBe(ok.spanContext().spanId);
    expect(request.parentSpanContext?.isRemote).toBe(true);
    const phases = spans.filter((s) => s.parentSpanContext?.spanId === request.spanContext().spanId);
    expect(phases.map((s) => s.attributes[ATTR.PHASE]).sort()).toEqual(['compute', 'preprocess', 'serialize']);
  });

  it('wraps any transport with traceClientCall and hands it the traceparent header', async () => {
    const memory = new InMemorySpanExporter();
    tracing = setupTracing({ exporter: { spanExporter: memory }, metrics: false });
    const sent: Record<string, string>[] = [];
    const reply = await traceClientCall(async (headers) => {
      sent.push(headers);
      return 'reply';
    }, { model: 'gpt-small', requestSize: 512 });
    expect(reply).toBe('reply');
    await tracing.forceFlush();
    const [client] = memory.getFinishedSpans();
    expect(sent[0]!['traceparent']).toBe(`00-${client!.spanContext().traceId}-${client!.spanContext().spanId}-01`);
    expect(client!.attributes).toMatchObject({ [ATTR.ROLE]: ROLE_CLIENT, [ATTR.MODEL_NAME]: 'gpt-small', [ATTR.REQUEST_SIZE]: 512 });
  });

  it('continues a trace from headers given to infer directly (any header shape)', async () => {
    const memory = new InMemorySpanExporter();
    tracing = setupTracing({ exporter: { spanExporter: memory }, metrics: false });
    const tracer = createInferenceTracer({ model: 'm' });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    tracer.infer(() => undefined, { headers: new Headers({ TraceParent: `00-${traceId}-00f067aa0ba902b7-01` }) });
    tracer.infer(() => undefined, { headers: { Traceparent: `00-${traceId}-00f067aa0ba902b8-01` } });
    await tracing.forceFlush();
    const spans = memory.getFinishedSpans();
    expect(spans.map((s) => s.spanContext().traceId)).toEqual([traceId, traceId]);
    expect(spans.map((s) => s.parentSpanContext?.spanId)).toEqual(['00f067aa0ba902b7', '00f067aa0ba902b8']);
  });
});

describe('standard OTEL_* variables', () => {
  it('takes the endpoint and service name from OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME', async () => {
    receiver = await startOtlpReceiver();
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = receiver.endpoint;
    process.env['OTEL_SERVICE_NAME'] = 'from-env';
    tracing = setupTracing({ metrics: false, scheduledDelayMillis: 10 });
    expect(tracing.exporterKind).toBe('otlp');
    expect(tracing.serviceName).toBe('from-env');
    createInferenceTracer({ model: 'env-model' }).infer(() => 1);
    const [span] = await receiver.waitForSpans(1);
    expect(span!.service).toBe('from-env');
    expect(span!.attributes[ATTR.MODEL_NAME]).toBe('env-model');
  });

  it('honours OTEL_TRACES_SAMPLER: always_off records no span but keeps the metrics', async () => {
    process.env['OTEL_TRACES_SAMPLER'] = 'always_off';
    const memory = new InMemorySpanExporter();
    tracing = setupTracing({ exporter: { spanExporter: memory }, metrics: false });
    const tracer = createInferenceTracer({ model: 'm' });
    expect(tracer.infer((req) => req.compute(() => 'unsampled'))).toBe('unsampled');
    await tracing.forceFlush();
    expect(memory.getFinishedSpans()).toHaveLength(0);
  });

  it('honours OTEL_TRACES_SAMPLER_ARG with traceidratio', async () => {
    process.env['OTEL_TRACES_SAMPLER'] = 'traceidratio';
    process.env['OTEL_TRACES_SAMPLER_ARG'] = '0.25';
    const memory = new InMemorySpanExporter();
    tracing = setupTracing({ exporter: { spanExporter: memory }, metrics: false, maxQueueSize: 4096 });
    const tracer = createInferenceTracer({ model: 'm' });
    for (let i = 0; i < 2000; i += 1) tracer.infer((req) => req.compute(() => i));
    await tracing.forceFlush();
    const requests = memory.getFinishedSpans().filter((s) => s.attributes[ATTR.MODEL_NAME] === 'm').length;
    // Binomial(2000, 0.25): mean 500, sd ≈ 19; ±5 sd.
    expect(requests).toBeGreaterThan(400);
    expect(requests).toBeLessThan(600);
    // Phase spans follow their request's decision.
    expect(memory.getFinishedSpans()).toHaveLength(requests * 2);
  });

  it('writes to ./traces.jsonl-style file when no endpoint is configured', () => {
    delete process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
    delete process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
    tracing = setupTracing({ exporter: {}, metrics: false });
    expect(tracing.exporterKind).toBe('file');
    expect(tracing.destination).toBe('./traces.jsonl');
  });
});
