/**
 * A service that already runs its own OpenTelemetry SDK: the instrumentation (infer and its
 * phases, runBatch, the express middleware, the fetch client span, the histograms) works through
 * whatever the service registered, without `setupTracing` and without a second SDK.
 *
 * Two services: one on this project's SDK 2.x (always), and, when LD_OTEL3_DIR names a directory
 * where `.ci/run` installed OpenTelemetry JS 3.x together with the packed latency-doctor
 * (Node 24 only: the 3.x line needs Node >= 22.15), one on the 3.x SDK with @opentelemetry/api
 * 1.10, loading the installed package both by `require` and by `import`.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** What the scenario needs from an SDK generation: the service's own set-up. */
interface ServiceSdk {
  readonly require: NodeRequire;
  /** Starts the service's SDK; returns its finished spans and metric names, and a shutdown. */
  start(): { spans(): { name: string; traceId: string; spanId: string; parentId: string | undefined; attributes: Record<string, unknown> }[]; metricNames(): Promise<string[]>; shutdown(): Promise<void> };
}

type TracerModule = typeof import('../../src/tracer/index.js');

/** The scenario a real service runs, on `tracing` (the package) and `service` (its SDK). */
async function serve(tracing: TracerModule, service: ServiceSdk): Promise<void> {
  const sdk = service.start();
  const express = service.require('express') as typeof import('express');
  const tracer = tracing.createInferenceTracer({ model: 'own-sdk', runtime: 'onnxruntime' });
  const app = express();
  app.use(tracing.expressMiddleware());
  app.post('/predict', express.raw({ type: () => true }), async (httpReq, res) => {
    const out = await tracer.infer(async (req) => {
      req.setRequestSize((httpReq.body as Buffer).length);
      const input = req.serialize(() => JSON.parse((httpReq.body as Buffer).toString('utf8')) as number[]);
      return req.compute(async () => input.reduce((a, b) => a + b, 0));
    });
    res.json({ out });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/predict`;
    const response = await tracer.fetch(url, { method: 'POST', body: '[1,2,3]', headers: { 'content-type': 'application/json' } });
    expect(await response.json()).toEqual({ out: 6 });

    // A batcher in the same service.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const tickets: ReturnType<import('../../src/tracer/index.js').InferenceRequest['enqueue']>[] = [];
    const members = [1, 2].map(() => tracer.infer(async (req) => {
      tickets.push(req.enqueue());
      await released;
    }));
    tracer.runBatch(tickets, () => 'ran');
    release();
    await Promise.all(members);

    const spans = sdk.spans();
    const client = spans.find((s) => s.name === 'call own-sdk')!;
    const request = spans.find((s) => s.name === 'infer own-sdk' && s.traceId === client.traceId)!;
    // The server continued the caller's trace: the request span sits under the client span.
    expect(request.parentId).toBe(client.spanId);
    expect(spans.filter((s) => s.traceId === client.traceId).map((s) => s.name).sort()).toEqual(['call own-sdk', 'compute', 'infer own-sdk', 'serialize']);
    expect(spans.filter((s) => s.name === 'inference.batch')).toHaveLength(1);
    expect(spans.filter((s) => s.name === 'compute' && s.attributes['inference.batch.size'] === 2)).toHaveLength(2);
    expect(await sdk.metricNames()).toEqual(expect.arrayContaining(['inference.phase.duration', 'inference.request.duration', 'inference.batch.size']));
  } finally {
    server.close();
    await sdk.shutdown();
    // NodeSDK leaves its globals registered; the next service in this process registers its own.
    const api = service.require('@opentelemetry/api') as typeof import('@opentelemetry/api');
    api.trace.disable();
    api.context.disable();
    api.propagation.disable();
    api.metrics.disable();
    // The first API to register stamps its version on the global slot, and an API of another
    // version then refuses to register: clear the slot so the next service starts clean.
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('opentelemetry.js.api.1')];
  }
}

type SpanLike = { name: string; spanContext(): { traceId: string; spanId: string }; parentSpanContext?: { spanId: string }; parentSpanId?: string; attributes: Record<string, unknown> };
type MetricsLike = { scopeMetrics: { metrics: { descriptor: { name: string } }[] }[] }[];

/** The service's SDK from the packages `require` finds: NodeSDK + in-memory span and metric exporters. */
function serviceSdk(require: NodeRequire, traceModule: string, generation: 2 | 3): ServiceSdk {
  return {
    require,
    start() {
      const { NodeSDK } = require('@opentelemetry/sdk-node');
      const { InMemorySpanExporter, SimpleSpanProcessor } = require(traceModule);
      const { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
      const spanExporter = new InMemorySpanExporter();
      const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
      const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
      // SDK 3.x takes its processor's exporter in an options object.
      const processor = generation === 3 ? new SimpleSpanProcessor({ exporter: spanExporter }) : new SimpleSpanProcessor(spanExporter);
      const sdk = new NodeSDK({ spanProcessors: [processor], metricReaders: [reader], logRecordProcessors: [], autoDetectResources: false });
      sdk.start();
      return {
        spans: () =>
          (spanExporter.getFinishedSpans() as SpanLike[]).map((s) => ({
            name: s.name,
            traceId: s.spanContext().traceId,
            spanId: s.spanContext().spanId,
            parentId: s.parentSpanContext?.spanId ?? s.parentSpanId,
            attributes: s.attributes,
          })),
        metricNames: async () => {
          await reader.forceFlush();
          return (metricExporter.getMetrics() as MetricsLike).flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)));
        },
        shutdown: () => sdk.shutdown(),
      };
    },
  };
}

describe('a service with its own SDK 2.x (this project’s)', () => {
  it('records through the provider the service registered, with no setupTracing', async () => {
    const tracing = await import('../../src/tracer/index.js');
    await serve(tracing, serviceSdk(createRequire(import.meta.url), '@opentelemetry/sdk-trace-base', 2));
  }, 60_000);
});

const otel3 = process.env['LD_OTEL3_DIR'];
describe.skipIf(otel3 === undefined)('a Node 24 service with its own OpenTelemetry JS 3.x SDK (LD_OTEL3_DIR)', () => {
  const require = createRequire(join(otel3 ?? process.cwd(), 'package.json'));
  const service = serviceSdk(require, '@opentelemetry/sdk-trace', 3);

  it('uses the installed SDK 3.x and API 1.10', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
    const version = (name: string): string => (JSON.parse(readFileSync(join(otel3!, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    expect(version('@opentelemetry/api')).toBe('1.10.0');
    expect(version('@opentelemetry/sdk-trace')).toMatch(/^3\./);
    expect(version('@opentelemetry/sdk-node')).toMatch(/^0\.3\d\d\./);
    // The installed package has no API of its own: it uses the service's.
    const installed = join(otel3!, 'node_modules/latency-doctor/node_modules/@opentelemetry');
    const nested = (() => {
      try {
        return readdirSync(installed);
      } catch {
        return [];
      }
    })();
    expect(nested).not.toContain('api');
    expect(JSON.parse(readFileSync(join(otel3!, 'node_modules/latency-doctor/package.json'), 'utf8')).peerDependencies['@opentelemetry/api']).toBeDefined();
  });

  it('works when the service require()s latency-doctor/tracer', async () => {
    await serve(require('latency-doctor/tracer') as TracerModule, service);
  }, 60_000);

  it('works when the service imports latency-doctor/tracer as an ES module', async () => {
    const entry = join(otel3!, 'node_modules/latency-doctor/dist/tracer/index.js');
    await serve((await import(pathToFileURL(entry).href)) as TracerModule, service);
  }, 60_000);
});
