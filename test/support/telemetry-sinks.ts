/**
 * @module test/support/telemetry-sinks
 * Telemetry sinks for tests and benches: a metric reader that collects on demand (and does
 * nothing in the background), and a span exporter that discards, so a measurement is the
 * tracer and the SDK, not serialization or I/O.
 */
import { ExportResultCode } from '@opentelemetry/core';
import { AggregationTemporality, MetricReader } from '@opentelemetry/sdk-metrics';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

/** A cumulative metric reader that collects only when asked. */
export class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  /** Every metric recorded so far. */
  async metrics(): Promise<MetricData[]> {
    const { resourceMetrics } = await this.collect();
    return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  }
}

/** Discards spans. */
export const discardSpans: SpanExporter = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: () => Promise.resolve(),
};
