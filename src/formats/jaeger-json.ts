/**
 * @module formats/jaeger-json
 * Jaeger JSON → SpanRecords: the query API v1 / UI download envelope `{"data":[Trace…]}`, a bare
 * Trace object, a bare array of Traces, and `jaeger-anonymizer`'s bare array of spans with an
 * inline `process`. Times are microseconds; ids may have dropped leading zeros (padded here);
 * kind comes from the `span.kind` tag and errors from `error=true` / `otel.status_code=ERROR`;
 * the first `CHILD_OF` reference to the same trace is the parent (else `parentSpanID`), other
 * references become links. Logs are the span's events (`jaegerLogEvents`).
 */

import type { AttributeValue, SpanEvent, SpanKind, SpanRecord } from '../model/span.js';
import type { ReadContext } from './_context.js';
import { FIRST_TOKEN_EVENT } from '../semconv.js';
import { at, isObject, kindFromName, microsEvents, microsToNs } from './_shared.js';
import type { SpanDraft } from './_shared.js';
import { jaegerTagValue } from './attributes.js';
import { describeValue, TraceFormatError } from './errors.js';

function isJaegerSpan(value: unknown): boolean {
  return isObject(value) && 'spanID' in value && ('operationName' in value || 'process' in value || 'processID' in value);
}

function isJaegerTrace(value: unknown): boolean {
  return isObject(value) && Array.isArray(value['spans']) && ('traceID' in value || 'processes' in value);
}

/** True when a parsed JSON value has one of the Jaeger JSON shapes this module reads. */
export function isJaegerDocument(doc: unknown): boolean {
  if (Array.isArray(doc)) return isJaegerSpan(doc[0]) || isJaegerTrace(doc[0]);
  if (!isObject(doc)) return false;
  if (isJaegerTrace(doc)) return true;
  const data = doc['data'];
  // The query API answers a failed query with `"data": null` and its errors.
  if (data === null && apiErrors(doc) !== undefined) return true;
  return Array.isArray(data) && (data.length === 0 ? 'total' in doc || 'errors' in doc || Object.keys(doc).length === 1 : isJaegerTrace(data[0]) || isJaegerSpan(data[0]));
}

/**
 * The query API's `errors` (`[{"code":404,"msg":"trace not found"}]`, jaeger-query's
 * `structuredResponse`, https://github.com/jaegertracing/jaeger/blob/main/cmd/query/app/http_handler.go)
 * as one line, or undefined when there are none.
 */
function apiErrors(doc: Record<string, unknown>): string | undefined {
  const errors = doc['errors'];
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const each = errors.slice(0, 3).map((e) => {
    if (!isObject(e)) return describeValue(e);
    const code = typeof e['code'] === 'number' ? `${e['code']} ` : '';
    const msg = typeof e['msg'] === 'string' ? e['msg'] : describeValue(e);
    const trace = typeof e['traceID'] === 'string' ? ` (trace ${e['traceID']})` : '';
    return `${code}${msg}${trace}`;
  });
  // The API's own words, made one line: a TraceFormatError's message is one line (a message may hold newlines).
  return `${each.join('; ')}${errors.length > 3 ? `; and ${errors.length - 3} more` : ''}`.replace(/\s+/g, ' ');
}

interface Process {
  readonly serviceName: string;
}

/** Converts one parsed Jaeger document, appending its spans to `out`. */
export function jaegerDocumentToSpans(doc: unknown, ctx: ReadContext, out: SpanRecord[], where: string): void {
  if (Array.isArray(doc)) {
    if (isJaegerSpan(doc[0])) {
      ctx.note('Jaeger bare span array with inline processes (documents)');
      convertSpans(doc, {}, ctx, out, at(where, '$'));
    } else {
      doc.forEach((trace, t) => convertTrace(trace, ctx, out, at(where, `$[${t}]`)));
    }
    return;
  }
  if (!isObject(doc)) throw new TraceFormatError(ctx.file, at(where, '$'), 'a Jaeger trace or {"data":[…]}', describeValue(doc));
  if (isJaegerTrace(doc)) {
    convertTrace(doc, ctx, out, at(where, '$'));
    return;
  }
  const data = doc['data'];
  const errors = apiErrors(doc);
  if (errors !== undefined) {
    // A query that failed, wholly (no traces: the API's own words are the answer) or in part.
    if (!Array.isArray(data) || data.length === 0) throw new TraceFormatError(ctx.file, at(where, '$.errors'), 'Jaeger traces (the query API answered with errors instead)', errors);
    ctx.warn(at(where, '$.errors'), `the Jaeger query API reported errors with these traces: ${errors}`);
  }
  if (!Array.isArray(data)) throw new TraceFormatError(ctx.file, at(where, '$.data'), 'an array of Jaeger traces', describeValue(data));
  data.forEach((trace, t) => {
    if (isJaegerSpan(trace)) convertSpans([trace], {}, ctx, out, at(where, `$.data[${t}]`));
    else convertTrace(trace, ctx, out, at(where, `$.data[${t}]`));
  });
}

function convertTrace(trace: unknown, ctx: ReadContext, out: SpanRecord[], path: string): void {
  if (!isObject(trace) || !Array.isArray(trace['spans'])) {
    ctx.skip(path, 'a Jaeger trace with a spans array', describeValue(trace), 'record');
    return;
  }
  const processes = isObject(trace['processes']) ? (trace['processes'] as Record<string, Process>) : {};
  convertSpans(trace['spans'], processes, ctx, out, `${path}.spans`);
}

function convertSpans(spans: unknown[], processes: Record<string, Process>, ctx: ReadContext, out: SpanRecord[], path: string): void {
  for (let i = 0; i < spans.length; i++) {
    const span = convertSpan(spans[i], processes, ctx);
    if (typeof span === 'string') {
      ctx.skip(`${path}[${i}]`, span, describeValue(spans[i]));
    } else {
      if (namesMissingProcess(spans[i] as Record<string, unknown>, processes)) ctx.warn(`${path}[${i}]`, MISSING_PROCESS);
      out.push(span);
    }
  }
}

/** The warning for spans whose `processID` their trace's `processes` lacks (kept, service unknown). */
export const MISSING_PROCESS = "span whose processID is not among its trace's processes (service unknown)";

/** True when the span has no inline process and its `processID` is not a key of `processes`: its service is lost, not absent. */
function namesMissingProcess(raw: Record<string, unknown>, processes: Record<string, Process>): boolean {
  const id = raw['processID'];
  return typeof id === 'string' && !isObject(raw['process']) && !Object.hasOwn(processes, id);
}

function serviceOf(raw: Record<string, unknown>, processes: Record<string, Process>): string {
  const inline = raw['process'];
  if (isObject(inline) && typeof inline['serviceName'] === 'string') return inline['serviceName'];
  const id = raw['processID'];
  if (typeof id === 'string') {
    const process = processes[id];
    if (isObject(process) && typeof process.serviceName === 'string') return process.serviceName;
  }
  return '';
}

function convertSpan(raw: unknown, processes: Record<string, Process>, ctx: ReadContext): SpanRecord | string {
  if (!isObject(raw)) return 'a Jaeger span object';
  const ids = ctx.ids;
  const traceId = ids.traceId(raw['traceID']);
  if (traceId === undefined) return 'a traceID (hex)';
  const spanId = ids.spanId(raw['spanID']);
  if (spanId === undefined) return 'a spanID (hex)';
  const startNs = microsToNs(raw['startTime']);
  const duration = microsToNs(raw['duration']);
  if (startNs === undefined || startNs === 0n) return 'a startTime (µs since epoch)';
  if (duration === undefined) return 'a non-negative duration (µs)';

  const tagged: JaegerTagged = { kind: 'unspecified', error: false, attributes: {} };
  const tags = raw['tags'];
  if (Array.isArray(tags)) {
    for (const tag of tags as Record<string, unknown>[]) {
      if (!isObject(tag) || typeof tag['key'] !== 'string') continue;
      applyJaegerTag(tagged, tag['key'], tag['type'], tag['value']);
    }
  }
  const { kind, error, attributes } = tagged;

  let parentSpanId: string | undefined;
  const links: { traceId: string; spanId: string }[] = [];
  const references = raw['references'];
  if (Array.isArray(references)) {
    for (const ref of references as Record<string, unknown>[]) {
      if (!isObject(ref)) continue;
      const refTrace = ids.traceId(ref['traceID']);
      const refSpan = ids.spanId(ref['spanID']);
      if (refTrace === undefined || refSpan === undefined) continue;
      if (parentSpanId === undefined && ref['refType'] === 'CHILD_OF' && refTrace === traceId) parentSpanId = refSpan;
      else links.push({ traceId: refTrace, spanId: refSpan });
    }
  }
  if (parentSpanId === undefined && raw['parentSpanID'] !== undefined) parentSpanId = ids.spanId(raw['parentSpanID']);

  const name = raw['operationName'];
  const record: SpanDraft = {
    traceId,
    spanId,
    name: typeof name === 'string' ? name : '',
    service: serviceOf(raw, processes),
    kind,
    startNs,
    endNs: startNs + duration,
    attributes,
    error,
  };
  if (parentSpanId !== undefined) record.parentSpanId = parentSpanId;
  if (links.length > 0) record.links = links;
  const firstTokenNs = firstTokenLog(raw['logs']);
  if (firstTokenNs !== undefined) record.firstTokenNs = firstTokenNs;
  const events = jaegerLogEvents(raw['logs'], ctx.eventsToKeep(error));
  if (events !== undefined) record.events = events;
  return record;
}

/** What a span's tags give: its kind, its error status and its attributes. */
export interface JaegerTagged {
  kind: SpanKind;
  error: boolean;
  attributes: Record<string, AttributeValue>;
}

/** Applies one tag (its key, and its type and value as JSON.parse gives them) to what a span's tags give. */
export function applyJaegerTag(tagged: JaegerTagged, key: string, type: unknown, raw: unknown): void {
  const value = jaegerTagValue(type, raw);
  if (value === undefined) return;
  // span.kind and error are the span's kind and status, not attributes.
  if (key === 'span.kind') {
    tagged.kind = kindFromName(String(value)) ?? 'unspecified';
  } else if (key === 'error') {
    tagged.error = value === true || value === 'true';
  } else {
    if (key === 'otel.status_code' && value === 'ERROR') tagged.error = true;
    tagged.attributes[key] = value;
  }
}

/** Span events travel as logs: { timestamp (µs), fields: [{ key: 'event', value: name }, …] }. */
export function firstTokenLog(logs: unknown): bigint | undefined {
  if (!Array.isArray(logs)) return undefined;
  for (const log of logs as unknown[]) {
    if (!isObject(log) || !Array.isArray(log['fields'])) continue;
    const named = (log['fields'] as unknown[]).some((f) => isObject(f) && f['key'] === 'event' && f['value'] === FIRST_TOKEN_EVENT);
    if (named) return microsToNs(log['timestamp']);
  }
  return undefined;
}

/**
 * A span's logs as its events, read back as the Collector's Jaeger translator reads them
 * (`jLogsToSpanEvents` in "pkg/translator/jaeger/jaegerproto_to_traces.go",
 * https://github.com/open-telemetry/opentelemetry-collector-contrib/blob/main/pkg/translator/jaeger/jaegerproto_to_traces.go):
 * every log is one event at its timestamp (µs), named by its `event` field (the last one when
 * repeated; '' when it has none or it is not a string), its other fields the event's attributes
 * (not kept: SpanEvent has none). That is the inverse of `spanEventsToJaegerProtoLogs` in
 * "pkg/translator/jaeger/traces_to_jaegerproto.go", which writes an OTel span event as a log with
 * an `event` field holding its name, then its attributes as fields. With `keep`, only the events
 * it names.
 */
export function jaegerLogEvents(logs: unknown, keep?: ReadonlySet<string>): SpanEvent[] | undefined {
  return microsEvents(logs, logEventName, keep);
}

function logEventName(log: Record<string, unknown>): string {
  let name = '';
  const fields = log['fields'];
  if (Array.isArray(fields)) {
    for (const f of fields as unknown[]) if (isObject(f) && f['key'] === 'event') name = typeof f['value'] === 'string' ? f['value'] : '';
  }
  return name;
}
