/**
 * @module sidecar/prometheus-text
 * Renders a collector snapshot in the Prometheus text exposition format (0.0.4). Metric names
 * come from SIDECAR_METRICS through prometheusName(), labels through prometheusLabel(), so
 * dashboards and alert rules can be checked against semconv.ts. The points (and their absent
 * values and stale marking) come from metric-points.ts, shared with the OTLP export.
 */
import { prometheusLabel, prometheusName, type MetricSpec } from '../semconv.js';
import type { CollectorSnapshot } from './collector.js';
import { metricPoints } from './metric-points.js';

/** Content type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Renders `/metrics`. */
export function renderPrometheus(snapshot: CollectorSnapshot): string {
  const families = new Map<MetricSpec, string[]>();
  for (const { spec, attributes, value } of metricPoints(snapshot)) {
    let lines = families.get(spec);
    if (lines === undefined) families.set(spec, (lines = []));
    const pairs = Object.entries(attributes).map(([k, v]) => `${prometheusLabel(k)}="${escapeLabel(v)}"`);
    lines.push(`${prometheusName(spec)}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${String(value)}`);
  }
  const out: string[] = [];
  for (const [spec, lines] of families) {
    const name = prometheusName(spec);
    out.push(`# HELP ${name} ${spec.description} Unit: ${spec.unit}.`);
    out.push(`# TYPE ${name} ${spec.kind === 'counter' ? 'counter' : 'gauge'}`);
    out.push(...lines);
  }
  return `${out.join('\n')}\n`;
}
