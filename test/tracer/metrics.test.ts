/**
 * The tracer's histograms: values, units, attributes and buckets as an in-memory reader collects
 * them; the Prometheus scrape endpoint on loopback under the names semconv's prometheusName()
 * promises; and the OTLP/gRPC metrics push to a real receiver.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { HistogramMetricData, MetricData } from '@opentelemetry/sdk-metrics';
import { ATTR, TRACER_METRICS, prometheusLabel, prometheusName } from '../../src/semconv.js';
import { createInferenceTracer, DURATION_BUCKETS_SECONDS, setupTracing } from '../../src/tracer/index.js';
import type { TracingHandle } from '../../src/tracer/index.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import { CollectingReader } from '../support/telemetry-sinks.js';
import type { OtlpReceiver } from '../support/otlp-receiver.js';

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a phase that really takes `ms`
  }
}

/** Prometheus text format → samples (enough of the format for these assertions). */
function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    out.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return out;
}

let tracing: TracingHandle | undefined;
let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
  await receiver?.close();
  receiver = undefined;
});

describe('phase histograms', () => {
  it('record each phase, request and batch size with the convention units, attributes and ms-resolving buckets', async () => {
    const reader = new CollectingReader();
    tracing = setupTracing({ exporter: { none: true }, metrics: { readers: [reader], otlp: false } });
    const tracer = createInferenceTracer({ model: 'whisper', precision: 'fp16' });
    const tickets: ReturnType<Parameters<Parameters<typeof tracer.infer>[0]>[0]['enqueue']>[] = [];
    let batchDone!: () => void;
    const batched = new Promise<void>((resolve) => (batchDone = resolve));
    const requests: Promise<void>[] = [];
    for (let i = 0; i < 4; i += 1) {
      // Each request waits for its batch, as a request handler in front of a batcher does.
      requests.push(tracer.infer(async (req) => {
        req.preprocess(() => busyWait(1.5));
        tickets.push(req.enqueue());
        await batched;
      }));
    }
    busyWait(1);
    tracer.runBatch(tickets, () => busyWait(3));
    batchDone();
    await Promise.all(requests);

    const metrics = await reader.metrics();
    const byName = new Map(metrics.map((m) => [m.descriptor.name, m]));
    const phase = byName.get(TRACER_METRICS.PHASE_DURATION.name) as HistogramMetricData;
    expect(phase.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(phase.descriptor.unit).toBe('s');
    const point = (p: string) => phase.dataPoints.find((d) => d.attributes[ATTR.PHASE] === p)!;
    for (const p of ['preprocess', 'queue', 'compute']) {
      expect(point(p).attributes).toEqual({ [ATTR.PHASE]: p, [ATTR.MODEL_NAME]: 'whisper' });
      expect(point(p).value.count).toBe(4);
    }
    expect(point('preprocess').value.min!).toBeGreaterThanOrEqual(0.0014);
    expect(point('compute').value.min!).toBeGreaterThanOrEqual(0.0029);
    // Each of the four waited at least the 1 ms before the batch started.
    expect(point('queue').value.min!).toBeGreaterThanOrEqual(0.0009);
    expect(point('preprocess').value.buckets.boundaries).toEqual(DURATION_BUCKETS_SECONDS);
    // Several boundaries per millisecond decade: the millisecond range is resolved.
    expect(DURATION_BUCKETS_SECONDS.filter((b) => b >= 0.001 && b < 0.01)).toHaveLength(4);
    const counts = point('preprocess').value.buckets.counts;
    const upTo = (boundary: number): number => counts.slice(0, DURATION_BUCKETS_SECONDS.indexOf(boundary) + 1).reduce((a, b) => a + b, 0);
    // Buckets agree with the values seen (a loaded machine may stretch a 1.5 ms phase).
    const { min, max } = point('preprocess').value;
    const below = DURATION_BUCKETS_SECONDS.filter((b) => b < min!).at(-1)!;
    const above = DURATION_BUCKETS_SECONDS.find((b) => b >= max!)!;
    expect(upTo(below)).toBe(0);
    expect(upTo(above)).toBe(4);

    const request = byName.get(TRACER_METRICS.REQUEST_DURATION.name) as HistogramMetricData;
    expect(request.descriptor.unit).toBe('s');
    expect(request.dataPoints[0]!.attributes).toEqual({ [ATTR.MODEL_NAME]: 'whisper' });
    expect(request.dataPoints[0]!.value.count).toBe(4);

    const batch = byName.get(TRACER_METRICS.BATCH_SIZE.name) as HistogramMetricData;
    expect(batch.dataPoints[0]!.value.count).toBe(1);
    expect(batch.dataPoints[0]!.value.sum).toBe(4);
  });

  it('serves the histograms to Prometheus on loopback under the names semconv promises', async () => {
    tracing = setupTracing({ exporter: { spanExporter: new InMemorySpanExporter() }, metrics: { prometheus: { port: 0, host: '127.0.0.1' } } });
    await tracing.ready;
    expect(tracing.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const tracer = createInferenceTracer({ model: 'resnet50' });
    for (let i = 0; i < 3; i += 1) tracer.infer((req) => req.compute(() => busyWait(1)));
    const text = await (await fetch(tracing.metricsUrl!)).text();
    const samples = parsePrometheus(text);
    const find = (name: string, labels: Record<string, string>): number | undefined =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    const phase = prometheusName(TRACER_METRICS.PHASE_DURATION);
    const model = prometheusLabel(ATTR.MODEL_NAME);
    const phaseLabel = prometheusLabel(ATTR.PHASE);
    expect(text).toContain(`# TYPE ${phase} histogram`);
    expect(find(`${phase}_count`, { [model]: 'resnet50', [phaseLabel]: 'compute' })).toBe(3);
    expect(find(`${phase}_bucket`, { [model]: 'resnet50', [phaseLabel]: 'compute', le: '0.0005' })).toBe(0);
    expect(find(`${phase}_bucket`, { [model]: 'resnet50', [phaseLabel]: 'compute', le: '0.1' })).toBe(3);
    expect(find(`${prometheusName(TRACER_METRICS.REQUEST_DURATION)}_count`, { [model]: 'resnet50' })).toBe(3);
    expect(find(prometheusName(TRACER_METRICS.SPANS_DROPPED), {})).toBe(0);
    const missing = await fetch(tracing.metricsUrl!.replace('/metrics', '/nope'));
    expect(missing.status).toBe(404);
  });

  it('warns once instead of failing when the Prometheus port is taken', async () => {
    const first = setupTracing({ exporter: { none: true }, metrics: { prometheus: { port: 0, host: '127.0.0.1' } } });
    await first.ready;
    const port = new URL(first.metricsUrl!).port;
    await first.shutdown();
    const { createServer } = await import('node:net');
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(Number(port), '127.0.0.1', resolve));
    const warnings: string[] = [];
    try {
      tracing = setupTracing({ exporter: { none: true }, metrics: { prometheus: { port: Number(port), host: '127.0.0.1' } }, onWarning: (m) => warnings.push(m) });
      await tracing.ready;
      expect(createInferenceTracer({ model: 'm' }).infer(() => 'still serving')).toBe('still serving');
      expect(warnings.filter((w) => w.includes('cannot serve Prometheus metrics'))).toHaveLength(1);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  it('pushes the histograms over OTLP/gRPC with the spans', async () => {
    receiver = await startOtlpReceiver();
    tracing = setupTracing({ serviceName: 'metrics-otlp', exporter: { otlpEndpoint: receiver.endpoint }, metrics: { otlp: { intervalMillis: 100 } }, scheduledDelayMillis: 20 });
    const tracer = createInferenceTracer({ model: 'bert' });
    tracer.infer((req) => req.postprocess(() => busyWait(1)));
    const request = await receiver.waitForMetrics((r) => JSON.stringify(r).includes(TRACER_METRICS.PHASE_DURATION.name));
    const metrics = (request['resourceMetrics'] as { scopeMetrics: { metrics: { name: string; unit: string; histogram?: { dataPoints: { count: string; attributes: unknown[] }[] } }[] }[] }[])
      .flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics));
    const phase = metrics.find((m) => m.name === TRACER_METRICS.PHASE_DURATION.name)!;
    expect(phase.unit).toBe('s');
    expect(phase.histogram!.dataPoints[0]!.count).toBe('1');
    // With a span exporter in place, the drop counter is exported too (zero: nothing dropped).
    const dropped = metrics.find((m) => m.name === TRACER_METRICS.SPANS_DROPPED.name) as unknown as { sum: { isMonotonic: boolean; dataPoints: { asInt?: string; asDouble?: number }[] } };
    expect(dropped.sum.isMonotonic).toBe(true);
    expect(Number(dropped.sum.dataPoints[0]!.asInt ?? dropped.sum.dataPoints[0]!.asDouble)).toBe(0);
    await receiver.waitForSpans(2);
  });
});
