/**
 * @module formats/zipkin-json
 * Zipkin v2 JSON → SpanRecords: a span array (`/api/v2/trace/{id}`, UI download), an array of
 * arrays (`/api/v2/traces`) or a single span object. Times are microseconds. Tags are strings on
 * the wire; numeric and boolean ones are read back as numbers and booleans. The server half of a
 * shared client/server span (`shared: true`) is kept and marked `shared`.
 *
 * Spans without `timestamp` or `duration` are incomplete by Zipkin's own definition ("absent if
 * incomplete"): they are skipped with a warning rather than read as zero-length, which would
 * pull phase percentiles towards 0. Zipkin v1 (`binaryAnnotations`) is reported as unsupported.
 * Annotations are the span's events (`zipkinAnnotationEvents`).
 */

import type { AttributeValue, SpanEvent, SpanKind, SpanRecord } from '../model/span.js';
import type { ReadContext } from './_context.js';
import { FIRST_TOKEN_EVENT } from '../semconv.js';
import { at, isObject, kindFromName, microsEvents, microsToNs } from './_shared.js';
import type { SpanDraft } from './_shared.js';
import { plainAttributeValue, zipkinTagValue } from './attributes.js';
import { describeValue, TraceFormatError } from './errors.js';

function isZipkinSpan(value: unknown): boolean {
  return isObject(value) && 'traceId' in value && 'id' in value;
}

/** True when a parsed value is Zipkin v1 JSON (which this reader does not support). */
export function isZipkinV1Document(doc: unknown): boolean {
  const first = Array.isArray(doc) ? (Array.isArray(doc[0]) ? doc[0][0] : doc[0]) : doc;
  return isZipkinSpan(first) && isObject(first) && ('binaryAnnotations' in first || (Array.isArray(first['annotations']) && isObject(first['annotations'][0]) && 'endpoint' in first['annotations'][0]));
}

/** True when a parsed JSON value has one of the Zipkin v2 shapes this module reads. */
export function isZipkinDocument(doc: unknown): boolean {
  if (Array.isArray(doc)) {
    if (doc.length === 0) return true;
    const first = doc[0];
    return isZipkinSpan(first) || (Array.isArray(first) && (first.length === 0 || isZipkinSpan(first[0])));
  }
  return isZipkinSpan(doc);
}

/** Converts one parsed Zipkin v2 document, appending its spans to `out`. */
export function zipkinDocumentToSpans(doc: unknown, ctx: ReadContext, out: SpanRecord[], where: string): void {
  if (isZipkinV1Document(doc)) {
    throw new TraceFormatError(ctx.file, at(where, '$'), 'Zipkin v2 JSON', 'Zipkin v1 JSON (binaryAnnotations), which is not supported', 're-export with the v2 API: /api/v2/trace/{id}');
  }
  if (!Array.isArray(doc)) {
    if (!isZipkinSpan(doc)) throw new TraceFormatError(ctx.file, at(where, '$'), 'a Zipkin v2 span or span array', describeValue(doc));
    ctx.note('Zipkin single span object (documents)');
    convertList([doc], ctx, out, at(where, '$'));
    return;
  }
  if (doc.length > 0 && Array.isArray(doc[0])) {
    doc.forEach((trace, t) => {
      if (Array.isArray(trace)) convertList(trace, ctx, out, at(where, `$[${t}]`));
      else ctx.skip(at(where, `$[${t}]`), 'an array of Zipkin spans', describeValue(trace), 'record');
    });
    return;
  }
  convertList(doc, ctx, out, at(where, '$'));
}

function convertList(spans: unknown[], ctx: ReadContext, out: SpanRecord[], path: string): void {
  for (let i = 0; i < spans.length; i++) {
    const span = convertSpan(spans[i], ctx);
    if (typeof span === 'string') ctx.skip(`${path}[${i}]`, span, describeValue(spans[i]));
    else out.push(span);
  }
}

function convertSpan(raw: unknown, ctx: ReadContext): SpanRecord | string {
  if (!isObject(raw)) return 'a Zipkin span object';
  const ids = ctx.ids;
  const traceId = ids.traceId(raw['traceId']);
  if (traceId === undefined) return 'a traceId (16 or 32 hex)';
  const spanId = ids.spanId(raw['id']);
  if (spanId === undefined) return 'an id (16 hex)';
  const startNs = microsToNs(raw['timestamp']);
  if (startNs === undefined || startNs === 0n) return 'a timestamp (µs; absent means the span is incomplete)';
  const duration = microsToNs(raw['duration']);
  if (duration === undefined) return 'a duration (µs; absent means the span is incomplete)';

  const attributes: Record<string, AttributeValue> = {};
  let error = false;
  const tags = raw['tags'];
  if (isObject(tags)) {
    for (const key in tags) {
      const value = tags[key];
      if (key === 'error') {
        // Zipkin marks failures by the presence of the `error` tag; its value is the message.
        error = value !== 'false';
        if (typeof value === 'string' && value !== 'true' && value !== 'false' && value !== '') attributes['error.message'] = value;
        continue;
      }
      // Tags are strings on the wire; anything else is kept as its JSON text (null as "null").
      attributes[key] = typeof value === 'string' ? zipkinTagValue(value) : value === null ? 'null' : (plainAttributeValue(value) ?? 'undefined');
    }
  }
  const remote = raw['remoteEndpoint'];
  if (isObject(remote) && typeof remote['serviceName'] === 'string' && attributes['peer.service'] === undefined) {
    attributes['peer.service'] = remote['serviceName'];
  }
  const local = raw['localEndpoint'];
  const kindRaw = raw['kind'];
  // Zipkin leaves kind out for local (in-process) spans.
  const kind: SpanKind = typeof kindRaw === 'string' ? (kindFromName(kindRaw) ?? 'unspecified') : 'internal';
  const parentSpanId = raw['parentId'] === undefined ? undefined : ids.spanId(raw['parentId']);
  const name = raw['name'];
  const record: SpanDraft = {
    traceId,
    spanId,
    name: typeof name === 'string' ? name : '',
    service: isObject(local) && typeof local['serviceName'] === 'string' ? local['serviceName'] : '',
    kind,
    startNs,
    endNs: startNs + duration,
    attributes,
    error,
  };
  if (parentSpanId !== undefined) record.parentSpanId = parentSpanId;
  if (raw['shared'] === true) record.shared = true;
  // Span events travel as annotations: { timestamp (µs), value (the event name) }.
  const annotations = raw['annotations'];
  if (Array.isArray(annotations)) {
    for (const a of annotations as unknown[]) {
      if (!isObject(a) || a['value'] !== FIRST_TOKEN_EVENT) continue;
      const time = microsToNs(a['timestamp']);
      if (time !== undefined) record.firstTokenNs = time;
      break;
    }
  }
  const events = zipkinAnnotationEvents(annotations, ctx.eventsToKeep(error));
  if (events !== undefined) record.events = events;
  return record;
}

/** A span's annotations as its events: each one an event at its timestamp (µs) named by its value (`zipkinEventName`); with `keep`, only those it names. */
export function zipkinAnnotationEvents(annotations: unknown, keep?: ReadonlySet<string>): SpanEvent[] | undefined {
  return microsEvents(annotations, (a) => (typeof a['value'] === 'string' ? zipkinEventName(a['value']) : ''), keep);
}

/**
 * The event name an annotation's value gives. The Collector's Zipkin exporter writes an OTel span
 * event without attributes as an annotation whose value is the event's name, and one with
 * attributes (or dropped ones) as `name|{attributes as JSON}|dropped count`
 * (`spanEventsToZipkinAnnotations` in "pkg/translator/zipkin/zipkinv2/from_translator.go",
 * https://github.com/open-telemetry/opentelemetry-collector-contrib/blob/main/pkg/translator/zipkin/zipkinv2/from_translator.go);
 * its receiver takes the name back as the text before the first `|` (`populateSpanEvents` in
 * to_translator.go there). Only a value of that whole shape is cut, so a plain annotation
 * holding a `|` keeps its text.
 */
export function zipkinEventName(value: string): string {
  const first = value.indexOf('|');
  if (first === -1) return value;
  const last = value.lastIndexOf('|');
  if (last - first < 3 || value.charCodeAt(first + 1) !== 0x7b || value.charCodeAt(last - 1) !== 0x7d || !/^[0-9]+$/.test(value.slice(last + 1))) return value;
  return value.slice(0, first);
}
