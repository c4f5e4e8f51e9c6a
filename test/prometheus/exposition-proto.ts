/**
 * @module test/prometheus/exposition-proto
 * The Prometheus protobuf exposition format for the replay exporter: `io.prometheus.client`
 * MetricFamily messages, length-delimited, encoded with protobufjs. Prometheus scrapes this
 * format (and only this one) to ingest native histograms (2.42: `--enable-feature=native-histograms`).
 * The message layout (field numbers) is that of Prometheus' own copy of client_model,
 * prometheus/prometheus `prompb/io/prometheus/client/metrics.proto`
 * (https://github.com/prometheus/prometheus/blob/main/prompb/io/prometheus/client/metrics.proto);
 * only the fields the exporter writes are declared.
 */
import protobuf from 'protobufjs';

/** Content-Type of the delimited protobuf exposition. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

const PROTO = `
syntax = "proto3";
package io.prometheus.client;
message LabelPair { string name = 1; string value = 2; }
enum MetricType { COUNTER = 0; GAUGE = 1; SUMMARY = 2; UNTYPED = 3; HISTOGRAM = 4; GAUGE_HISTOGRAM = 5; }
message Gauge { double value = 1; }
message Counter { double value = 1; }
message Quantile { double quantile = 1; double value = 2; }
message Summary { uint64 sample_count = 1; double sample_sum = 2; repeated Quantile quantile = 3; }
message Untyped { double value = 1; }
message Bucket { uint64 cumulative_count = 1; double upper_bound = 2; }
message BucketSpan { sint32 offset = 1; uint32 length = 2; }
message Histogram {
  uint64 sample_count = 1;
  double sample_sum = 2;
  repeated Bucket bucket = 3;
  sint32 schema = 5;
  double zero_threshold = 6;
  uint64 zero_count = 7;
  repeated BucketSpan positive_span = 12;
  repeated sint64 positive_delta = 13;
}
message Metric {
  repeated LabelPair label = 1;
  Gauge gauge = 2;
  Counter counter = 3;
  Summary summary = 4;
  Untyped untyped = 5;
  Histogram histogram = 7;
}
message MetricFamily { string name = 1; string help = 2; MetricType type = 3; repeated Metric metric = 4; }
`;

const MetricFamily = protobuf.parse(PROTO, { keepCase: true }).root.lookupType('io.prometheus.client.MetricFamily');

/** The metric types of the exposition format. */
export type ProtoType = 'counter' | 'gauge' | 'summary' | 'untyped' | 'histogram';

const TYPE_NUMBER: Record<ProtoType, number> = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4 };

/** A native histogram's state: schema, zero bucket and the positive buckets by index. */
export interface NativeHistogram {
  readonly schema: number;
  readonly zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  /** Bucket index → observations; bucket i holds (base^(i-1), base^i], base = 2^(2^-schema). */
  readonly buckets: Map<number, number>;
}

/** One metric (series) of a family, in the exposition's terms. */
export type ProtoMetric = { readonly labels: Readonly<Record<string, string>> } & (
  | { readonly value: number }
  | { readonly summary: { readonly count: number; readonly sum: number; readonly quantiles: readonly (readonly [number, number])[] } }
  | { readonly classic: { readonly count: number; readonly sum: number; readonly buckets: readonly (readonly [number, number])[] } }
  | { readonly native: NativeHistogram }
);

/** One metric family. */
export interface ProtoFamily {
  readonly name: string;
  readonly help: string;
  readonly type: ProtoType;
  readonly metrics: readonly ProtoMetric[];
}

/** Records one positive observation in a native histogram (the index rule of the exposition format). */
export function observeNative(h: NativeHistogram, value: number): void {
  h.count += 1;
  h.sum += value;
  if (value <= h.zeroThreshold) {
    h.zeroCount += 1;
    return;
  }
  const index = Math.ceil(Math.log2(value) * 2 ** h.schema);
  h.buckets.set(index, (h.buckets.get(index) ?? 0) + 1);
}

/** Buckets as spans (offset from the previous span's end) and deltas (count minus the previous bucket's). */
function spansAndDeltas(buckets: ReadonlyMap<number, number>): { spans: { offset: number; length: number }[]; deltas: number[] } {
  const indexes = [...buckets.keys()].sort((a, b) => a - b);
  const spans: { offset: number; length: number }[] = [];
  const deltas: number[] = [];
  let previousIndex: number | undefined;
  let previousCount = 0;
  for (const i of indexes) {
    const last = spans[spans.length - 1];
    if (last !== undefined && previousIndex !== undefined && i === previousIndex + 1) last.length += 1;
    else spans.push({ offset: previousIndex === undefined ? i : i - previousIndex - 1, length: 1 });
    const count = buckets.get(i) ?? 0;
    deltas.push(count - previousCount);
    previousCount = count;
    previousIndex = i;
  }
  return { spans, deltas };
}

function metricMessage(m: ProtoMetric, type: ProtoType): Record<string, unknown> {
  const label = Object.entries(m.labels).map(([name, value]) => ({ name, value }));
  // A plain value goes in the field named after the family's type.
  if ('value' in m) return { label, [type]: { value: m.value } };
  if ('summary' in m) return { label, summary: { sample_count: Math.round(m.summary.count), sample_sum: m.summary.sum, quantile: m.summary.quantiles.map(([quantile, value]) => ({ quantile, value })) } };
  if ('classic' in m) {
    const buckets = m.classic.buckets.filter(([le]) => Number.isFinite(le)).map(([le, n]) => ({ cumulative_count: Math.round(n), upper_bound: le }));
    return { label, histogram: { sample_count: Math.round(m.classic.count), sample_sum: m.classic.sum, bucket: buckets } };
  }
  const h = m.native;
  const { spans, deltas } = spansAndDeltas(h.buckets);
  // A native histogram with no observation yet still needs a (no-op) span to be told from a classic one.
  return { label, histogram: { sample_count: h.count, sample_sum: h.sum, schema: h.schema, zero_threshold: h.zeroThreshold, zero_count: h.zeroCount, positive_span: spans.length > 0 ? spans : [{ offset: 0, length: 0 }], positive_delta: deltas } };
}

/** The families as one delimited protobuf body (a varint length before each MetricFamily). */
export function encodeFamilies(families: readonly ProtoFamily[]): Uint8Array {
  const writer = protobuf.Writer.create();
  for (const f of families) {
    const metric = f.metrics.map((m) => metricMessage(m, f.type));
    MetricFamily.encodeDelimited(MetricFamily.fromObject({ name: f.name, help: f.help, type: TYPE_NUMBER[f.type], metric }), writer);
  }
  return writer.finish();
}
