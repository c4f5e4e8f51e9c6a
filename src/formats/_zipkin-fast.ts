/**
 * @module formats/_zipkin-fast
 * Internal. The default reader of a whole Zipkin v2 JSON document (a span array, as
 * `/api/v2/trace/{id}` and the UI download give it, or an array of such arrays, as
 * `/api/v2/traces` does): scans the document's bytes (`_byte-scan.ts`) and builds the same
 * SpanRecords as `zipkin-json.ts` without JSON.parse. Tags are read as the full reader reads
 * them (strings through `zipkinTagValue`, the `error` tag as the error status and its message),
 * annotations scanned as events, and parsed only where the first-token event's name (or an
 * escape) occurs, in the first span, or where their shape is one the scan leaves to the full rules.
 *
 * Anything it does not read exactly as the full reader does (a single span object, an empty
 * document, an element of an array of traces that is not an array, a first span another family
 * could claim or that looks like Zipkin v1, a span the full reader would skip, ids only the
 * IdDecoder's per-file rules read, a duplicate or escaped key, a tag key the attributes already
 * hold, bad syntax) makes `readZipkinDocumentFast` return false having changed nothing since its
 * last pause (a large document is handed on as it is read), and the caller reads the document
 * with JSON.parse and the full reader, whose first spans are those handed on.
 */

import type { AttributeValue, SpanEvent, SpanKind, SpanRecord } from '../model/span.js';
import type { ReadContext } from './_context.js';
import type { SpanDraft } from './_shared.js';
import { kindFromName, microsToNs } from './_shared.js';
import { plainAttributeValue, zipkinTagValue } from './attributes.js';
import { zipkinAnnotationEvents, zipkinEventName } from './zipkin-json.js';
import { FIRST_TOKEN_EVENT } from '../semconv.js';
import type { ScanWindow } from './_byte-scan.js';
import {
  bytes,
  decode,
  elements,
  FALLBACK,
  ForwardSearch,
  key,
  keyIs,
  lastTimeRaw,
  LBRACE,
  LBRACKET,
  micros,
  more,
  once,
  open,
  optionalId,
  Q,
  RBRACE,
  RBRACKET,
  scan,
  scanDocument,
  scanEvents,
  skip,
  spanTimes,
  text,
  times,
  value,
  ws,
} from './_byte-scan.js';

const K = {
  traceId: bytes('traceId'),
  id: bytes('id'),
  parentId: bytes('parentId'),
  name: bytes('name'),
  kind: bytes('kind'),
  timestamp: bytes('timestamp'),
  duration: bytes('duration'),
  localEndpoint: bytes('localEndpoint'),
  remoteEndpoint: bytes('remoteEndpoint'),
  serviceName: bytes('serviceName'),
  tags: bytes('tags'),
  annotations: bytes('annotations'),
  shared: bytes('shared'),
  value: bytes('value'),
} as const;

/** Keys another family's (or Zipkin v1's) classifier looks for in a document's first span: that span is the full reader's. */
const CLAIMED_KEYS = ['spanID', 'spans', 'context', 'binaryAnnotations'].map(bytes);

/** The first-token event's name, looked for in annotations before they are parsed. */
const FIRST_TOKEN = new ForwardSearch(Buffer.from(FIRST_TOKEN_EVENT, 'utf8'));
const TRUE = bytes('true');

/** An endpoint object's service name (a string), or undefined. */
function serviceName(): string | undefined {
  if (ws() !== LBRACE) {
    skip();
    return undefined;
  }
  let name: string | undefined;
  let seen = 0;
  if (open(LBRACE, RBRACE)) {
    do {
      key();
      if (keyIs(K.serviceName)) {
        seen = once(seen, 1);
        if (ws() === Q) name = text();
        else {
          name = undefined;
          skip();
        }
      } else {
        skip();
      }
    } while (more(RBRACE));
  }
  return name;
}

/** The span's tags into `attributes`; returns the error status they give. */
function tags(attributes: Record<string, AttributeValue>): boolean {
  let error = false;
  if (ws() !== LBRACE) {
    skip();
    return false;
  }
  let errorSeen = false;
  if (open(LBRACE, RBRACE)) {
    do {
      key();
      const name = decode(scan.keyStart, scan.keyEnd);
      const raw = value();
      if (name === 'error') {
        if (errorSeen) throw FALLBACK;
        errorSeen = true;
        // Zipkin marks failures by the presence of the `error` tag; its value is the message.
        error = raw !== 'false';
        if (typeof raw === 'string' && raw !== 'true' && raw !== 'false' && raw !== '') {
          if (attributes['error.message'] !== undefined) throw FALLBACK;
          attributes['error.message'] = raw;
        }
        continue;
      }
      // A key already held (a duplicate, or one the error tag set): JSON.parse's and the full reader's order decide.
      if (attributes[name] !== undefined) throw FALLBACK;
      attributes[name] = typeof raw === 'string' ? zipkinTagValue(raw) : raw === null ? 'null' : (plainAttributeValue(raw) ?? 'undefined');
    } while (more(RBRACE));
  }
  return error;
}

/** The events of the annotations `annotations` read last (`zipkinAnnotationEvents`' rules). */
let annotationEvents: SpanEvent[] | undefined;
/** The document's context: which span events to keep (ReadContext.eventsToKeep). */
let context: ReadContext;

/**
 * The annotations at the position: the first-token time they give (the full reader's rule;
 * NO_TIME when the first match has none) and their events that `keep` names (into
 * `annotationEvents`): scanned (`scanEvents`), and parsed again when they may name the
 * first-token event or hold an escape; parsed alone in the first span, where a v1 annotation
 * (`endpoint`) is the full reader's.
 */
function annotations(first: boolean, keep: ReadonlySet<string> | undefined): bigint | undefined {
  annotationEvents = undefined;
  if (ws() !== LBRACKET) {
    skip();
    return undefined;
  }
  const start = scan.pos;
  scan.anyEscaped = false;
  if (first) {
    skip();
  } else {
    const events = scanEvents(K.value, annotationName, zipkinAnnotationEvents, keep);
    if (!scan.anyEscaped && !FIRST_TOKEN.within(start, scan.pos)) {
      annotationEvents = events;
      return undefined;
    }
  }
  const list = JSON.parse(scan.b.utf8Slice(start, scan.pos)) as unknown[];
  annotationEvents = zipkinAnnotationEvents(list, keep);
  const head = list[0];
  if (first && typeof head === 'object' && head !== null && !Array.isArray(head) && 'endpoint' in head) throw FALLBACK;
  for (const a of list) {
    if (typeof a !== 'object' || a === null || Array.isArray(a) || (a as Record<string, unknown>)['value'] !== FIRST_TOKEN_EVENT) continue;
    return microsToNs((a as Record<string, unknown>)['timestamp']) ?? NO_TIME;
  }
  return undefined;
}

/** An annotation's value: the event name it gives ('' when not a string). */
function annotationName(): string {
  if (ws() === Q) return zipkinEventName(text());
  skip();
  return '';
}

/** The first matching annotation had no readable time: no first-token time, and no later one either. */
const NO_TIME = -1n;

/** One span object into `out`; `first`: the document's first (the one classifiers look at). */
function span(out: SpanRecord[], first: boolean): void {
  if (ws() !== LBRACE) throw FALLBACK;
  let traceId: string | undefined;
  let spanId: string | undefined;
  let parentAt = -1;
  let name = '';
  let kindRaw: unknown;
  let startUs = NaN;
  let startRaw: unknown;
  let durationUs = NaN;
  let durationRaw: unknown;
  let service = '';
  let remote: string | undefined;
  let shared = false;
  let firstTokenNs: bigint | undefined;
  let events: SpanEvent[] | undefined;
  /** Where annotations read before the tags are (Zipkin's own order), when which of their events to keep hangs on the error status the tags give. */
  let annotationsAt = -1;
  let error = false;
  const attributes: Record<string, AttributeValue> = {};
  let seen = 0;
  if (open(LBRACE, RBRACE)) {
    do {
      key();
      if (keyIs(K.traceId)) {
        seen = once(seen, 1);
        traceId = optionalId(32);
      } else if (keyIs(K.id)) {
        seen = once(seen, 2);
        spanId = optionalId(16);
      } else if (keyIs(K.parentId)) {
        seen = once(seen, 4);
        parentAt = scan.pos;
        skip();
      } else if (keyIs(K.name)) {
        seen = once(seen, 8);
        if (ws() === Q) name = text();
        else skip();
      } else if (keyIs(K.kind)) {
        seen = once(seen, 16);
        kindRaw = value();
      } else if (keyIs(K.timestamp)) {
        seen = once(seen, 32);
        startUs = micros();
        startRaw = lastTimeRaw();
      } else if (keyIs(K.duration)) {
        seen = once(seen, 64);
        durationUs = micros();
        durationRaw = lastTimeRaw();
      } else if (keyIs(K.localEndpoint)) {
        seen = once(seen, 128);
        service = serviceName() ?? '';
      } else if (keyIs(K.remoteEndpoint)) {
        seen = once(seen, 256);
        remote = serviceName();
      } else if (keyIs(K.tags)) {
        seen = once(seen, 512);
        error = tags(attributes);
      } else if (keyIs(K.annotations)) {
        seen = once(seen, 1024);
        if ((seen & 512) === 0 && context.keepDependsOnError) annotationsAt = scan.pos;
        firstTokenNs = annotations(first, context.eventsToKeep(error));
        events = annotationEvents;
      } else if (keyIs(K.shared)) {
        seen = once(seen, 2048);
        const c = ws();
        shared = c === 0x74 && scan.pos + 4 <= scan.end && scan.b[scan.pos + 1] === TRUE[1] && scan.b[scan.pos + 2] === TRUE[2] && scan.b[scan.pos + 3] === TRUE[3];
        skip();
      } else if (first && CLAIMED_KEYS.some((k) => keyIs(k))) {
        throw FALLBACK;
      } else {
        skip();
      }
    } while (more(RBRACE));
  }
  // Without both keys the document is not Zipkin to the classifier; without both ids the full reader skips the span.
  if (traceId === undefined || spanId === undefined) throw FALLBACK;
  spanTimes(startUs, startRaw, durationUs, durationRaw);
  if (remote !== undefined && attributes['peer.service'] === undefined) attributes['peer.service'] = remote;
  // Zipkin leaves kind out for local (in-process) spans.
  const kind: SpanKind = typeof kindRaw === 'string' ? (kindFromName(kindRaw) ?? 'unspecified') : 'internal';
  let parentSpanId: string | undefined;
  if (parentAt !== -1) {
    const after = scan.pos;
    scan.pos = parentAt;
    parentSpanId = optionalId(16);
    scan.pos = after;
  }
  if (annotationsAt !== -1 && error) {
    // An error span whose tags followed its annotations: its annotations read again, every event kept (rare; the span is not).
    const after = scan.pos;
    scan.pos = annotationsAt;
    annotations(first, context.eventsToKeep(true));
    events = annotationEvents;
    scan.pos = after;
  }
  const record: SpanDraft = { traceId, spanId, name, service, kind, startNs: times.startNs, endNs: times.endNs, attributes, error };
  if (parentSpanId !== undefined) record.parentSpanId = parentSpanId;
  if (shared) record.shared = true;
  if (firstTokenNs !== undefined && firstTokenNs !== NO_TIME) record.firstTokenNs = firstTokenNs;
  if (events !== undefined) record.events = events;
  out.push(record);
}

/**
 * Reads a whole Zipkin v2 document (read whole, or through a sliding window) into `out`, pausing
 * after each element of its array that leaves `out` with `batchSize` records or more, for them to
 * be handed on, and where the window must slide (`scanDocument`). Returns false when it needs the full reader: `ctx` is as it was, and `out`
 * as it was at the start or the last pause.
 */
export function readZipkinDocumentFast(window: ScanWindow, ctx: ReadContext, out: SpanRecord[], batchSize = Number.POSITIVE_INFINITY): Generator<void, boolean> {
  const resume = (): void => {
    FIRST_TOKEN.reset();
    context = ctx;
  };
  resume();
  return scanDocument(window, ctx, out, () => zipkinDocument(out, batchSize), resume);
}

/** How each element of the document's array is read: as a trace (an array of spans) or as a span, as the first one read is. */
function element(out: SpanRecord[]): (first: boolean) => void {
  let traces: boolean | undefined;
  return (first) => {
    traces ??= ws() === LBRACKET;
    if (traces) traceSpans(out, first);
    else span(out, first);
  };
}

/** One trace of an array of traces (an array of spans); an empty first trace leaves the classifier nothing to object to. */
function traceSpans(out: SpanRecord[], first: boolean): void {
  if (ws() !== LBRACKET) throw FALLBACK;
  if (open(LBRACKET, RBRACKET)) {
    do {
      span(out, first);
      first = false;
    } while (more(RBRACKET));
  }
}

/** The document: a span array, or an array of span arrays. */
function* zipkinDocument(out: SpanRecord[], batchSize: number): Generator<void> {
  if (!open(LBRACKET, RBRACKET)) throw FALLBACK;
  yield* elements(out, batchSize, element(out));
}
