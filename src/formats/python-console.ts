/**
 * @module formats/python-console
 * The OpenTelemetry Python SDK's `ConsoleSpanExporter` span JSON (also Ray Serve's span files):
 * `{name, context:{trace_id:"0x…", span_id}, kind:"SpanKind.X", parent_id, start_time,
 * end_time (ISO-8601 UTC, µs), status:{status_code}, attributes:{…}, links, resource}`.
 * The exporter writes pretty-printed objects back to back (or one per line); the reader hands
 * this module one object at a time.
 */

import type { AttributeValue, SpanEvent, SpanKind, SpanRecord } from '../model/span.js';
import type { ReadContext } from './_context.js';
import { at, isObject, kindFromName } from './_shared.js';
import type { SpanDraft } from './_shared.js';
import { plainAttributeValue } from './attributes.js';
import { describeValue, TraceFormatError } from './errors.js';

/** True when a parsed value is one Python console span (or an array of them). */
export function isPythonConsoleDocument(doc: unknown): boolean {
  const first = Array.isArray(doc) ? doc[0] : doc;
  return isObject(first) && isObject(first['context']) && 'trace_id' in first['context'];
}

const ISO = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$/;

/** An ISO-8601 timestamp as epoch nanoseconds, keeping sub-millisecond digits exact. */
export function isoToNs(text: unknown): bigint | undefined {
  if (typeof text !== 'string') return undefined;
  const match = ISO.exec(text);
  if (match === null) return undefined;
  // Python's exporter writes UTC with a Z; a missing zone is read as UTC too.
  const ms = Date.parse(`${match[1] ?? ''}${match[3] ?? 'Z'}`);
  if (Number.isNaN(ms)) return undefined;
  const fraction = BigInt((match[2] ?? '').padEnd(9, '0'));
  return BigInt(ms) * 1_000_000n + fraction;
}

/** Converts one parsed Python console span (or an array of them), appending to `out`. */
export function pythonConsoleDocumentToSpans(doc: unknown, ctx: ReadContext, out: SpanRecord[], where: string): void {
  const list = Array.isArray(doc) ? doc : [doc];
  if (!Array.isArray(doc) && !isPythonConsoleDocument(doc)) {
    throw new TraceFormatError(ctx.file, at(where, '$'), 'a Python ConsoleSpanExporter span', describeValue(doc));
  }
  list.forEach((raw, i) => {
    const span = convertSpan(raw, ctx);
    if (typeof span === 'string') ctx.skip(at(where, Array.isArray(doc) ? `$[${i}]` : '$'), span, describeValue(raw));
    else out.push(span);
  });
}

function convertSpan(raw: unknown, ctx: ReadContext): SpanRecord | string {
  if (!isObject(raw) || !isObject(raw['context'])) return 'a span with a context object';
  const context = raw['context'];
  const traceId = ctx.ids.traceId(context['trace_id']);
  if (traceId === undefined) return 'context.trace_id (0x-prefixed hex)';
  const spanId = ctx.ids.spanId(context['span_id']);
  if (spanId === undefined) return 'context.span_id (0x-prefixed hex)';
  const startNs = isoToNs(raw['start_time']);
  const endNs = isoToNs(raw['end_time']);
  if (startNs === undefined || endNs === undefined) return 'start_time and end_time (ISO-8601)';
  if (endNs < startNs) return 'an end time at or after the start time';
  const attributes: Record<string, AttributeValue> = {};
  if (isObject(raw['attributes'])) {
    for (const [key, value] of Object.entries(raw['attributes'])) {
      const converted = plainAttributeValue(value);
      if (converted !== undefined) attributes[key] = converted;
    }
  }
  const resource = raw['resource'];
  // Python's SDK nests them under `attributes`; Ray Serve's console output writes the resource flat.
  const resourceAttributes = !isObject(resource) ? {} : isObject(resource['attributes']) ? resource['attributes'] : resource;
  const service = resourceAttributes['service.name'];
  const status = raw['status'];
  const links: { traceId: string; spanId: string }[] = [];
  if (Array.isArray(raw['links'])) {
    for (const link of raw['links'] as unknown[]) {
      if (!isObject(link) || !isObject(link['context'])) continue;
      const lt = ctx.ids.traceId(link['context']['trace_id']);
      const ls = ctx.ids.spanId(link['context']['span_id']);
      if (lt !== undefined && ls !== undefined) links.push({ traceId: lt, spanId: ls });
    }
  }
  const events: SpanEvent[] = [];
  if (Array.isArray(raw['events'])) {
    for (const event of raw['events'] as unknown[]) {
      if (!isObject(event)) continue;
      const timeNs = isoToNs(event['timestamp']);
      if (timeNs !== undefined) events.push({ name: typeof event['name'] === 'string' ? event['name'] : '', timeNs });
    }
  }
  const parent = raw['parent_id'];
  const parentSpanId = typeof parent === 'string' ? ctx.ids.spanId(parent) : undefined;
  const name = raw['name'];
  const kind: SpanKind = typeof raw['kind'] === 'string' ? (kindFromName(raw['kind']) ?? 'unspecified') : 'unspecified';
  const record: SpanDraft = {
    traceId,
    spanId,
    name: typeof name === 'string' ? name : '',
    service: typeof service === 'string' ? service : '',
    kind,
    startNs,
    endNs,
    attributes,
    error: isObject(status) && status['status_code'] === 'ERROR',
  };
  if (parentSpanId !== undefined) record.parentSpanId = parentSpanId;
  if (links.length > 0) record.links = links;
  if (events.length > 0) record.events = events;
  return record;
}
