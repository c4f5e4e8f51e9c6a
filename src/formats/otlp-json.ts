/**
 * @module formats/otlp-json
 * OTLP/JSON `TracesData` / `ExportTraceServiceRequest` documents → SpanRecords, as leniently as
 * the Collector reads them: camelCase or snake_case keys, hex or base64 ids, int64 as strings or
 * numbers (nanoseconds kept exact via BigInt when written as strings), enum integers or names
 * (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`), `resourceSpans` / `batches` (Tempo v1) / `result`
 * (Jaeger API v3) / `trace` (Tempo v2) wrappers, a bare `ResourceSpans` (Java logging-otlp),
 * legacy `instrumentationLibrarySpans`; unknown fields ignored. This is the hot path of JSON
 * lines reading, so the span loop avoids closures and allocations it does not need.
 */

import type { AttributeValue, SpanEvent, SpanKind, SpanRecord } from '../model/span.js';
import type { ReadContext } from './_context.js';
import { FIRST_TOKEN_EVENT } from '../semconv.js';
import { at, inTimeRange, isObject, kindFromName } from './_shared.js';
import type { SpanDraft } from './_shared.js';
import { otlpAttributes, otlpStringAttribute } from './attributes.js';
import { describeValue, TraceFormatError } from './errors.js';
import type { IdDecoder } from './ids.js';

const KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const SERVICE_NAME = 'service.name';

/** True when a parsed JSON value has one of the OTLP trace shapes this module reads. */
export function isOtlpDocument(doc: unknown): boolean {
  if (!isObject(doc)) return false;
  if ('resourceSpans' in doc || 'resource_spans' in doc || 'batches' in doc) return true;
  const inner = doc['result'] ?? doc['trace'];
  if (isObject(inner) && ('resourceSpans' in inner || 'resource_spans' in inner || 'batches' in inner)) return true;
  return isBareResourceSpans(doc);
}

function isBareResourceSpans(doc: Record<string, unknown>): boolean {
  return (
    'scopeSpans' in doc ||
    'scope_spans' in doc ||
    'instrumentationLibrarySpans' in doc ||
    'instrumentation_library_spans' in doc
  );
}

function resourceSpansOf(doc: Record<string, unknown>, ctx: ReadContext, where: string): { list: unknown; path: string } {
  if (doc['resourceSpans'] !== undefined) return { list: doc['resourceSpans'], path: '$.resourceSpans' };
  if (doc['resource_spans'] !== undefined) {
    ctx.note('snake_case keys (documents)');
    return { list: doc['resource_spans'], path: '$.resource_spans' };
  }
  if (doc['batches'] !== undefined) {
    ctx.note('Tempo `batches` wrapper (documents)');
    return { list: doc['batches'], path: '$.batches' };
  }
  for (const wrapper of ['result', 'trace'] as const) {
    const inner = doc[wrapper];
    if (isObject(inner)) {
      ctx.note(wrapper === 'result' ? 'Jaeger API v3 `result` wrapper (documents)' : 'Tempo v2 `trace` wrapper (documents)');
      const found = resourceSpansOf(inner, ctx, where);
      return { list: found.list, path: found.path.replace('$', `$.${wrapper}`) };
    }
  }
  if (isBareResourceSpans(doc)) {
    ctx.note('bare ResourceSpans without a TracesData wrapper (documents)');
    return { list: [doc], path: '$' };
  }
  throw new TraceFormatError(ctx.file, at(where, '$'), 'an OTLP TracesData object with resourceSpans', describeValue(doc));
}

/** Converts one parsed OTLP document, appending its spans to `out`. `where` is its line ('' for a whole file). */
export function otlpDocumentToSpans(doc: unknown, ctx: ReadContext, out: SpanRecord[], where: string): void {
  if (!isObject(doc)) {
    throw new TraceFormatError(ctx.file, at(where, '$'), 'an OTLP TracesData object', describeValue(doc));
  }
  const { list, path } = resourceSpansOf(doc, ctx, where);
  if (!Array.isArray(list)) {
    throw new TraceFormatError(ctx.file, at(where, path), 'an array of ResourceSpans', describeValue(list));
  }
  for (let r = 0; r < list.length; r++) {
    const rs = list[r] as Record<string, unknown>;
    if (!isObject(rs)) {
      ctx.skip(at(where, `${path}[${r}]`), 'a ResourceSpans object', describeValue(rs), 'record');
      continue;
    }
    const resource = rs['resource'] as { attributes?: unknown } | undefined;
    const service = (isObject(resource) && otlpStringAttribute(resource.attributes, SERVICE_NAME)) || '';
    let scopes = rs['scopeSpans'] ?? rs['scope_spans'];
    if (scopes === undefined) {
      scopes = rs['instrumentationLibrarySpans'] ?? rs['instrumentation_library_spans'];
      if (scopes !== undefined) ctx.note('legacy instrumentationLibrarySpans (resources)');
    }
    if (scopes === undefined) continue;
    if (!Array.isArray(scopes)) {
      ctx.skip(at(where, `${path}[${r}].scopeSpans`), 'an array of ScopeSpans', describeValue(scopes), 'record');
      continue;
    }
    for (let s = 0; s < scopes.length; s++) {
      const scope = scopes[s] as { spans?: unknown } | null;
      const spans = scope?.spans;
      if (spans === undefined) continue;
      if (!Array.isArray(spans)) {
        ctx.skip(at(where, `${path}[${r}].scopeSpans[${s}].spans`), 'an array of spans', describeValue(spans), 'record');
        continue;
      }
      for (let i = 0; i < spans.length; i++) {
        const span = convertSpan(spans[i], service, ctx);
        if (typeof span === 'string') {
          ctx.skip(at(where, `${path}[${r}].scopeSpans[${s}].spans[${i}]`), span, problemValue(spans[i], span));
        } else {
          out.push(span);
        }
      }
    }
  }
}

/** What to show as "got" for a span that failed: the offending field's value. */
function problemValue(raw: unknown, expected: string): string {
  if (!isObject(raw)) return describeValue(raw);
  if (expected.startsWith('a trace id')) return describeValue(raw['traceId'] ?? raw['trace_id']);
  if (expected.startsWith('a span id')) return describeValue(raw['spanId'] ?? raw['span_id']);
  if (expected.startsWith('start and end') || expected.startsWith('an end time')) {
    return `start ${describeValue(raw['startTimeUnixNano'] ?? raw['start_time_unix_nano'])}, end ${describeValue(raw['endTimeUnixNano'] ?? raw['end_time_unix_nano'])}`;
  }
  return describeValue(raw);
}

/** An OTLP int64 time (string or number) as ns since epoch; undefined when absent, unparseable or not positive. */
export function parseNanos(raw: unknown): bigint | undefined {
  if (typeof raw === 'string') {
    if (raw.length === 0) return undefined;
    try {
      const value = BigInt(raw);
      return value > 0n ? inTimeRange(value) : undefined;
    } catch {
      return undefined;
    }
  }
  // Exact only below 2^53 ns; today's epoch nanoseconds lose up to ~256 ns as doubles.
  if (typeof raw === 'number' && Number.isFinite(raw) && raw > 0) return inTimeRange(BigInt(Math.round(raw)));
  return undefined;
}

/** The leniency noted for each int64 time written as a JSON number. */
export const INT64_NUMBER_NOTE = 'int64 times written as JSON numbers (spans)';

/**
 * The warning for each time written as a JSON number above 2^53 (every epoch time in ns since
 * 1970-04-15): JSON.parse, and so both readers, give the nearest double, not the digits.
 */
export const ROUNDED_TIME_WARNING = 'span time written as a JSON number above 2^53 ns, read as the nearest double (up to 128 ns off; OTLP/JSON writes int64 times as strings)';

function nanos(raw: unknown, ctx: ReadContext): bigint | undefined {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw > 0) {
    ctx.note(INT64_NUMBER_NOTE);
    if (raw > Number.MAX_SAFE_INTEGER) ctx.warn('', ROUNDED_TIME_WARNING);
  }
  return parseNanos(raw);
}

/** The leniency noted for each span kind written as an enum name (or its number in a string). */
export const KIND_NAME_NOTE = 'span kinds written as strings: enum names, or numbers in quotes (spans)';

/**
 * An enum written as its number in a string (`"kind": "3"`, `"code": "2"`), as a number: proto3
 * JSON parsers take it (protobuf's Python json_format falls back to `int(value)` when no enum name
 * matches, python/google/protobuf/json_format.py `_ConvertScalarFieldValue`,
 * https://github.com/protocolbuffers/protobuf), and exports that went through a tool writing every
 * number quoted carry it. Read as a word it was no kind and no status: a client span read as
 * unspecified (e2e the server's span), an error span as a success, without a word.
 */
function quotedEnum(raw: string): number | undefined {
  return /^\d{1,3}$/.test(raw) ? Number(raw) : undefined;
}

/** An OTLP span kind (enum integer, its name, or the integer in a string) as a SpanKind. */
export function otlpKind(raw: unknown): SpanKind {
  if (typeof raw === 'number') return KINDS[raw] ?? 'unspecified';
  if (typeof raw === 'string') return kindFromName(raw) ?? KINDS[quotedEnum(raw) ?? -1] ?? 'unspecified';
  return 'unspecified';
}

function kindOf(raw: unknown, ctx: ReadContext): SpanKind {
  if (typeof raw === 'string') ctx.note(KIND_NAME_NOTE);
  return otlpKind(raw);
}

/** True when an OTLP span status says ERROR. */
export function isErrorStatus(status: unknown): boolean {
  if (!isObject(status)) return false;
  const code = status['code'];
  // Status code 2 = ERROR; names as Tempo / gogo-jsonpb writes them; the number in a string (quotedEnum).
  return code === 2 || code === 'STATUS_CODE_ERROR' || code === 'ERROR' || code === 'Error' || (typeof code === 'string' && quotedEnum(code) === 2);
}

/** Returns the record, or what a valid span would have had (the skip reason). */
function convertSpan(raw: unknown, service: string, ctx: ReadContext): SpanRecord | string {
  if (!isObject(raw)) return 'a span object';
  const ids = ctx.ids;
  const traceId = ids.traceId(raw['traceId'] ?? raw['trace_id']);
  if (traceId === undefined) return 'a trace id (16 bytes, hex or base64)';
  const spanId = ids.spanId(raw['spanId'] ?? raw['span_id']);
  if (spanId === undefined) return 'a span id (8 bytes, hex or base64)';
  const startNs = nanos(raw['startTimeUnixNano'] ?? raw['start_time_unix_nano'], ctx);
  const endNs = nanos(raw['endTimeUnixNano'] ?? raw['end_time_unix_nano'], ctx);
  if (startNs === undefined || endNs === undefined) return 'start and end times (int64 ns since epoch)';
  if (endNs < startNs) return 'an end time at or after the start time';
  const name = raw['name'];
  const attributes: Record<string, AttributeValue> = otlpAttributes(raw['attributes']);
  const parentRaw = raw['parentSpanId'] ?? raw['parent_span_id'];
  const parentSpanId = parentRaw === undefined || parentRaw === '' ? undefined : ids.spanId(parentRaw);
  const links = otlpLinks(raw['links'], ids);
  const events = otlpEvents(raw['events'], (t) => nanos(t, ctx));
  const record: SpanDraft = {
    traceId,
    spanId,
    name: typeof name === 'string' ? name : '',
    service,
    kind: kindOf(raw['kind'], ctx),
    startNs,
    endNs,
    attributes,
    error: isErrorStatus(raw['status']),
  };
  if (parentSpanId !== undefined) record.parentSpanId = parentSpanId;
  if (links !== undefined) record.links = links;
  if (events !== undefined) setEvents(record, events);
  return record;
}

/** The links of an OTLP span with valid ids, or undefined for none. */
export function otlpLinks(linksRaw: unknown, ids: IdDecoder): { traceId: string; spanId: string }[] | undefined {
  if (!Array.isArray(linksRaw) || linksRaw.length === 0) return undefined;
  const links: { traceId: string; spanId: string }[] = [];
  for (const link of linksRaw as unknown[]) {
    if (!isObject(link)) continue;
    const lt = ids.traceId(link['traceId'] ?? link['trace_id']);
    const ls = ids.spanId(link['spanId'] ?? link['span_id']);
    if (lt !== undefined && ls !== undefined) links.push({ traceId: lt, spanId: ls });
  }
  return links.length > 0 ? links : undefined;
}

/** The events of an OTLP span (those with a usable time), or undefined for none. */
export function otlpEvents(eventsRaw: unknown, timeOf: (raw: unknown) => bigint | undefined): SpanEvent[] | undefined {
  if (!Array.isArray(eventsRaw) || eventsRaw.length === 0) return undefined;
  let events: SpanEvent[] | undefined;
  for (const event of eventsRaw as unknown[]) {
    if (!isObject(event)) continue;
    const timeNs = timeOf(event['timeUnixNano'] ?? event['time_unix_nano']);
    const eventName = event['name'];
    if (timeNs !== undefined) (events ??= []).push({ name: typeof eventName === 'string' ? eventName : '', timeNs });
  }
  return events;
}

/** Sets a span's events and its first-token time (the first `inference.first_token` event). */
export function setEvents(record: SpanDraft, events: SpanEvent[]): void {
  record.events = events;
  for (const event of events) {
    if (event.name !== FIRST_TOKEN_EVENT) continue;
    record.firstTokenNs = event.timeNs;
    break;
  }
}
