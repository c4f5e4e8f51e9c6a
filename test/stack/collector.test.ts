/**
 * @module test/stack/collector.test
 * collector/otelcol.yaml: pipelines reference only defined components of types the pinned
 * otelcol-contrib version registers; the span-metrics connector, exporters and file output are
 * configured as docs/stack.md and src/semconv.ts say.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SPANMETRICS } from '../../src/semconv.js';
import { checkCollectorConfig, type KnownComponents } from './_otelcol-check.js';

const ROOT = join(import.meta.dirname, '..', '..');
const known = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'otelcol-contrib-0.136.0-components.json'), 'utf8')) as KnownComponents;
const configText = readFileSync(join(ROOT, 'collector', 'otelcol.yaml'), 'utf8');
const config = parse(configText) as Record<string, Record<string, Record<string, unknown>>>;

/** Collector duration strings (`1ms`, `1500ms`, `2s`) in milliseconds. */
function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(us|µs|ms|s|m)$/.exec(text);
  if (m === null) throw new Error(`not a duration: ${text}`);
  const factor = { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us' | 'µs' | 'ms' | 's' | 'm'];
  return Number(m[1]) * factor;
}

describe('collector/otelcol.yaml', () => {
  it('pipelines reference only defined components whose types otelcol-contrib 0.136.0 registers', () => {
    expect(checkCollectorConfig(config, known)).toEqual([]);
  });

  it('the pinned image in .env is the version the component list describes', () => {
    const env = readFileSync(join(ROOT, '.env'), 'utf8');
    expect(env).toMatch(new RegExp(`^OTELCOL_VERSION=${known.version.replace(/\./g, '\\.')}$`, 'm'));
  });

  it('the check rejects an undefined component, an unknown type, a misplaced memory_limiter and a bad connector join', () => {
    const broken = structuredClone(config);
    const service = broken['service'] as { pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> };
    const traces = service.pipelines['traces'];
    if (traces === undefined) throw new Error('no traces pipeline');
    traces.exporters.push('otlp/tempo');
    traces.processors.reverse();
    (broken['exporters'] as Record<string, unknown>)['jaeger'] = { endpoint: 'jaeger:14250' };
    service.pipelines['logs'] = { receivers: ['spanmetrics'], processors: [], exporters: ['file/traces'] };
    const problems = checkCollectorConfig(broken, known).join('\n');
    expect(problems).toContain('"otlp/tempo" is not defined');
    expect(problems).toContain('exporters.jaeger: type "jaeger" is not a exporter of otelcol-contrib 0.136.0');
    expect(problems).toContain('memory_limiter must come first');
    expect(problems).toContain('connectors.spanmetrics: cannot join a traces pipeline to a logs pipeline');
  });

  it('receives OTLP on gRPC 4317 and HTTP 4318', () => {
    const protocols = config['receivers']?.['otlp']?.['protocols'] as Record<string, { endpoint: string }>;
    expect(protocols['grpc']?.endpoint).toMatch(/:4317$/);
    expect(protocols['http']?.endpoint).toMatch(/:4318$/);
  });

  it('derives span metrics by phase and model, in ms buckets from 1 ms to 10 s, with exemplars', () => {
    const spanmetrics = config['connectors']?.['spanmetrics'] as {
      dimensions: { name: string }[];
      histogram: { unit: string; explicit: { buckets: string[] } };
      exemplars: { enabled: boolean };
      namespace?: string;
    };
    expect(spanmetrics.dimensions.map((d) => d.name)).toEqual([...SPANMETRICS.DIMENSIONS]);
    // The names in SPANMETRICS assume the default namespace and the ms unit.
    expect(spanmetrics.namespace).toBeUndefined();
    expect(spanmetrics.histogram.unit).toBe('ms');
    expect(SPANMETRICS.DURATION).toMatch(/^traces_span_metrics_duration_milliseconds$/);
    const bounds = spanmetrics.histogram.explicit.buckets.map(durationMs);
    expect(bounds[0]).toBe(1);
    expect(bounds.at(-1)).toBe(10_000);
    expect(bounds).toEqual([...bounds].sort((a, b) => a - b));
    expect(bounds.filter((b) => b <= 10).length).toBeGreaterThanOrEqual(5);
    expect(spanmetrics.exemplars.enabled).toBe(true);
  });

  it('exports to Jaeger over OTLP, to Prometheus with OpenMetrics (exemplars), and to rotated OTLP JSON lines', () => {
    const exporters = config['exporters'] ?? {};
    expect(exporters['otlp/jaeger']?.['endpoint']).toBe('jaeger:4317');
    expect(exporters['prometheus']?.['enable_open_metrics']).toBe(true);
    expect(exporters['prometheus']?.['resource_to_telemetry_conversion']).toEqual({ enabled: true });
    // Pushed tracer metrics keep the JS exporter's histogram names: no unit suffix, no OpenMetrics `_total` re-append.
    expect(exporters['prometheus/otlp']?.['translation_strategy']).toBe('UnderscoreEscapingWithoutSuffixes');
    expect(exporters['prometheus/otlp']).not.toHaveProperty('add_metric_suffixes');
    expect(exporters['prometheus/otlp']?.['enable_open_metrics']).toBeUndefined();
    const file = exporters['file/traces'] as { path: string; format: string; compression?: string; rotation: Record<string, number> };
    expect(file.format).toBe('json');
    expect(file.compression).toBeUndefined();
    expect(file.path).toMatch(/\.jsonl$/);
    expect(file.rotation['max_megabytes']).toBeGreaterThan(0);
    expect(file.rotation['max_backups']).toBeGreaterThan(0);
    // flush_interval does nothing once rotation is on.
    expect(file).not.toHaveProperty('flush_interval');
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { volumes?: string[] }> };
    const mounts = compose.services['collector']?.volumes ?? [];
    expect(mounts.some((m) => m.startsWith('traces:') && file.path.startsWith(`${m.split(':')[1] ?? '?'}/`))).toBe(true);
  });
});
