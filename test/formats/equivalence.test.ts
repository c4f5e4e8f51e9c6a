/**
 * The same spans written in different formats read back to the same SpanRecords: Jaeger's own
 * OTLP → Jaeger conversion (a real input/output pair), and one synthetic inference trace written
 * by test/support/synth in every format (times on whole microseconds, the finest Jaeger and
 * Zipkin can carry), its span events included (Jaeger logs, Zipkin annotations).
 */

import { afterAll, describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../src/model/span.js';
import { ids, writeAs } from '../support/synth.js';
import type { SynthFormat, SynthSpan } from '../support/synth.js';
import { fixture, read, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** A span as comparable text, leaving out attributes a converter adds by itself. */
function comparable(span: SpanRecord, dropPrefixes: readonly string[] = []): string {
  const attributes = Object.fromEntries(Object.entries(span.attributes).filter(([k]) => !dropPrefixes.some((p) => k.startsWith(p))));
  const { shared: _shared, ...rest } = span;
  return JSON.stringify({ ...rest, attributes }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

// Both JSON lines readers: JSON.parse per line (default) and the byte-scanning fast path.
describe.each(['fast', 'full'] as const)('cross-format equivalence (%s reader)', (reader) => {
  it("Jaeger's conversion of an OTLP document reads back to the same spans", async () => {
    const otlp = await read(fixture('otlp-json/jaeger-transform-otlp2jaeger-in.json'), { reader });
    const jaeger = await read(fixture('jaeger-json/jaeger-transform-otlp2jaeger-out-api-envelope.json'), { reader });
    expect(otlp.spans).toHaveLength(2);
    // Jaeger adds otel.scope.* tags of its own.
    expect(jaeger.spans.map((s) => comparable(s, ['otel.'])).sort()).toEqual(otlp.spans.map((s) => comparable(s)).sort());
  });

  const id = ids(7);
  const t0 = 1_717_171_717_000_000_000n;
  const us = (n: number): bigint => t0 + BigInt(n) * 1000n;
  const trace: SynthSpan[] = [
    { traceId: id.traceId(1), spanId: id.spanId(1), name: 'POST /v1/predict', service: 'gateway', kind: 'client', startNs: us(0), endNs: us(9000), attributes: { 'inference.role': 'client', 'inference.model.name': 'resnet50' }, events: [{ name: 'inference.first_token', timeNs: us(7000) }] },
    {
      traceId: id.traceId(1),
      spanId: id.spanId(2),
      parentSpanId: id.spanId(1),
      name: 'predict',
      service: 'model-server',
      kind: 'server',
      startNs: us(500),
      endNs: us(8500),
      attributes: { 'inference.model.name': 'resnet50', 'inference.request.size': 150528, 'inference.cache.hit': false, 'inference.precision': 'fp16' },
      // Span events (Triton's timestamps in its OpenTelemetry mode): Jaeger logs, Zipkin annotations.
      events: [
        { name: 'REQUEST_START', timeNs: us(500) },
        { name: 'QUEUE_START', timeNs: us(600) },
        { name: 'REQUEST_END', timeNs: us(8500) },
      ],
    },
    { traceId: id.traceId(1), spanId: id.spanId(3), parentSpanId: id.spanId(2), name: 'queue', service: 'model-server', kind: 'internal', startNs: us(600), endNs: us(6600), attributes: { 'inference.phase': 'queue' } },
    { traceId: id.traceId(1), spanId: id.spanId(4), parentSpanId: id.spanId(2), name: 'compute', service: 'model-server', kind: 'internal', startNs: us(6600), endNs: us(8400), attributes: { 'inference.phase': 'compute', 'inference.batch.size': 8, 'gpu.util': 0.25 }, error: true, links: [{ traceId: id.traceId(2), spanId: id.spanId(9) }] },
  ];

  it.each(['otlp-json', 'otlp-jsonl', 'jaeger', 'zipkin'] as const)('a synthetic inference trace written as %s reads back exactly', async (format: SynthFormat) => {
    const { spans } = await read(tmp.write(`synth-${reader}-${format}.json`, writeAs(format, trace)), { reader });
    expect(spans).toHaveLength(trace.length);
    for (const want of trace) {
      const got = spans.find((s) => s.spanId === want.spanId);
      expect(got).toBeDefined();
      expect(got?.traceId).toBe(want.traceId);
      expect(got?.parentSpanId).toBe(want.parentSpanId);
      expect(got?.name).toBe(want.name);
      expect(got?.service).toBe(want.service);
      expect(got?.kind).toBe(want.kind);
      expect(got?.startNs).toBe(want.startNs);
      expect(got?.endNs).toBe(want.endNs);
      expect(got?.error).toBe(want.error === true);
      expect(got?.attributes).toEqual(want.attributes);
      // Zipkin v2 has no links.
      if (format !== 'zipkin') expect(got?.links).toEqual(want.links);
      expect(got?.events).toEqual(want.events);
      expect(got?.firstTokenNs).toBe(want.events?.find((e) => e.name === 'inference.first_token')?.timeNs);
    }
  });
});
