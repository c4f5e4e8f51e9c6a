/**
 * @module sidecar/otlp-export
 * Optional OTLP/gRPC export of the same metrics `/metrics` serves (same points, OpenTelemetry
 * names and attribute keys), through the OpenTelemetry SDK: one observable instrument per
 * SIDECAR_METRICS entry, observed in one batch callback from the collector's snapshot at each
 * export. Export failures never stop collection; the first one is said once through `warn` (the
 * SDK only logs them through `diag`, which a CLI does not show: an unreachable collector was silent).
 */
import type { Attributes, BatchObservableResult, Observable } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
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
  /** Told once when an export fails. Default: nothing. */
  readonly warn?: (message: string) => void;
}

/** The exporter, with its first failed export said once through `warn`. */
function warningOnFailure(exporter: PushMetricExporter, endpoint: string, warn: (message: string) => void): PushMetricExporter {
  let warned = false;
  return {
    export: (metrics, done) =>
      exporter.export(metrics, (result) => {
        if (result.code !== ExportResultCode.SUCCESS && !warned) {
          warned = true;
          warn(`OTLP metric export to ${endpoint} failed: ${result.error?.message ?? 'unknown error'} (collection goes on; further failures are not repeated)`);
        }
        done(result);
      }),
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    // The reader asks the exporter for these; the wrapper must answer as the exporter does.
    ...(exporter.selectAggregationTemporality ? { selectAggregationTemporality: exporter.selectAggregationTemporality.bind(exporter) } : {}),
    ...(exporter.selectAggregation ? { selectAggregation: exporter.selectAggregation.bind(exporter) } : {}),
  };
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
    exporter: options.warn === undefined ? new OTLPMetricExporter({ url: options.endpoint }) : warningOnFailure(new OTLPMetricExporter({ url: options.endpoint }), options.endpoint, options.warn),
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
