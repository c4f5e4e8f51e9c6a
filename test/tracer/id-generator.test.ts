/**
 * The ids of the SDK that setupTracing starts: the format of the SDK's own RandomIdGenerator,
 * distinct across many pool refills, never all zeros, and random enough for the sampler that
 * decides on the trace id (TraceIdRatioBased keeps the configured share of requests).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { createInferenceTracer, setupTracing } from '../../src/tracer/index.js';
import type { TracingHandle } from '../../src/tracer/index.js';
import { PooledIdGenerator } from '../../src/tracer/id-generator.js';

let tracing: TracingHandle | undefined;

afterEach(async () => {
  vi.restoreAllMocks();
  await tracing?.shutdown();
  tracing = undefined;
});

describe('PooledIdGenerator', () => {
  it('gives lowercase hex ids of 32 and 16 digits, all distinct over many pool refills', () => {
    const ids = new PooledIdGenerator();
    const seen = new Set<string>();
    // 5,000 pairs use ~120 pools of 42 pairs.
    for (let i = 0; i < 5000; i += 1) {
      const traceId = ids.generateTraceId();
      const spanId = ids.generateSpanId();
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      seen.add(traceId);
      seen.add(spanId);
    }
    expect(seen.size).toBe(10_000);
  });

  it('uses every hex digit about equally often', () => {
    const ids = new PooledIdGenerator();
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i += 1) {
      for (const digit of ids.generateTraceId() + ids.generateSpanId()) counts.set(digit, (counts.get(digit) ?? 0) + 1);
    }
    // 192,000 digits: 12,000 expected per digit, standard deviation ~106.
    expect(counts.size).toBe(16);
    for (const count of counts.values()) expect(Math.abs(count - 12_000)).toBeLessThan(800);
  });

  it('never gives an all-zero id (invalid in W3C Trace Context), as the SDK generator', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const ids = new PooledIdGenerator();
    expect(ids.generateTraceId()).toBe(`${'0'.repeat(31)}1`);
    expect(ids.generateSpanId()).toBe(`${'0'.repeat(15)}1`);
  });
});

describe('setupTracing with the pooled ids', () => {
  it('exports valid distinct ids, and a TraceIdRatioBased sampler keeps its share of requests', async () => {
    const spans: ReadableSpan[] = [];
    const exporter: SpanExporter = {
      export: (batch, done) => {
        spans.push(...batch);
        done({ code: ExportResultCode.SUCCESS });
      },
      shutdown: () => Promise.resolve(),
    };
    tracing = setupTracing({ exporter: { spanExporter: exporter }, metrics: false, sampler: new TraceIdRatioBasedSampler(0.25), maxQueueSize: 65_536 });
    const tracer = createInferenceTracer({ model: 'ids' });
    const requests = 4000;
    let traced = 0;
    for (let i = 0; i < requests; i += 1) {
      tracer.infer((req) => {
        if (req.traceId !== '') traced += 1;
        req.compute(() => i);
      });
    }
    await tracing.forceFlush();
    // 1,000 expected, standard deviation ~27.
    expect(traced).toBeGreaterThan(880);
    expect(traced).toBeLessThan(1120);
    expect(spans).toHaveLength(traced * 2);
    const traceIds = new Set(spans.map((s) => s.spanContext().traceId));
    const spanIds = new Set(spans.map((s) => s.spanContext().spanId));
    expect(traceIds.size).toBe(traced);
    expect(spanIds.size).toBe(spans.length);
    for (const span of spans) {
      expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(span.spanContext().spanId).toMatch(/^[0-9a-f]{16}$/);
    }
  });
});
