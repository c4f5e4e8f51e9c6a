/**
 * @module test/support/synth
 * Writers that turn abstract spans into the file content of each trace export format, so tests
 * and benches can build the same trace (e.g. one showing a bottleneck) in every input format.
 * Each writer follows its format's real encoding: OTLP/JSON as the Collector's pdata marshaler
 * writes it (int64 ns as decimal strings, int attributes as `intValue` strings, enum integers),
 * Jaeger UI JSON (µs times, typed tags, `span.kind` tag, processes table), Zipkin v2 (µs times,
 * string tags, upper-case kind).
 */

/** One span to write, before any format encoding. */
export interface SynthSpan {
  /** 32 lowercase hex chars. */
  traceId: string;
  /** 16 lowercase hex chars. */
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, string | number | boolean>;
  error?: boolean;
  links?: { traceId: string; spanId: string }[];
  /** Span events (no attributes): OTLP `events`, Jaeger `logs` with an `event` field, Zipkin `annotations`. */
  events?: { name: string; timeNs: bigint }[];
}

/** Formats the writers produce. */
export type SynthFormat = 'otlp-json' | 'otlp-jsonl' | 'jaeger' | 'zipkin';

const OTLP_KIND: Record<SynthSpan['kind'], number> = {
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};

type OtlpAnyValue = { stringValue: string } | { boolValue: boolean } | { intValue: string } | { doubleValue: number };

function otlpValue(value: string | number | boolean): OtlpAnyValue {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  // proto3 JSON writes int64 as a decimal string; the Collector's marshaler does the same.
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}

function otlpAttributes(attributes: Record<string, string | number | boolean>): { key: string; value: OtlpAnyValue }[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: otlpValue(value) }));
}

function otlpSpan(span: SynthSpan): Record<string, unknown> {
  const out: Record<string, unknown> = {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId ?? '',
    flags: 1,
    name: span.name,
    kind: OTLP_KIND[span.kind],
    startTimeUnixNano: span.startNs.toString(),
    endTimeUnixNano: span.endNs.toString(),
    attributes: otlpAttributes(span.attributes),
    status: span.error ? { code: 2, message: 'error' } : {},
  };
  if (span.links && span.links.length > 0) {
    out['links'] = span.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId }));
  }
  if (span.events && span.events.length > 0) {
    out['events'] = span.events.map((e) => ({ timeUnixNano: e.timeNs.toString(), name: e.name }));
  }
  return out;
}

/** Groups spans by service (one ResourceSpans each), keeping first-seen order. */
function otlpTracesData(spans: readonly SynthSpan[]): { resourceSpans: unknown[] } {
  const byService = new Map<string, SynthSpan[]>();
  for (const span of spans) {
    const list = byService.get(span.service);
    if (list) list.push(span);
    else byService.set(span.service, [span]);
  }
  return {
    resourceSpans: [...byService].map(([service, list]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ scope: { name: 'latency-doctor-synth', version: '0.1.0' }, spans: list.map(otlpSpan) }],
    })),
  };
}

/** One OTLP/JSON `TracesData` document holding every span. */
export function toOtlpJson(spans: SynthSpan[]): string {
  return JSON.stringify(otlpTracesData(spans));
}

/** Collector `file` exporter style: one `TracesData` per line, `perLine` spans each (default 100). */
export function toOtlpJsonLines(spans: SynthSpan[], perLine = 100): string {
  const lines: string[] = [];
  for (let i = 0; i < spans.length; i += perLine) {
    lines.push(JSON.stringify(otlpTracesData(spans.slice(i, i + perLine))));
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

type JaegerTag = { key: string; type: 'string' | 'bool' | 'int64' | 'float64'; value: string | number | boolean };

function jaegerTag(key: string, value: string | number | boolean): JaegerTag {
  if (typeof value === 'string') return { key, type: 'string', value };
  if (typeof value === 'boolean') return { key, type: 'bool', value };
  return { key, type: Number.isInteger(value) ? 'int64' : 'float64', value };
}

/** µs since epoch, truncating like Jaeger's converter does. */
function micros(ns: bigint): number {
  return Number(ns / 1000n);
}

/** Jaeger UI download: `{"data":[{traceID, spans, processes}]}`, one entry per trace. */
export function toJaegerJson(spans: SynthSpan[]): string {
  const traces = new Map<string, SynthSpan[]>();
  for (const span of spans) {
    const list = traces.get(span.traceId);
    if (list) list.push(span);
    else traces.set(span.traceId, [span]);
  }
  const data = [...traces].map(([traceId, list]) => {
    const processIds = new Map<string, string>();
    for (const span of list) {
      if (!processIds.has(span.service)) processIds.set(span.service, `p${processIds.size + 1}`);
    }
    const processes: Record<string, { serviceName: string; tags: JaegerTag[] }> = {};
    for (const [service, id] of processIds) processes[id] = { serviceName: service, tags: [] };
    return {
      traceID: traceId,
      spans: list.map((span) => {
        const tags = Object.entries(span.attributes).map(([k, v]) => jaegerTag(k, v));
        // Jaeger's OTLP translator writes span.kind for every kind, internal included.
        tags.push(jaegerTag('span.kind', span.kind));
        if (span.error) tags.push(jaegerTag('error', true));
        const references = [
          ...(span.parentSpanId ? [{ refType: 'CHILD_OF', traceID: span.traceId, spanID: span.parentSpanId }] : []),
          ...(span.links ?? []).map((l) => ({ refType: 'FOLLOWS_FROM', traceID: l.traceId, spanID: l.spanId })),
        ];
        return {
          traceID: span.traceId,
          spanID: span.spanId,
          operationName: span.name,
          references,
          startTime: micros(span.startNs),
          duration: micros(span.endNs) - micros(span.startNs),
          tags,
          // Jaeger's OTLP translator turns each span event into a log with an `event` field.
          logs: (span.events ?? []).map((e) => ({ timestamp: micros(e.timeNs), fields: [jaegerTag('event', e.name)] })),
          processID: processIds.get(span.service),
          warnings: null,
        };
      }),
      processes,
      warnings: null,
    };
  });
  return JSON.stringify({ data });
}

/** Zipkin v2 span array (what `GET /api/v2/trace/{id}` and the UI download give). */
export function toZipkinJson(spans: SynthSpan[]): string {
  const out = spans.map((span) => {
    const tags: Record<string, string> = {};
    // Zipkin tags are strings only.
    for (const [k, v] of Object.entries(span.attributes)) tags[k] = String(v);
    if (span.error) tags['error'] = 'true';
    const z: Record<string, unknown> = { traceId: span.traceId };
    if (span.parentSpanId) z['parentId'] = span.parentSpanId;
    z['id'] = span.spanId;
    if (span.kind !== 'internal') z['kind'] = span.kind.toUpperCase();
    z['name'] = span.name;
    z['timestamp'] = micros(span.startNs);
    // Zipkin's duration minimum is 1 µs.
    z['duration'] = Math.max(1, micros(span.endNs) - micros(span.startNs));
    z['localEndpoint'] = { serviceName: span.service };
    if (Object.keys(tags).length > 0) z['tags'] = tags;
    // OpenTelemetry's Zipkin exporter writes each span event as an annotation named after it.
    if (span.events && span.events.length > 0) z['annotations'] = span.events.map((e) => ({ timestamp: micros(e.timeNs), value: e.name }));
    return z;
  });
  return JSON.stringify(out);
}

/** Writes `spans` in the given format. */
export function writeAs(format: SynthFormat, spans: SynthSpan[]): string {
  switch (format) {
    case 'otlp-json':
      return toOtlpJson(spans);
    case 'otlp-jsonl':
      return toOtlpJsonLines(spans);
    case 'jaeger':
      return toJaegerJson(spans);
    case 'zipkin':
      return toZipkinJson(spans);
  }
}

function hex(value: bigint, chars: number): string {
  return value.toString(16).padStart(chars, '0').slice(-chars);
}

/**
 * Deterministic, distinct, non-zero ids: trace i and span i of seed s never collide across
 * different (s, i) pairs below 2^32 each, and the leading digit is non-zero so no reader could
 * get away with not padding. Span ids stay distinct while seed < 2^28.
 */
export function ids(seed: number): { traceId(i: number): string; spanId(i: number): string } {
  const s = BigInt(seed >>> 0);
  return {
    traceId: (i: number) => 'a' + hex((s << 64n) | (BigInt(i >>> 0) << 8n) | 0x5an, 31),
    spanId: (i: number) => 'b' + hex((s << 32n) | BigInt(i >>> 0), 15),
  };
}
