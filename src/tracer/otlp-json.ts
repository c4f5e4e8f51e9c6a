/**
 * @module tracer/otlp-json
 * Finished spans → one OTLP `TracesData` JSON object, in the shape the Collector's file exporter
 * writes (protobuf JSON mapping as pdata marshals it): lowerCamelCase keys, hex trace/span ids,
 * 64-bit integers (times, intValue) as decimal strings, enums as integers, `status` always
 * present, empty fields left out.
 */
import type { AttributeValue, Attributes, HrTime, Link, SpanStatus } from '@opentelemetry/api';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

/** An OTLP JSON AnyValue. */
export type OtlpAnyValue =
  | { readonly stringValue: string }
  | { readonly boolValue: boolean }
  | { readonly intValue: string }
  | { readonly doubleValue: number }
  | { readonly arrayValue: { readonly values: readonly OtlpAnyValue[] } };

/** An OTLP JSON KeyValue. */
export interface OtlpKeyValue {
  readonly key: string;
  readonly value: OtlpAnyValue;
}

function anyValue(value: AttributeValue | null | undefined): OtlpAnyValue {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  }
  if (Array.isArray(value)) return { arrayValue: { values: value.map((v) => anyValue(v as AttributeValue)) } };
  return { stringValue: String(value) };
}

/** Attributes → OTLP KeyValue list (undefined values skipped). */
export function keyValues(attributes: Attributes | undefined): OtlpKeyValue[] {
  const out: OtlpKeyValue[] = [];
  if (attributes === undefined) return out;
  for (const key of Object.keys(attributes)) {
    const value = attributes[key];
    if (value !== undefined && value !== null) out.push({ key, value: anyValue(value) });
  }
  return out;
}

/** HrTime → nanoseconds since the epoch as a decimal string (exact; beyond 2^53). */
export function hrTimeToNanoString(time: HrTime): string {
  const [seconds, nanos] = time;
  if (seconds === 0) return String(nanos);
  return `${seconds}${String(nanos).padStart(9, '0')}`;
}

function status(value: SpanStatus): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (value.code !== 0) out['code'] = value.code;
  if (value.message !== undefined && value.message !== '') out['message'] = value.message;
  return out;
}

function event(value: TimedEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { timeUnixNano: hrTimeToNanoString(value.time), name: value.name };
  const attributes = keyValues(value.attributes);
  if (attributes.length > 0) out['attributes'] = attributes;
  if (value.droppedAttributesCount !== undefined && value.droppedAttributesCount > 0) {
    out['droppedAttributesCount'] = value.droppedAttributesCount;
  }
  return out;
}

function link(value: Link): Record<string, unknown> {
  const out: Record<string, unknown> = { traceId: value.context.traceId, spanId: value.context.spanId };
  const state = value.context.traceState?.serialize();
  if (state !== undefined && state !== '') out['traceState'] = state;
  const attributes = keyValues(value.attributes);
  if (attributes.length > 0) out['attributes'] = attributes;
  return out;
}

/** One span in OTLP JSON. OTLP's SpanKind is the API's plus one (0 is UNSPECIFIED). */
export function spanToOtlp(span: ReadableSpan): Record<string, unknown> {
  const ctx = span.spanContext();
  const out: Record<string, unknown> = { traceId: ctx.traceId, spanId: ctx.spanId };
  const state = ctx.traceState?.serialize();
  if (state !== undefined && state !== '') out['traceState'] = state;
  const parent = span.parentSpanContext?.spanId;
  if (parent !== undefined && parent !== '') out['parentSpanId'] = parent;
  out['name'] = span.name;
  out['kind'] = span.kind + 1;
  out['startTimeUnixNano'] = hrTimeToNanoString(span.startTime);
  out['endTimeUnixNano'] = hrTimeToNanoString(span.endTime);
  const attributes = keyValues(span.attributes);
  if (attributes.length > 0) out['attributes'] = attributes;
  if (span.droppedAttributesCount > 0) out['droppedAttributesCount'] = span.droppedAttributesCount;
  if (span.events.length > 0) out['events'] = span.events.map(event);
  if (span.droppedEventsCount > 0) out['droppedEventsCount'] = span.droppedEventsCount;
  if (span.links.length > 0) out['links'] = span.links.map(link);
  if (span.droppedLinksCount > 0) out['droppedLinksCount'] = span.droppedLinksCount;
  out['status'] = status(span.status);
  return out;
}

/** Spans (from any number of resources and scopes) → one `TracesData` object. */
export function spansToTracesData(spans: readonly ReadableSpan[]): { resourceSpans: Record<string, unknown>[] } {
  const byResource = new Map<unknown, { resource: ReadableSpan['resource']; scopes: Map<string, ReadableSpan[]> }>();
  for (const span of spans) {
    let entry = byResource.get(span.resource);
    if (entry === undefined) {
      entry = { resource: span.resource, scopes: new Map() };
      byResource.set(span.resource, entry);
    }
    const scope = span.instrumentationScope;
    const scopeKey = `${scope.name}\u0000${scope.version ?? ''}\u0000${scope.schemaUrl ?? ''}`;
    const list = entry.scopes.get(scopeKey);
    if (list === undefined) entry.scopes.set(scopeKey, [span]);
    else list.push(span);
  }
  const resourceSpans: Record<string, unknown>[] = [];
  for (const { resource, scopes } of byResource.values()) {
    const scopeSpans: Record<string, unknown>[] = [];
    for (const list of scopes.values()) {
      const scope = list[0]!.instrumentationScope;
      const scopeJson: Record<string, unknown> = { name: scope.name };
      if (scope.version !== undefined && scope.version !== '') scopeJson['version'] = scope.version;
      const entry: Record<string, unknown> = { scope: scopeJson, spans: list.map(spanToOtlp) };
      if (scope.schemaUrl !== undefined && scope.schemaUrl !== '') entry['schemaUrl'] = scope.schemaUrl;
      scopeSpans.push(entry);
    }
    const out: Record<string, unknown> = { resource: { attributes: keyValues(resource.attributes) }, scopeSpans };
    if (resource.schemaUrl !== undefined && resource.schemaUrl !== '') out['schemaUrl'] = resource.schemaUrl;
    resourceSpans.push(out);
  }
  return { resourceSpans };
}
