/**
 * setupTracing in a real service's settings: no span lost in a start-up burst, every span that
 * never left counted (also when shutdown gives up), the standard OTEL_BSP_* and
 * OTEL_EXPORTER_OTLP_* variables honoured (OTLP/HTTP included, against a real loopback HTTP
 * receiver) with options set in code winning, absorbed failures visible through `diag`, and
 * export errors reported in one clean line.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { diag, DiagLogLevel, trace } from '@opentelemetry/api';
import type { Tracer, TracerProvider } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createInferenceTracer, setupTracing } from '../../src/tracer/index.js';
import type { TracingHandle } from '../../src/tracer/index.js';
import { exportError } from '../../src/tracer/bounded-span-processor.js';
import { decodeMetricsExport, decodeTraceExport } from '../support/otlp-receiver.js';
import type { ReceivedSpan } from '../support/otlp-receiver.js';

let tracing: TracingHandle | undefined;
let warnings: string[] = [];
const savedEnv = { ...process.env };

afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  diag.disable();
  warnings = [];
});

/** A SpanExporter that keeps every batch it got (answering at once, or never). */
class RecordingExporter implements SpanExporter {
  readonly batches: ReadableSpan[][] = [];
  constructor(private readonly answer: boolean = true) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.batches.push(spans);
    if (this.answer) done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
  count(): number {
    return this.batches.reduce((n, b) => n + b.length, 0);
  }
}

const onWarning = (m: string): void => {
  warnings.push(m);
};

describe('exporter { none: true }', () => {
  it('records spans (trace ids, sampling) and exports none, as documented', async () => {
    tracing = setupTracing({ exporter: { none: true }, metrics: false, onWarning });
    expect(tracing.exporterKind).toBe('none');
    const tracer = createInferenceTracer({ model: 'nowhere' });
    const traceId = tracer.infer((req) => req.compute(() => req.traceId));
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(tracing.droppedSpans().total).toBe(0);
    expect(warnings).toEqual([]);
  });
});

describe('start-up', () => {
  it('drops no span of a 10,000-span burst right after setupTracing', async () => {
    const exporter = new RecordingExporter();
    warnings = [];
    tracing = setupTracing({ exporter: { spanExporter: exporter }, metrics: false, onWarning });
    const tracer = createInferenceTracer({ model: 'burst' });
    // Requests arrive in turns of 100 before any timer or I/O callback of the process has run:
    // what a service that starts under load sees in its first milliseconds.
    for (let i = 0; i < 10_000; i += 1) {
      tracer.infer(() => i);
      if (i % 100 === 99) await Promise.resolve();
    }
    expect(tracing.droppedSpans()).toEqual({ queueFull: 0, exportFailed: 0, unsentAtShutdown: 0, total: 0 });
    await tracing.shutdown();
    expect(exporter.count()).toBe(10_000);
    expect(tracing.droppedSpans().total).toBe(0);
    expect(warnings).toEqual([]);
  });
});

describe('droppedSpans()', () => {
  it('counts the spans still queued or in flight when shutdown stops waiting for a hung exporter', async () => {
    const exporter = new RecordingExporter(false);
    tracing = setupTracing({
      exporter: { spanExporter: exporter },
      metrics: false,
      maxExportBatchSize: 10,
      exportTimeoutMillis: 300,
      onWarning,
    });
    const tracer = createInferenceTracer({ model: 'hung' });
    for (let i = 0; i < 95; i += 1) tracer.infer(() => i);
    await tracing.shutdown();
    const dropped = tracing.droppedSpans();
    // Every span produced is accounted for: none was delivered.
    expect(dropped.total).toBe(95);
    expect(dropped.queueFull).toBe(0);
  });
});

describe('standard OTEL_BSP_* variables', () => {
  it('take the batch size and delay from the environment, and options set in code win', async () => {
    process.env['OTEL_BSP_MAX_EXPORT_BATCH_SIZE'] = '7';
    process.env['OTEL_BSP_SCHEDULE_DELAY'] = '15';
    const exporter = new RecordingExporter();
    tracing = setupTracing({ exporter: { spanExporter: exporter }, metrics: false, onWarning });
    const tracer = createInferenceTracer({ model: 'bsp' });
    for (let i = 0; i < 20; i += 1) tracer.infer(() => i);
    // No flush: the 15 ms schedule from the environment sends them (the default waits 1 s).
    const deadline = Date.now() + 900;
    while (exporter.count() < 20 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(exporter.count()).toBe(20);
    expect(Math.max(...exporter.batches.map((b) => b.length))).toBe(7);
    await tracing.shutdown();

    const inCode = new RecordingExporter();
    tracing = setupTracing({ exporter: { spanExporter: inCode }, metrics: false, maxExportBatchSize: 4, onWarning });
    for (let i = 0; i < 20; i += 1) tracer.infer(() => i);
    await tracing.forceFlush();
    expect(inCode.count()).toBe(20);
    expect(Math.max(...inCode.batches.map((b) => b.length))).toBe(4);
  });

  it('caps the queue at OTEL_BSP_MAX_QUEUE_SIZE', async () => {
    process.env['OTEL_BSP_MAX_QUEUE_SIZE'] = '30';
    const exporter = new RecordingExporter(false);
    tracing = setupTracing({ exporter: { spanExporter: exporter }, metrics: false, maxExportBatchSize: 10, exportTimeoutMillis: 200, onWarning });
    const tracer = createInferenceTracer({ model: 'bsp' });
    for (let i = 0; i < 100; i += 1) tracer.infer(() => i);
    // 10 handed to the (hung) exporter, 30 queued, the rest dropped.
    expect(tracing.droppedSpans().queueFull).toBe(60);
  });
});

interface HttpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  readonly metricBodies: Record<string, unknown>[];
  readonly requests: { path: string; contentType: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A real OTLP/HTTP receiver on 127.0.0.1 (ephemeral port): protobuf or JSON bodies at /v1/*. */
async function startHttpReceiver(): Promise<HttpReceiver> {
  const spans: ReceivedSpan[] = [];
  const metricBodies: Record<string, unknown>[] = [];
  const requests: HttpReceiver['requests'] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const contentType = String(request.headers['content-type'] ?? '');
      const path = request.url ?? '';
      requests.push({ path, contentType, headers: request.headers });
      const json = contentType.includes('json');
      if (path === '/v1/traces') {
        if (json) {
          const parsed = JSON.parse(body.toString('utf8')) as { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] };
          for (const rs of parsed.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ name: s.name } as ReceivedSpan);
        } else {
          spans.push(...decodeTraceExport(body));
        }
      } else if (path === '/v1/metrics' && !json) {
        metricBodies.push(decodeMetricsExport(body));
      }
      response.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    metricBodies,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('OTLP exporter settings', () => {
  it('sends http/protobuf to OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces with OTEL_EXPORTER_OTLP_HEADERS, metrics too', async () => {
    const receiver = await startHttpReceiver();
    try {
      process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = receiver.url;
      process.env['OTEL_EXPORTER_OTLP_PROTOCOL'] = 'http/protobuf';
      process.env['OTEL_EXPORTER_OTLP_HEADERS'] = 'x-tenant=blue';
      tracing = setupTracing({ serviceName: 'http-svc', metrics: { otlp: { intervalMillis: 60_000 } }, onWarning });
      expect(tracing.exporterKind).toBe('otlp');
      const tracer = createInferenceTracer({ model: 'resnet' });
      await tracer.infer(async (req) => req.compute(async () => 1));
      await tracing.shutdown();
      const traceRequests = receiver.requests.filter((r) => r.path === '/v1/traces');
      expect(traceRequests.length).toBeGreaterThan(0);
      expect(traceRequests[0]!.contentType).toBe('application/x-protobuf');
      expect(traceRequests[0]!.headers['x-tenant']).toBe('blue');
      expect(receiver.spans.map((s) => s.name).sort()).toEqual(['compute', 'infer resnet']);
      expect(receiver.spans[0]!.service).toBe('http-svc');
      // The phase histogram went the same way, over OTLP/HTTP as well.
      expect(JSON.stringify(receiver.metricBodies)).toContain('inference.phase.duration');
      expect(warnings, warnings.join('\n')).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('lets the protocol and endpoint set in code win over the environment (http/json too)', async () => {
    const receiver = await startHttpReceiver();
    try {
      process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://127.0.0.1:9';
      process.env['OTEL_EXPORTER_OTLP_PROTOCOL'] = 'grpc';
      tracing = setupTracing({ exporter: { otlpEndpoint: receiver.url, protocol: 'http/protobuf' }, metrics: false, onWarning });
      createInferenceTracer({ model: 'a' }).infer(() => 1);
      await tracing.shutdown();
      expect(receiver.spans.map((s) => s.name)).toEqual(['infer a']);

      tracing = setupTracing({ exporter: { otlpEndpoint: `${receiver.url}/v1/traces`, protocol: 'http/json' }, metrics: false, onWarning });
      createInferenceTracer({ model: 'b' }).infer(() => 1);
      await tracing.shutdown();
      expect(receiver.requests.at(-1)).toMatchObject({ path: '/v1/traces', contentType: 'application/json' });
      expect(receiver.spans.map((s) => s.name)).toEqual(['infer a', 'infer b']);
      expect(warnings).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('warns once about an unknown OTEL_EXPORTER_OTLP_PROTOCOL and falls back to gRPC', async () => {
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://127.0.0.1:9';
    process.env['OTEL_EXPORTER_OTLP_PROTOCOL'] = 'carrier-pigeon';
    warnings = [];
    tracing = setupTracing({ metrics: false, onWarning });
    expect(tracing.exporterKind).toBe('otlp');
    expect(warnings).toEqual(['latency-doctor tracer: OTEL_EXPORTER_OTLP_PROTOCOL=carrier-pigeon is not one of grpc, http/protobuf, http/json; using grpc']);
  });
});

describe('failures the tracer absorbs', () => {
  it('reports them through OpenTelemetry diag', async () => {
    const logged: string[] = [];
    const collect = (message: string): void => {
      logged.push(message);
    };
    diag.setLogger({ error: collect, warn: collect, info: collect, debug: collect, verbose: collect }, DiagLogLevel.DEBUG);
    const broken: Tracer = {
      startSpan: () => {
        throw new Error('tracer exploded');
      },
      startActiveSpan: () => {
        throw new Error('tracer exploded');
      },
    } as unknown as Tracer;
    const provider: TracerProvider = { getTracer: () => broken };
    trace.setGlobalTracerProvider(provider);
    try {
      const tracer = createInferenceTracer({ model: 'diag' });
      expect(tracer.infer(() => 'still works')).toBe('still works');
      expect(tracer.clientCall(() => 'also works')).toBe('also works');
    } finally {
      trace.disable();
    }
    expect(logged.some((m) => m.includes('starting a request span failed: tracer exploded'))).toBe(true);
    expect(logged.some((m) => m.includes('starting a client span failed: tracer exploded'))).toBe(true);
  });

  it('shows an export error as one clean line (no empty gRPC "Resolution note:")', () => {
    const grpc = new Error('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9. Resolution note: ');
    expect(exportError(grpc)).toBe('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9');
    expect(exportError(new Error('Resolution note: dns failed'))).toBe('Resolution note: dns failed');
    expect(exportError(undefined)).toBe('unknown error');
  });
});

describe('resource attributes', () => {
  /** The resource of the first batch in an OTLP JSON lines trace file, as a flat record. */
  function fileResource(file: string): Record<string, unknown> {
    const first = JSON.parse(readFileSync(file, 'utf8').split('\n')[0]!) as {
      resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] } }[];
    };
    return Object.fromEntries(first.resourceSpans[0]!.resource.attributes.map((a) => [a.key, a.value.stringValue]));
  }

  it('set in code win over the detectors and OTEL_RESOURCE_ATTRIBUTES (trace file fallback)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ld-resource-'));
    try {
      process.env['OTEL_RESOURCE_ATTRIBUTES'] = 'service.version=1.0,deployment.environment.name=prod';
      const file = join(dir, 'code.jsonl');
      tracing = setupTracing({ serviceName: 'svc', exporter: { file }, metrics: false, onWarning, resourceAttributes: { 'host.name': 'gpu-node-7', 'service.version': '2.0' } });
      createInferenceTracer({ model: 'm' }).infer((req) => req.compute(() => 1));
      await tracing.shutdown();
      const resource = fileResource(file);
      expect(resource['host.name']).toBe('gpu-node-7'); // the host detector found this machine's name
      expect(resource['service.version']).toBe('2.0');
      expect(resource['deployment.environment.name']).toBe('prod');
      expect(resource['service.name']).toBe('svc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('take OTEL_SERVICE_NAME whichever detectors OTEL_NODE_RESOURCE_DETECTORS names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ld-resource-'));
    try {
      process.env['OTEL_SERVICE_NAME'] = 'from-env';
      process.env['OTEL_NODE_RESOURCE_DETECTORS'] = 'host';
      const file = join(dir, 'env.jsonl');
      tracing = setupTracing({ exporter: { file }, metrics: false, onWarning });
      expect(tracing.serviceName).toBe('from-env');
      createInferenceTracer({ model: 'm' }).infer((req) => req.compute(() => 1));
      await tracing.shutdown();
      expect(fileResource(file)['service.name']).toBe('from-env');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OTEL_TRACES_EXPORTER', () => {
  it('none: spans are recorded, nothing is exported and no trace file is written', async () => {
    process.env['OTEL_TRACES_EXPORTER'] = 'none';
    const before = existsSync('traces.jsonl');
    tracing = setupTracing({ metrics: false, onWarning });
    expect(tracing.exporterKind).toBe('none');
    const traceId = createInferenceTracer({ model: 'm' }).infer((req) => req.compute(() => req.traceId));
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await tracing.shutdown();
    expect(existsSync('traces.jsonl')).toBe(before);
    expect(warnings).toEqual([]);
  });

  it('console: spans go to the console exporter; otlp: OTLP at the default endpoint; the exporter set in code wins', async () => {
    process.env['OTEL_TRACES_EXPORTER'] = 'console';
    const printed: unknown[] = [];
    const dir = vi.spyOn(console, 'dir').mockImplementation((value) => void printed.push(value));
    try {
      tracing = setupTracing({ metrics: false, onWarning });
      expect(tracing.exporterKind).toBe('custom');
      createInferenceTracer({ model: 'm' }).infer((req) => req.compute(() => 1));
      await tracing.shutdown();
    } finally {
      dir.mockRestore();
    }
    expect(printed.map((p) => (p as { name: string }).name).sort()).toEqual(['compute', 'infer m']);

    process.env['OTEL_TRACES_EXPORTER'] = 'otlp';
    process.env['OTEL_EXPORTER_OTLP_PROTOCOL'] = 'http/protobuf';
    tracing = setupTracing({ metrics: false, onWarning });
    expect([tracing.exporterKind, tracing.destination]).toEqual(['otlp', 'http://localhost:4318/v1/traces']);
    await tracing.shutdown();

    process.env['OTEL_TRACES_EXPORTER'] = 'none';
    const file = join(mkdtempSync(join(tmpdir(), 'ld-exporter-')), 'code.jsonl');
    tracing = setupTracing({ exporter: { file }, metrics: false, onWarning });
    expect(tracing.exporterKind).toBe('file');
    await tracing.shutdown();
    expect(warnings).toEqual([]);
  });
});

describe('OTEL_SDK_DISABLED', () => {
  it('true: nothing is recorded, exported, written or served, and the handle says so', async () => {
    process.env['OTEL_SDK_DISABLED'] = 'true';
    const dir = mkdtempSync(join(tmpdir(), 'ld-disabled-'));
    try {
      const file = join(dir, 'traces.jsonl');
      tracing = setupTracing({ exporter: { file }, metrics: { prometheus: { port: 0, host: '127.0.0.1' } }, onWarning });
      await tracing.ready;
      expect([tracing.exporterKind, tracing.metricsUrl]).toEqual(['none', undefined]);
      const out = createInferenceTracer({ model: 'm' }).infer((req) => req.compute(() => req.traceId));
      expect(out).toBe('');
      await tracing.shutdown();
      expect(existsSync(file)).toBe(false);
      expect(warnings).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
