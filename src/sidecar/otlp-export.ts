/**
 * @module sidecar/otlp-export
 * Optional OTLP/gRPC export of the same metrics `/metrics` serves (same points, OpenTelemetry
 * names and attribute keys), through the OpenTelemetry SDK: one observable instrument per
 * SIDECAR_METRICS entry, observed in one batch callback from the collector's snapshot at each
 * export. Export failures are the SDK's (logged through `diag`); they never stop collection.
 */
import type { Attributes, BatchObservableResult, Observable } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { SIDECAR_METRICS, type MetricSpec } from '../semconv.js';
import type { Collector } from './collector.js';
import { DEFAULT_OTLP_INTERVAL_MS } from './defaults.js';
import { metricPoints } from './metric-points.js';

/** Options of the OTLP export. */
export interface OtlpExportOptions {
  /** OTLP/gRPC endpoint, e.g. `http://127.0.0.1:4317`. */
  readonly endpoint: string;
  /** Export interval. Default DEFAULT_OTLP_INTERVAL_MS. */
  readonly intervalMs?: number;
  /** `service.name` of the resource. Default `latency-doctor-sidecar`. */
  readonly serviceName?: string;
}

/** A running export. */
export interface OtlpExport {
  /** Flushes once more and stops. */
  shutdown(): Promise<void>;
}

/** Starts exporting the collector's metrics over OTLP/gRPC. */
export function startOtlpExport(collector: Collector, options: OtlpExportOptions): OtlpExport {
  const intervalMs = options.intervalMs ?? DEFAULT_OTLP_INTERVAL_MS;
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: options.endpoint }),
    exportIntervalMillis: intervalMs,
    exportTimeoutMillis: Math.min(intervalMs, 30_000),
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'latency-doctor-sidecar' }),
    readers: [reader],
  });
  const meter = provider.getMeter('latency-doctor-sidecar');
  const instruments = new Map<MetricSpec, Observable<Attributes>>();
  for (const spec of Object.values(SIDECAR_METRICS) as MetricSpec[]) {
    const options = { unit: spec.unit, description: spec.description };
    instruments.set(spec, spec.kind === 'counter' ? meter.createObservableCounter(spec.name, options) : meter.createObservableGauge(spec.name, options));
  }
  meter.addBatchObservableCallback((result: BatchObservableResult) => {
    for (const point of metricPoints(collector.snapshot())) {
      const instrument = instruments.get(point.spec);
      if (instrument !== undefined) result.observe(instrument, point.value, point.attributes);
    }
  }, [...instruments.values()]);
  return { shutdown: () => provider.shutdown() };
}
