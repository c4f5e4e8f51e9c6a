/**
 * @module test/support/collector-export
 * What an OTLP/JSON export (`TracesData`) becomes once an OpenTelemetry Collector has sent it to
 * Jaeger or Zipkin and it is downloaded from there, so tests can read the same spans in all
 * three forms. Each converter follows its translator's rules, not a hand-made layout:
 *
 * Jaeger: the Collector's translator ("pkg/translator/jaeger/traces_to_jaegerproto.go",
 * https://github.com/open-telemetry/opentelemetry-collector-contrib/blob/main/pkg/translator/jaeger/traces_to_jaegerproto.go),
 * which Jaeger v2 uses too, then jaeger-query's UI JSON ("internal/uimodel/converter/v1/json/from_domain.go",
 * https://github.com/jaegertracing/jaeger/blob/main/internal/uimodel/converter/v1/json/from_domain.go):
 * the resource is the process (`service.name` its serviceName, other attributes its tags), one
 * `processes` table per trace (`p1`, `p2`, … in order of appearance); tags are the scope's
 * `otel.scope.name`/`otel.scope.version`, the attributes (typed string / int64 / float64 / bool /
 * binary, maps and arrays as JSON text), `span.kind` (any kind but unspecified),
 * `otel.status_code` (OK / ERROR), `error` (bool, for ERROR) and `otel.status_description`; the
 * parent is the first reference (CHILD_OF), links FOLLOWS_FROM; every span event is a log at its
 * time with an `event` field holding its name (unless it is empty or the event has an `event`
 * attribute) and its attributes as further fields (`spanEventsToJaegerProtoLogs`). Times and
 * durations are µs, truncated (`TimeAsEpochMicroseconds`, `DurationAsMicroseconds`).
 *
 * Zipkin v2: the Collector's Zipkin exporter ("pkg/translator/zipkin/zipkinv2/from_translator.go",
 * https://github.com/open-telemetry/opentelemetry-collector-contrib/blob/main/pkg/translator/zipkin/zipkinv2/from_translator.go)
 * serialized by zipkin-go ("model/span.go", "model/annotation.go", "model/traceid.go" at
 * https://github.com/openzipkin/zipkin-go/tree/c72b89aa42a3e976c30e6c957ca0ab8dc943366a/model):
 * tags are strings (resource attributes but `service.name`, `otel.library.name`/`version`, the
 * span's attributes, `span.kind`=internal for INTERNAL spans, `otel.status_code` and `error`=true
 * for ERROR), `peer.service` the remote endpoint; kind CLIENT / SERVER / PRODUCER / CONSUMER,
 * omitted otherwise; every span event an annotation: its name, or `name|{attributes as JSON}|dropped count`
 * when it has attributes (`spanEventsToZipkinAnnotations`); links become `otlp.link.N` tags. The
 * start is rounded to the µs, the duration and annotation times truncated; a 64-bit trace id
 * (high half zero) is written as 16 hex digits.
 */

type AnyValue = Record<string, unknown>;
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface OtlpEvent {
  timeUnixNano: string;
  name?: string;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValue[];
  events?: OtlpEvent[];
  links?: { traceId: string; spanId: string; attributes?: KeyValue[] }[];
  status?: { code?: number; message?: string };
}
/** An OTLP/JSON `TracesData` document, as the Collector's file exporter and our fixtures write it. */
export interface TracesData {
  resourceSpans: { resource?: { attributes?: KeyValue[] }; scopeSpans: { scope?: { name?: string; version?: string }; spans: OtlpSpan[] }[] }[];
}

type Plain = string | number | boolean | Plain[] | { [key: string]: Plain };

/** An AnyValue as the value pdata's `AsRaw` gives (int64 as a number: our fixtures stay below 2^53). */
function raw(v: AnyValue): Plain {
  if ('stringValue' in v) return v['stringValue'] as string;
  if ('intValue' in v) return Number(v['intValue']);
  if ('doubleValue' in v) return Number(v['doubleValue']);
  if ('boolValue' in v) return v['boolValue'] as boolean;
  if ('bytesValue' in v) return v['bytesValue'] as string;
  if ('arrayValue' in v) return ((v['arrayValue'] as { values?: AnyValue[] }).values ?? []).map(raw);
  if ('kvlistValue' in v) return Object.fromEntries(((v['kvlistValue'] as { values?: KeyValue[] }).values ?? []).map((kv) => [kv.key, raw(kv.value)]));
  return '';
}

/** pdata's `AsString`: strings as they are, numbers and booleans as Go prints them, maps and arrays as JSON. */
function asString(v: AnyValue): string {
  const r = raw(v);
  return typeof r === 'string' ? r : typeof r === 'object' ? JSON.stringify(r) : String(r);
}

function jaegerTag(key: string, v: AnyValue): { key: string; type: string; value: unknown } {
  if ('stringValue' in v) return { key, type: 'string', value: v['stringValue'] };
  if ('intValue' in v) return { key, type: 'int64', value: Number(v['intValue']) };
  if ('doubleValue' in v) return { key, type: 'float64', value: Number(v['doubleValue']) };
  if ('boolValue' in v) return { key, type: 'bool', value: v['boolValue'] };
  if ('bytesValue' in v) return { key, type: 'binary', value: v['bytesValue'] };
  return { key, type: 'string', value: asString(v) };
}

const str = (key: string, value: string): { key: string; type: string; value: unknown } => ({ key, type: 'string', value });

/** µs, truncated (Go's integer division of nanoseconds by 1000). */
function micros(ns: bigint): number {
  return Number(ns / 1000n);
}

const JAEGER_KIND = ['', 'internal', 'server', 'client', 'producer', 'consumer'];

/**
 * Where a span's tags are written against its events (Jaeger logs, Zipkin annotations): where
 * the translator writes them (Jaeger: before, jaeger-query's field order; Zipkin: after,
 * zipkin-go's), or `before` / `after` them, as another writer may (JSON keys have no order).
 */
export type TagPlace = 'translator' | 'before' | 'after';

/** `span` with its `tags` key moved before or after `eventsKey`, or as it is. */
function placeTags(span: Record<string, unknown>, eventsKey: string, place: TagPlace): Record<string, unknown> {
  if (place === 'translator' || !(eventsKey in span)) return span;
  const { tags, ...rest } = span;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (k === eventsKey && place === 'before') out['tags'] = tags;
    out[k] = v;
    if (k === eventsKey && place === 'after') out['tags'] = tags;
  }
  return out;
}

/** The Jaeger UI / query API JSON (`{"data":[Trace…]}`) jaeger-query answers for these spans. */
export function otlpToJaeger(doc: TracesData, tagPlace: TagPlace = 'translator'): string {
  const traces = new Map<string, { spans: unknown[]; processes: Map<string, { serviceName: string; tags: unknown[] }> }>();
  for (const rs of doc.resourceSpans) {
    const attrs = rs.resource?.attributes ?? [];
    const service = attrs.find((a) => a.key === 'service.name');
    const process = { serviceName: service === undefined ? 'OTLPResourceNoServiceName' : asString(service.value), tags: attrs.filter((a) => a.key !== 'service.name').map((a) => jaegerTag(a.key, a.value)) };
    const processKey = JSON.stringify(process);
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        const trace = traces.get(span.traceId) ?? { spans: [] as unknown[], processes: new Map<string, { serviceName: string; tags: unknown[] }>() };
        traces.set(span.traceId, trace);
        if (!trace.processes.has(processKey)) trace.processes.set(processKey, process);
        const processID = `p${[...trace.processes.keys()].indexOf(processKey) + 1}`;
        const tags: unknown[] = [];
        if (ss.scope?.name) tags.push(str('otel.scope.name', ss.scope.name));
        if (ss.scope?.version) tags.push(str('otel.scope.version', ss.scope.version));
        for (const a of span.attributes ?? []) tags.push(jaegerTag(a.key, a.value));
        const kind = JAEGER_KIND[span.kind ?? 0];
        if (kind) tags.push(str('span.kind', kind));
        const code = span.status?.code ?? 0;
        if (code === 1 || code === 2) tags.push(str('otel.status_code', code === 2 ? 'ERROR' : 'OK'));
        if (code === 2) tags.push({ key: 'error', type: 'bool', value: true });
        if (span.status?.message) tags.push(str('otel.status_description', span.status.message));
        const references = [
          ...(span.parentSpanId ? [{ refType: 'CHILD_OF', traceID: span.traceId, spanID: span.parentSpanId }] : []),
          ...(span.links ?? []).map((l) => ({ refType: 'FOLLOWS_FROM', traceID: l.traceId, spanID: l.spanId })),
        ];
        const start = BigInt(span.startTimeUnixNano);
        const logs = (span.events ?? []).map((e) => {
          const fields: unknown[] = [];
          const attributes = e.attributes ?? [];
          if (e.name && !attributes.some((a) => a.key === 'event')) fields.push(str('event', e.name));
          for (const a of attributes) fields.push(jaegerTag(a.key, a.value));
          return { timestamp: micros(BigInt(e.timeUnixNano)), fields };
        });
        const jaegerSpan = {
          traceID: span.traceId,
          spanID: span.spanId,
          operationName: span.name,
          references,
          startTime: micros(start),
          duration: micros(BigInt(span.endTimeUnixNano) - start),
          tags,
          logs,
          processID,
          warnings: null,
        };
        trace.spans.push(placeTags(jaegerSpan, 'logs', tagPlace));
      }
    }
  }
  const data = [...traces].map(([traceID, t]) => ({
    traceID,
    spans: t.spans,
    processes: Object.fromEntries([...t.processes.values()].map((p, i) => [`p${i + 1}`, p])),
    warnings: null,
  }));
  return JSON.stringify({ data, total: 0, limit: 0, offset: 0, errors: null });
}

const ZIPKIN_KIND = ['', '', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

/** zipkin-go's TraceID.String(): 16 hex digits when the high half is zero, else 32. */
function zipkinTraceId(hex: string): string {
  return /^0{16}/.test(hex) ? hex.slice(16) : hex;
}

/** The Zipkin v2 JSON span array the Collector's Zipkin exporter sends (and Zipkin's API gives back) for these spans. */
export function otlpToZipkin(doc: TracesData, tagPlace: TagPlace = 'translator'): string {
  const out: unknown[] = [];
  for (const rs of doc.resourceSpans) {
    const resourceTags: Record<string, string> = {};
    let service = 'OTLPResourceNoServiceName';
    for (const a of rs.resource?.attributes ?? []) {
      if (a.key === 'service.name') service = asString(a.value);
      else resourceTags[a.key] = asString(a.value);
    }
    for (const ss of rs.scopeSpans) {
      const scopeTags: Record<string, string> = { ...resourceTags };
      if (ss.scope?.name) scopeTags['otel.library.name'] = ss.scope.name;
      if (ss.scope?.version) scopeTags['otel.library.version'] = ss.scope.version;
      for (const span of ss.spans) {
        const tags: Record<string, string> = { ...scopeTags };
        for (const a of span.attributes ?? []) tags[a.key] = asString(a.value);
        if (span.kind === 1) tags['span.kind'] = 'internal';
        const remote = tags['peer.service'];
        delete tags['peer.service'];
        const code = span.status?.code ?? 0;
        if (code === 2) tags['error'] = 'true';
        else delete tags['error'];
        if (code === 1 || code === 2) tags['otel.status_code'] = code === 2 ? 'Error' : 'Ok';
        if ((code === 1 || code === 2) && span.status?.message) tags['otel.status_description'] = span.status.message;
        (span.links ?? []).forEach((l, i) => {
          tags[`otlp.link.${i}`] = `${l.traceId}|${l.spanId}||${JSON.stringify(Object.fromEntries((l.attributes ?? []).map((a) => [a.key, raw(a.value)])))}|0`;
        });
        const start = BigInt(span.startTimeUnixNano);
        const z: Record<string, unknown> = { traceId: zipkinTraceId(span.traceId), id: span.spanId };
        if (span.parentSpanId) z['parentId'] = span.parentSpanId;
        z['name'] = span.name;
        const kind = ZIPKIN_KIND[span.kind ?? 0];
        if (kind) z['kind'] = kind;
        // zipkin-go: the start rounded to the µs, the duration truncated.
        z['timestamp'] = Number((start + 500n) / 1000n);
        z['duration'] = micros(BigInt(span.endTimeUnixNano) - start);
        z['localEndpoint'] = { serviceName: service };
        if (remote !== undefined) z['remoteEndpoint'] = { serviceName: remote };
        if (span.events && span.events.length > 0) {
          z['annotations'] = span.events.map((e) => {
            const attributes = e.attributes ?? [];
            const dropped = e.droppedAttributesCount ?? 0;
            const name = e.name ?? '';
            const value = attributes.length === 0 && dropped === 0 ? name : `${name}|${JSON.stringify(Object.fromEntries(attributes.map((a) => [a.key, raw(a.value)])))}|${dropped}`;
            return { timestamp: micros(BigInt(e.timeUnixNano)), value };
          });
        }
        // Go's encoding/json writes map keys sorted.
        z['tags'] = Object.fromEntries(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
        out.push(placeTags(z, 'annotations', tagPlace));
      }
    }
  }
  return JSON.stringify(out);
}
