/**
 * @module formats/_jaeger-fast
 * Internal. The default reader of a whole Jaeger JSON document (the query API / UI download
 * `{"data":[Trace…]}`, or one bare Trace): scans the document's bytes once (`_byte-scan.ts`) and
 * builds the same SpanRecords as `jaeger-json.ts` without a JavaScript object per JSON value and
 * without decoding the document to a string. Ids are matched as hex bytes, times read from their
 * digits, tag keys and values decoded only once per distinct short string, a trace's `processes`
 * read after its spans (where jaeger-query writes them), logs read as events (a time and the
 * `event` field) without decoding their other fields. Small rare parts that need the full
 * rules (inline processes, logs that name the first-token event or hold an escape, logs of an
 * unusual shape, unusual tag values) go through JSON.parse of their bytes and the same helpers
 * the full reader uses.
 *
 * Anything it does not read exactly as the full reader does (bare arrays, a data element that is
 * a span, a span the full reader would skip, base64 / opaque / `0x` ids or ids of a length that
 * could be base64, a duplicate key, an escaped key, a top-level key of another family, bad
 * syntax, a processID its trace does not list) makes `readJaegerDocumentFast` return false having changed nothing since its
 * last pause (a large document is handed on as it is read), and the caller reads the document
 * with JSON.parse and the full reader, whose first spans are those handed on.
 */

import type { SpanEvent, SpanRecord } from '../model/span.js';
import type { ReadContext } from './_context.js';
import type { SpanDraft } from './_shared.js';
import { applyJaegerTag, firstTokenLog, jaegerLogEvents } from './jaeger-json.js';
import type { JaegerTagged } from './jaeger-json.js';
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
  parse,
  Q,
  RBRACE,
  RBRACKET,
  scan,
  scanDocument,
  scanEvents,
  skip,
  spanTimes,
  stringEnd,
  text,
  times,
  value,
  ws,
} from './_byte-scan.js';

const K = {
  data: bytes('data'),
  traceID: bytes('traceID'),
  spans: bytes('spans'),
  processes: bytes('processes'),
  warnings: bytes('warnings'),
  errors: bytes('errors'),
  spanID: bytes('spanID'),
  parentSpanID: bytes('parentSpanID'),
  operationName: bytes('operationName'),
  references: bytes('references'),
  refType: bytes('refType'),
  startTime: bytes('startTime'),
  duration: bytes('duration'),
  tags: bytes('tags'),
  logs: bytes('logs'),
  process: bytes('process'),
  processID: bytes('processID'),
  serviceName: bytes('serviceName'),
  key: bytes('key'),
  type: bytes('type'),
  value: bytes('value'),
  fields: bytes('fields'),
} as const;

const CHILD_OF = bytes('CHILD_OF');
const EVENT = bytes('event');
/** The first-token event's name, looked for in logs before they are parsed. */
const FIRST_TOKEN = new ForwardSearch(Buffer.from(FIRST_TOKEN_EVENT, 'utf8'));

/** What the span being read found out; reused for every span. */
const tagged: JaegerTagged = { kind: 'unspecified', error: false, attributes: {} };

/** References of the span being read: [isChildOf, traceId, spanId] flattened. */
const refs: (string | boolean | undefined)[] = [];

/** Spans of the trace being read whose service is its `processes`' (span, processID) pairs. */
const pendingSpans: SpanDraft[] = [];
const pendingProcesses: string[] = [];

/** Calls `item` for each element of the array that starts here; any other value is skipped. */
function eachItem(item: () => void): void {
  if (ws() === LBRACKET) {
    if (open(LBRACKET, RBRACKET)) {
      do item();
      while (more(RBRACKET));
    }
  } else {
    skip();
  }
}

/** One reference object into `refs`. */
function reference(): void {
  if (ws() !== LBRACE) {
    // Not an object: ignored, as the full reader ignores it.
    skip();
    return;
  }
  let childOf = false;
  let traceId: string | undefined;
  let spanId: string | undefined;
  let seen = 0;
  if (open(LBRACE, RBRACE)) {
    do {
      key();
      if (keyIs(K.refType)) {
        seen = once(seen, 1);
        childOf = stringIs(CHILD_OF, 'CHILD_OF');
      } else if (keyIs(K.traceID)) {
        seen = once(seen, 2);
        traceId = optionalId(32);
      } else if (keyIs(K.spanID)) {
        seen = once(seen, 4);
        spanId = optionalId(16);
      } else {
        skip();
      }
    } while (more(RBRACE));
  }
  if (traceId !== undefined && spanId !== undefined) refs.push(childOf, traceId, spanId);
}

/** True when the value at the position is the string `word` (its bytes `wordBytes`), moving past it. */
function stringIs(wordBytes: Uint8Array, word: string): boolean {
  if (ws() !== Q) {
    skip();
    return false;
  }
  const start = scan.pos + 1;
  const close = stringEnd(start);
  scan.pos = close + 1;
  return scan.escaped ? JSON.parse(scan.b.utf8Slice(start - 1, close + 1)) === word : same(start, close, wordBytes);
}

/** True when bytes [start, stop) are `word`. */
function same(start: number, stop: number, word: Uint8Array): boolean {
  if (stop - start !== word.length) return false;
  const buf = scan.b;
  for (let i = 0; i < word.length; i++) if (buf[start + i] !== word[i]) return false;
  return true;
}

/** One tag object, applied to `tagged` as the full reader applies it. */
function tag(): void {
  if (ws() !== LBRACE) {
    skip();
    return;
  }
  let name: string | undefined;
  let type: unknown;
  let raw: unknown;
  let seen = 0;
  if (open(LBRACE, RBRACE)) {
    do {
      key();
      if (keyIs(K.key)) {
        seen = once(seen, 1);
        if (ws() === Q) name = text();
        else skip();
      } else if (keyIs(K.type)) {
        seen = once(seen, 2);
        type = value();
      } else if (keyIs(K.value)) {
        seen = once(seen, 4);
        raw = value();
      } else {
        skip();
      }
    } while (more(RBRACE));
  }
  if (name !== undefined) applyJaegerTag(tagged, name, type, raw);
}

/** The events of the logs `logs` read last (`jaegerLogEvents`' rules). */
let logEvents: SpanEvent[] | undefined;
/** The document's context: which span events to keep (ReadContext.eventsToKeep). */
let context: ReadContext;

/**
 * The logs at the position: the first-token time they give and their events that `keep` names
 * (into `logEvents`), by the full reader's rules: scanned (`scanEvents`), and parsed again when
 * they may name the first-token event or hold an escape.
 */
function logs(keep: ReadonlySet<string> | undefined): bigint | undefined {
  logEvents = undefined;
  if (ws() !== LBRACKET) {
    skip();
    return undefined;
  }
  const start = scan.pos;
  // No logs (nearly every span in most exports): nothing to look at.
  if (start + 1 < scan.end && scan.b[start + 1] === RBRACKET) {
    scan.pos = start + 2;
    return undefined;
  }
  scan.anyEscaped = false;
  const events = scanEvents(K.fields, eventField, jaegerLogEvents, keep);
  if (!scan.anyEscaped && !FIRST_TOKEN.within(start, scan.pos)) {
    logEvents = events;
    return undefined;
  }
  const list: unknown = JSON.parse(scan.b.utf8Slice(start, scan.pos));
  logEvents = jaegerLogEvents(list, keep);
  return firstTokenLog(list);
}

/** A log's fields (an array of field objects, each with at most one `key` and one `value`): the last `event` field's string value, '' for none; FALLBACK for any other shape. */
function eventField(): string {
  if (ws() !== LBRACKET) throw FALLBACK;
  let name = '';
  if (open(LBRACKET, RBRACKET)) {
    do {
      if (ws() !== LBRACE) throw FALLBACK;
      let isEvent = false;
      let valueAt = -1;
      let seen = 0;
      if (open(LBRACE, RBRACE)) {
        do {
          key();
          if (keyIs(K.key)) {
            seen = once(seen, 1);
            isEvent = stringIs(EVENT, 'event');
          } else if (keyIs(K.value)) {
            seen = once(seen, 2);
            ws();
            valueAt = scan.pos;
            skip();
          } else {
            skip();
          }
        } while (more(RBRACE));
      }
      if (isEvent) {
        // Only the event field's value is decoded (the others are attributes, not kept).
        name = '';
        if (valueAt !== -1 && scan.b[valueAt] === Q) {
          const after = scan.pos;
          scan.pos = valueAt;
          name = text();
          scan.pos = after;
        }
      }
    } while (more(RBRACKET));
  }
  return name;
}

/** One span object into `out` (its service set now, or once its trace's processes are read). */
function span(out: SpanRecord[]): void {
  if (ws() !== LBRACE) throw FALLBACK;
  let traceId: string | undefined;
  let spanId: string | undefined;
  let name = '';
  let startUs = NaN;
  let startRaw: unknown;
  let durationUs = NaN;
  let durationRaw: unknown;
  /** Where parentSpanID's value is: read only when no reference gave the parent (the full reader's order). */
  let parentAt = -1;
  let service: string | undefined;
  let processId: string | undefined;
  let firstTokenNs: bigint | undefined;
  let events: SpanEvent[] | undefined;
  /** Where logs read before the tags are, when which of their events to keep hangs on the error status the tags give. */
  let logsAt = -1;
  let seen = 0;
  tagged.kind = 'unspecified';
  tagged.error = false;
  tagged.attributes = {};
  refs.length = 0;
  if (open(LBRACE, RBRACE)) {
    do {
      key();
      switch (scan.keyEnd - scan.keyStart) {
        case 7:
          if (keyIs(K.traceID)) {
            seen = once(seen, 1);
            traceId = optionalId(32);
            continue;
          }
          if (keyIs(K.process)) {
            seen = once(seen, 2);
            const inline = parse();
            if (typeof inline === 'object' && inline !== null && !Array.isArray(inline)) {
              const serviceName = (inline as Record<string, unknown>)['serviceName'];
              if (typeof serviceName === 'string') service = serviceName;
            }
            continue;
          }
          break;
        case 6:
          if (keyIs(K.spanID)) {
            seen = once(seen, 4);
            spanId = optionalId(16);
            continue;
          }
          break;
        case 13:
          if (keyIs(K.operationName)) {
            seen = once(seen, 8);
            if (ws() === Q) name = text();
            else skip();
            continue;
          }
          break;
        case 10:
          if (keyIs(K.references)) {
            seen = once(seen, 16);
            eachItem(reference);
            continue;
          }
          break;
        case 9:
          if (keyIs(K.startTime)) {
            seen = once(seen, 32);
            startUs = micros();
            startRaw = lastTimeRaw();
            continue;
          }
          if (keyIs(K.processID)) {
            seen = once(seen, 64);
            if (ws() === Q) processId = text();
            else skip();
            continue;
          }
          break;
        case 8:
          if (keyIs(K.duration)) {
            seen = once(seen, 128);
            durationUs = micros();
            durationRaw = lastTimeRaw();
            continue;
          }
          break;
        case 4:
          if (keyIs(K.tags)) {
            seen = once(seen, 256);
            eachItem(tag);
            continue;
          }
          if (keyIs(K.logs)) {
            seen = once(seen, 512);
            if ((seen & 256) === 0 && context.keepDependsOnError) logsAt = scan.pos;
            firstTokenNs = logs(context.eventsToKeep(tagged.error));
            events = logEvents;
            continue;
          }
          break;
        case 12:
          if (keyIs(K.parentSpanID)) {
            seen = once(seen, 1024);
            parentAt = scan.pos;
            skip();
            continue;
          }
          break;
      }
      skip();
    } while (more(RBRACE));
  }
  // What the full reader would skip (with a warning) is its to read.
  if (traceId === undefined || spanId === undefined) throw FALLBACK;
  spanTimes(startUs, startRaw, durationUs, durationRaw);
  let parentSpanId: string | undefined;
  let links: { traceId: string; spanId: string }[] | undefined;
  for (let i = 0; i < refs.length; i += 3) {
    const refTrace = refs[i + 1] as string;
    const refSpan = refs[i + 2] as string;
    if (parentSpanId === undefined && refs[i] === true && refTrace === traceId) parentSpanId = refSpan;
    else (links ??= []).push({ traceId: refTrace, spanId: refSpan });
  }
  if (parentSpanId === undefined && parentAt !== -1) {
    const after = scan.pos;
    scan.pos = parentAt;
    parentSpanId = optionalId(16);
    scan.pos = after;
  }
  if (logsAt !== -1 && tagged.error) {
    // An error span whose tags followed its logs: its logs read again, every event kept (rare; the span is not).
    const after = scan.pos;
    scan.pos = logsAt;
    logs(context.eventsToKeep(true));
    events = logEvents;
    scan.pos = after;
  }
  const record: SpanDraft = {
    traceId,
    spanId,
    name,
    service: service ?? '',
    kind: tagged.kind,
    startNs: times.startNs,
    endNs: times.endNs,
    attributes: tagged.attributes,
    error: tagged.error,
  };
  if (parentSpanId !== undefined) record.parentSpanId = parentSpanId;
  if (links !== undefined) record.links = links;
  if (firstTokenNs !== undefined) record.firstTokenNs = firstTokenNs;
  if (events !== undefined) record.events = events;
  if (service === undefined && processId !== undefined) {
    pendingSpans.push(record);
    pendingProcesses.push(processId);
  }
  out.push(record);
}

/** A trace's `processes` object: process id → service name ('' where it has none). */
function processes(): Map<string, string> {
  const map = new Map<string, string>();
  if (ws() !== LBRACE) {
    // Not an object: no processes, as the full reader reads it.
    skip();
    return map;
  }
  if (open(LBRACE, RBRACE)) {
    do {
      key();
      const id = decode(scan.keyStart, scan.keyEnd);
      let service = '';
      if (ws() === LBRACE) {
        let seen = 0;
        if (open(LBRACE, RBRACE)) {
          do {
            key();
            if (keyIs(K.serviceName)) {
              seen = once(seen, 1);
              if (ws() === Q) service = text();
              else skip();
            } else {
              skip();
            }
          } while (more(RBRACE));
        }
      } else {
        skip();
      }
      map.set(id, service);
    } while (more(RBRACE));
  }
  return map;
}

/** One trace object (`first`: the document's first, which must look like a trace to the classifier too). */
function trace(out: SpanRecord[], first: boolean): void {
  if (ws() !== LBRACE) throw FALLBACK;
  let seen = 0;
  let services: Map<string, string> | undefined;
  pendingSpans.length = 0;
  pendingProcesses.length = 0;
  if (open(LBRACE, RBRACE)) {
    do {
      key();
      if (keyIs(K.spans)) {
        seen = once(seen, 1);
        if (ws() !== LBRACKET) throw FALLBACK;
        if (open(LBRACKET, RBRACKET)) {
          do span(out);
          while (more(RBRACKET));
        }
      } else if (keyIs(K.processes)) {
        seen = once(seen, 2);
        services = processes();
      } else if (keyIs(K.traceID)) {
        seen = once(seen, 4);
        skip();
      } else if (keyIs(K.spanID)) {
        // A span where a trace should be: the full reader's to read.
        throw FALLBACK;
      } else {
        skip();
      }
    } while (more(RBRACE));
  }
  // A data element without spans is skipped by the full reader with a warning; the first must be a trace (spans, and traceID or processes) to be Jaeger at all.
  if ((seen & 1) === 0 || (first && (seen & 6) === 0)) throw FALLBACK;
  for (let i = 0; i < pendingSpans.length; i++) {
    const service = services?.get(pendingProcesses[i]!);
    // A processID its trace does not list: the full reader warns with the span's path.
    if (service === undefined) throw FALLBACK;
    pendingSpans[i]!.service = service;
  }
}

/** Top-level keys that `classifyDocument` looks for before Jaeger's (sidecar samples, OTLP): a document with one is the full reader's. */
const OTHER_FAMILY_KEYS = ['schema', 'resourceSpans', 'resource_spans', 'batches', 'result', 'trace', 'scopeSpans', 'scope_spans', 'instrumentationLibrarySpans', 'instrumentation_library_spans'].map(bytes);

/**
 * Reads a whole Jaeger JSON document (read whole, or through a sliding window) into `out`, pausing
 * after each trace of its `data` array that leaves `out` with `batchSize` records or more, for them
 * to be handed on, and where the window must slide (`scanDocument`). Returns false when it needs the full reader: `ctx` is as it was,
 * and `out` as it was at the start or the last pause.
 */
export function readJaegerDocumentFast(window: ScanWindow, ctx: ReadContext, out: SpanRecord[], batchSize = Number.POSITIVE_INFINITY): Generator<void, boolean> {
  const resume = (): void => {
    FIRST_TOKEN.reset();
    context = ctx;
    pendingSpans.length = 0;
  };
  resume();
  return scanDocument(window, ctx, out, () => withPendingReleased(jaegerDocument(out, batchSize)), resume);
}

/** The document's reading, its last trace's pending spans let go of at its end. */
function* withPendingReleased(reading: Generator<void>): Generator<void> {
  try {
    yield* reading;
  } finally {
    pendingSpans.length = 0;
  }
}

/** The document: the envelope {"data":[Trace…]} or one bare Trace (read from its start again once its keys are known). */
function* jaegerDocument(out: SpanRecord[], batchSize: number): Generator<void> {
  if (ws() !== LBRACE) throw FALLBACK;
  const at = scan.pos;
  let envelope = false;
  let seen = 0;
  if (open(LBRACE, RBRACE)) {
    do {
      key();
      if (keyIs(K.data)) {
        seen = once(seen, 1);
        envelope = true;
        if (ws() !== LBRACKET || !open(LBRACKET, RBRACKET)) throw FALLBACK;
        yield* elements(out, batchSize, (first) => trace(out, first));
      } else if (keyIs(K.errors) && ws() !== 0x6e) {
        // The query API's errors, when not null (`jaeger-json.ts` reports them): the full reader's.
        throw FALLBACK;
      } else if (keyIs(K.spans) || keyIs(K.traceID) || keyIs(K.processes) || keyIs(K.warnings)) {
        seen |= 2;
        skip();
      } else if (OTHER_FAMILY_KEYS.some((k) => keyIs(k))) {
        throw FALLBACK;
      } else {
        skip();
      }
    } while (more(RBRACE));
  }
  if (ws() !== -1) throw FALLBACK;
  if (seen === 2) {
    // A bare Trace (the spans' syntax was checked by skipping): read it as one.
    scan.pos = at;
    trace(out, true);
  } else if (!envelope || seen !== 1) {
    throw FALLBACK;
  }
}
