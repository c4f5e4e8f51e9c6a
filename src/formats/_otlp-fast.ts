/**
 * @module formats/_otlp-fast
 * Internal. A fast path for the common OTLP JSON line (the Collector's file exporter): scans the
 * line's bytes once and builds SpanRecords without a JavaScript object per JSON value. Only the
 * strings that are kept are decoded; unknown fields are skipped (and their syntax checked).
 * Small parts that need the full rules (resource, status, events, links, escaped strings) are
 * handed to `JSON.parse` and the same helpers the full reader uses, so both read alike.
 *
 * It handles the plain shape only: `{"resourceSpans":[{"resource":…,"scopeSpans":[{"spans":[…]}]}]}`
 * with camelCase keys, lowercase hex ids and valid spans. Anything else (snake_case keys,
 * wrappers, base64 or odd ids, a span the full reader would skip, a duplicate key, bad syntax)
 * makes `readOtlpLineFast` return false having changed nothing, and the caller parses that
 * line with the full reader. Leniencies it applied are noted only once the line succeeded.
 *
 * With `projection: 'analysis'`, a phase span (a known `inference.phase`, not a client span)
 * keeps only the attributes the analyzer reads from phase spans (ANALYSIS_PHASE_KEYS); every
 * other span keeps all its attributes (request and client spans carry theirs into the result,
 * and source conventions may claim spans without a phase).
 */

import type { AttributeValue, SpanKind, SpanRecord } from '../model/span.js';
import { ATTR, PHASES, ROLE_CLIENT } from '../semconv.js';
import type { ReadContext } from './_context.js';
import type { SpanDraft } from './_shared.js';
import { anyValue, otlpAttributes, otlpStringAttribute } from './attributes.js';
import { INT64_NUMBER_NOTE, isErrorStatus, KIND_NAME_NOTE, otlpEvents, otlpKind, otlpLinks, parseNanos, setEvents } from './otlp-json.js';

/** Which attributes the fast reader keeps. */
export type AttributeProjection = 'all' | 'analysis';

/** Attributes the analyzer reads from a phase span (assemble.ts, _span-columns.ts). */
export const ANALYSIS_PHASE_KEYS: readonly string[] = [ATTR.PHASE, ATTR.ROLE, ATTR.MODEL_NAME, ATTR.BATCH_SIZE];

const KNOWN_PHASES = new Set<AttributeValue>(PHASES);
const SERVICE_NAME = 'service.name';

/** Thrown (one shared instance, no stack) when a line leaves the fast path. */
const FALLBACK = { fallback: true };

const Q = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const BACKSLASH = 0x5c;

function key(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

const K_RESOURCE_SPANS = key('resourceSpans');
const K_RESOURCE = key('resource');
const K_SCOPE_SPANS = key('scopeSpans');
const K_SPANS = key('spans');
const K_TRACE_ID = key('traceId');
const K_SPAN_ID = key('spanId');
const K_PARENT = key('parentSpanId');
const K_NAME = key('name');
const K_KIND = key('kind');
const K_START = key('startTimeUnixNano');
const K_END = key('endTimeUnixNano');
const K_ATTRIBUTES = key('attributes');
const K_EVENTS = key('events');
const K_LINKS = key('links');
const K_STATUS = key('status');
const K_KEY = key('key');
const K_VALUE = key('value');
const KEEP = ANALYSIS_PHASE_KEYS.map((k) => ({ text: k, bytes: Buffer.from(k, 'utf8') }));

/** Counts of one file's fast reading, for --verbose. */
export interface FastReadCounts {
  /** Lines read by the fast path. */
  lines: number;
  /** Lines the fast path handed to the full reader. */
  fallbacks: number;
}

/** Byte scanner over one line; every method throws FALLBACK on anything off the fast path. */
class Scanner {
  pos = 0;
  /** True when the last string scanned had an escape. */
  escaped = false;
  constructor(
    readonly b: Buffer,
    readonly end: number,
  ) {}

  ws(): number {
    const b = this.b;
    let p = this.pos;
    while (p < this.end) {
      const c = b[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.pos = p;
    return p < this.end ? b[p]! : -1;
  }

  expect(c: number): void {
    if (this.ws() !== c) throw FALLBACK;
    this.pos++;
  }

  /** At a '"': moves past the string; returns the offset of its closing quote. */
  string(): number {
    const b = this.b;
    let p = this.pos + 1;
    this.escaped = false;
    for (;;) {
      if (p >= this.end) throw FALLBACK;
      const c = b[p]!;
      if (c === Q) break;
      if (c < 0x20) throw FALLBACK;
      if (c === BACKSLASH) {
        this.escaped = true;
        const e = b[p + 1];
        if (e === 0x75) {
          for (let i = 2; i < 6; i++) if (!isHex(b[p + i] ?? 0)) throw FALLBACK;
          p += 6;
          continue;
        }
        if (e !== Q && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) throw FALLBACK;
        p += 2;
        continue;
      }
      p++;
    }
    this.pos = p + 1;
    return p;
  }

  /** Skips one value of any kind, checking its syntax. */
  skip(depth = 0): void {
    if (depth > 64) throw FALLBACK;
    const c = this.ws();
    if (c === Q) {
      this.string();
    } else if (c === LBRACE) {
      this.pos++;
      if (this.ws() === RBRACE) {
        this.pos++;
        return;
      }
      for (;;) {
        if (this.ws() !== Q) throw FALLBACK;
        this.string();
        this.expect(COLON);
        this.skip(depth + 1);
        if (this.more(RBRACE)) continue;
        return;
      }
    } else if (c === LBRACKET) {
      this.pos++;
      if (this.ws() === RBRACKET) {
        this.pos++;
        return;
      }
      for (;;) {
        this.skip(depth + 1);
        if (this.more(RBRACKET)) continue;
        return;
      }
    } else if (c === 0x74) {
      this.literal('true');
    } else if (c === 0x66) {
      this.literal('false');
    } else if (c === 0x6e) {
      this.literal('null');
    } else {
      this.number();
    }
  }

  /** After a member: true at ',' (moved past it), false at `close` (moved past it). */
  more(close: number): boolean {
    const c = this.ws();
    this.pos++;
    if (c === COMMA) return true;
    if (c === close) return false;
    throw FALLBACK;
  }

  literal(word: string): void {
    for (let i = 0; i < word.length; i++) if (this.b[this.pos + i] !== word.charCodeAt(i)) throw FALLBACK;
    this.pos += word.length;
  }

  /** A JSON number (strict grammar); returns its value. */
  number(): number {
    const b = this.b;
    const start = this.pos;
    let p = start;
    if (b[p] === 0x2d) p++;
    if (b[p] === 0x30) p++;
    else if (isDigit(b[p])) while (isDigit(b[p])) p++;
    else throw FALLBACK;
    if (b[p] === 0x2e) {
      p++;
      if (!isDigit(b[p])) throw FALLBACK;
      while (isDigit(b[p])) p++;
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      p++;
      if (b[p] === 0x2b || b[p] === 0x2d) p++;
      if (!isDigit(b[p])) throw FALLBACK;
      while (isDigit(b[p])) p++;
    }
    if (p > this.end) throw FALLBACK;
    this.pos = p;
    return Number(b.toString('latin1', start, p));
  }

  /** A value as JavaScript (JSON.parse of its bytes), for small parts. */
  parse(): unknown {
    this.ws();
    const start = this.pos;
    this.skip();
    return JSON.parse(this.b.toString('utf8', start, this.pos)) as unknown;
  }

  /** A string value decoded, or undefined (and skipped) when the value is not a string. */
  text(): string | undefined {
    if (this.ws() !== Q) {
      this.skip();
      return undefined;
    }
    const start = this.pos;
    const close = this.string();
    return this.escaped ? (JSON.parse(this.b.toString('utf8', start, close + 1)) as string) : this.b.toString('utf8', start + 1, close);
  }

  /** At an object member: its key's bytes as [start, end), past the ':'. */
  key(): number {
    if (this.ws() !== Q) throw FALLBACK;
    const start = this.pos + 1;
    const close = this.string();
    // Escaped keys could spell a known key another way.
    if (this.escaped) throw FALLBACK;
    this.expect(COLON);
    this.keyEnd = close;
    return start;
  }
  keyEnd = 0;

  is(start: number, k: Buffer): boolean {
    const len = this.keyEnd - start;
    if (len !== k.length) return false;
    const b = this.b;
    for (let i = 0; i < len; i++) if (b[start + i] !== k[i]) return false;
    return true;
  }

  /** True when the key has an '_' (a snake_case spelling the full reader may prefer). */
  snake(start: number): boolean {
    return this.b.indexOf(0x5f, start) !== -1 && this.b.indexOf(0x5f, start) < this.keyEnd;
  }

  /** Opens an object or array; false when it is empty (and moved past). */
  open(c: number, close: number): boolean {
    this.expect(c);
    if (this.ws() === close) {
      this.pos++;
      return false;
    }
    return true;
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** A lowercase hex id of `chars` characters, not all zeros; FALLBACK otherwise (the full reader's rules apply). */
function hexId(s: Scanner, chars: number): string {
  if (s.ws() !== Q) throw FALLBACK;
  const start = s.pos + 1;
  const close = s.string();
  if (s.escaped || close - start !== chars) throw FALLBACK;
  const b = s.b;
  let zero = true;
  for (let i = start; i < close; i++) {
    const c = b[i]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) throw FALLBACK;
    if (c !== 0x30) zero = false;
  }
  if (zero) throw FALLBACK;
  return b.toString('latin1', start, close);
}

/** Leniencies a line applied, noted only if the whole line succeeds. */
interface Pending {
  int64Numbers: number;
  kindNames: number;
}

/** An int64 time: a string (BigInt rules) or a number (noted). */
function time(s: Scanner, pending: Pending): bigint | undefined {
  const c = s.ws();
  if (c === Q) return parseNanos(s.text());
  if (c === 0x2d || isDigit(c)) {
    const n = s.number();
    if (Number.isFinite(n) && n > 0) pending.int64Numbers++;
    return parseNanos(n);
  }
  s.skip();
  return undefined;
}

function links(value: unknown): unknown {
  // Only ids the fast path can take without the decoder's per-file state.
  if (!Array.isArray(value)) return value;
  for (const link of value as unknown[]) {
    if (typeof link !== 'object' || link === null) continue;
    const l = link as Record<string, unknown>;
    if ('trace_id' in l || 'span_id' in l) throw FALLBACK;
    const t = l['traceId'];
    const sp = l['spanId'];
    if (typeof t === 'string' && !/^[0-9a-f]{32}$/.test(t)) throw FALLBACK;
    if (typeof sp === 'string' && !/^[0-9a-f]{16}$/.test(sp)) throw FALLBACK;
  }
  return value;
}

/** One attribute list: all of it, or only the kept keys of a phase span. */
function attributes(s: Scanner, projection: AttributeProjection, kind: () => SpanKind): Record<string, AttributeValue> {
  s.ws();
  const start = s.pos;
  if (s.b[start] !== LBRACKET) {
    s.skip();
    return {};
  }
  if (projection === 'all') {
    s.skip();
    return otlpAttributes(JSON.parse(s.b.toString('utf8', start, s.pos)));
  }
  const kept: Record<string, AttributeValue> = {};
  let other = false;
  if (s.open(LBRACKET, RBRACKET)) {
    do {
      if (s.ws() !== LBRACE) throw FALLBACK;
      let keep: string | undefined;
      let valueStart = -1;
      let valueEnd = -1;
      let hasKey = false;
      let hasValue = false;
      if (s.open(LBRACE, RBRACE)) {
        do {
          const k = s.key();
          if (s.is(k, K_KEY)) {
            if (hasKey || s.ws() !== Q) throw FALLBACK;
            hasKey = true;
            const ks = s.pos + 1;
            const close = s.string();
            if (s.escaped) throw FALLBACK;
            s.keyEnd = close;
            keep = KEEP.find((x) => s.is(ks, x.bytes))?.text;
          } else if (s.is(k, K_VALUE)) {
            if (hasValue) throw FALLBACK;
            hasValue = true;
            valueStart = s.pos;
            s.skip();
            valueEnd = s.pos;
          } else {
            s.skip();
          }
        } while (s.more(RBRACE));
      }
      if (!hasKey) continue;
      if (keep === undefined) {
        other = true;
        continue;
      }
      // Only kept values are decoded.
      const v = anyValue(hasValue ? JSON.parse(s.b.toString('utf8', valueStart, valueEnd)) : undefined);
      if (v !== undefined) kept[keep] = v;
    } while (s.more(RBRACKET));
  }
  if (!other) return kept;
  const phase = kept[ATTR.PHASE];
  const isPhaseSpan = phase !== undefined && KNOWN_PHASES.has(phase) && !(kind() === 'client' && kept[ATTR.ROLE] === ROLE_CLIENT);
  return isPhaseSpan ? kept : otlpAttributes(JSON.parse(s.b.toString('utf8', start, s.pos)));
}

/** One span object; FALLBACK when the full reader would skip it or read it differently. */
function span(s: Scanner, service: string, ctx: ReadContext, projection: AttributeProjection, pending: Pending): SpanRecord {
  let traceId: string | undefined;
  let spanId: string | undefined;
  let parent: string | undefined;
  let name: string | undefined;
  let kindRaw: unknown;
  let startNs: bigint | undefined;
  let endNs: bigint | undefined;
  let attrs: Record<string, AttributeValue> | undefined;
  let eventsRaw: unknown;
  let linksRaw: unknown;
  let statusRaw: unknown;
  let seen = 0;
  const once = (bit: number): void => {
    if ((seen & bit) !== 0) throw FALLBACK;
    seen |= bit;
  };
  // The kind may come after the attributes: read it from the bytes left when needed.
  let kindFixed = false;
  const kindNow = (): SpanKind => (kindFixed ? otlpKind(kindRaw) : 'unspecified');
  let attrsStart = -1;
  if (s.ws() !== LBRACE) throw FALLBACK;
  if (s.open(LBRACE, RBRACE)) {
    do {
      const k = s.key();
      const len = s.keyEnd - k;
      if (len === 7 && s.is(k, K_TRACE_ID)) {
        once(1);
        traceId = hexId(s, 32);
      } else if (len === 6 && s.is(k, K_SPAN_ID)) {
        once(2);
        spanId = hexId(s, 16);
      } else if (s.is(k, K_PARENT)) {
        once(4);
        if (s.ws() === Q) {
          const p = s.pos;
          s.string();
          const empty = s.pos === p + 2;
          s.pos = p;
          if (empty) s.skip();
          else parent = hexIdOrZero(s);
        } else {
          s.skip();
        }
      } else if (s.is(k, K_NAME)) {
        once(8);
        name = s.text();
      } else if (s.is(k, K_KIND)) {
        once(16);
        const c = s.ws();
        if (c === Q) {
          kindRaw = s.text();
          pending.kindNames++;
        } else if (c === 0x2d || isDigit(c)) {
          kindRaw = s.number();
        } else {
          s.skip();
        }
        kindFixed = true;
      } else if (s.is(k, K_START)) {
        once(32);
        startNs = time(s, pending);
      } else if (s.is(k, K_END)) {
        once(64);
        endNs = time(s, pending);
      } else if (s.is(k, K_ATTRIBUTES)) {
        once(128);
        if (projection === 'analysis' && !kindFixed) {
          // Decide once the kind is known (a client span keeps all its attributes).
          attrsStart = s.pos;
          s.skip();
        } else {
          attrs = attributes(s, projection, kindNow);
        }
      } else if (s.is(k, K_EVENTS)) {
        once(256);
        eventsRaw = s.parse();
      } else if (s.is(k, K_LINKS)) {
        once(512);
        linksRaw = links(s.parse());
      } else if (s.is(k, K_STATUS)) {
        once(1024);
        statusRaw = s.parse();
      } else if (s.snake(k)) {
        throw FALLBACK;
      } else {
        s.skip();
      }
    } while (s.more(RBRACE));
  }
  if (traceId === undefined || spanId === undefined || startNs === undefined || endNs === undefined || endNs < startNs) throw FALLBACK;
  if (attrsStart !== -1) {
    const after = s.pos;
    s.pos = attrsStart;
    kindFixed = true;
    attrs = attributes(s, projection, kindNow);
    s.pos = after;
  }
  const events = otlpEvents(eventsRaw, (t) => {
    if (typeof t === 'number' && Number.isFinite(t) && t > 0) pending.int64Numbers++;
    return parseNanos(t);
  });
  const record: SpanDraft = {
    traceId,
    spanId,
    name: name ?? '',
    service,
    kind: otlpKind(kindRaw),
    startNs,
    endNs,
    attributes: attrs ?? {},
    error: isErrorStatus(statusRaw),
  };
  if (parent !== undefined) record.parentSpanId = parent;
  const linked = otlpLinks(linksRaw, ctx.ids);
  if (linked !== undefined) record.links = linked;
  if (events !== undefined) setEvents(record, events);
  return record;
}

/** A parent id: lowercase hex, or all zeros (no parent, as the full reader reads it). */
function hexIdOrZero(s: Scanner): string | undefined {
  const start = s.pos + 1;
  const b = s.b;
  let zero = true;
  for (let i = start; i < start + 16; i++) if (b[i] !== 0x30) zero = false;
  if (zero && b[start + 16] === Q) {
    s.string();
    return undefined;
  }
  return hexId(s, 16);
}

/** One resource's spans. */
function resourceSpans(s: Scanner, ctx: ReadContext, projection: AttributeProjection, pending: Pending, out: SpanRecord[]): void {
  if (s.ws() !== LBRACE) throw FALLBACK;
  let service = '';
  let scopesAt = -1;
  let seen = 0;
  if (s.open(LBRACE, RBRACE)) {
    do {
      const k = s.key();
      if (s.is(k, K_RESOURCE)) {
        if ((seen & 1) !== 0) throw FALLBACK;
        seen |= 1;
        const resource = s.parse();
        if (typeof resource === 'object' && resource !== null) service = otlpStringAttribute((resource as { attributes?: unknown }).attributes, SERVICE_NAME) || '';
      } else if (s.is(k, K_SCOPE_SPANS)) {
        if ((seen & 2) !== 0) throw FALLBACK;
        seen |= 2;
        // The service may come after the spans: read them once the resource is known.
        s.ws();
        scopesAt = s.pos;
        s.skip();
      } else if (s.snake(k) || s.b[k] === 0x69 /* instrumentationLibrarySpans */) {
        throw FALLBACK;
      } else {
        s.skip();
      }
    } while (s.more(RBRACE));
  }
  if (scopesAt === -1) return;
  const after = s.pos;
  s.pos = scopesAt;
  if (s.open(LBRACKET, RBRACKET)) {
    do {
      if (s.ws() !== LBRACE) throw FALLBACK;
      let spans = false;
      if (s.open(LBRACE, RBRACE)) {
        do {
          const k = s.key();
          if (!s.is(k, K_SPANS)) {
            s.skip();
            continue;
          }
          if (spans) throw FALLBACK;
          spans = true;
          if (s.open(LBRACKET, RBRACKET)) {
            do out.push(span(s, service, ctx, projection, pending));
            while (s.more(RBRACKET));
          }
        } while (s.more(RBRACE));
      }
    } while (s.more(RBRACKET));
  }
  s.pos = after;
}

/**
 * Reads one OTLP JSON line (bytes [start, end) of `b`) into `out`. Returns false, having
 * changed neither `out` nor `ctx`, when the line needs the full reader.
 */
export function readOtlpLineFast(b: Buffer, start: number, end: number, ctx: ReadContext, out: SpanRecord[], projection: AttributeProjection): boolean {
  const s = new Scanner(b, end);
  s.pos = start;
  const pending: Pending = { int64Numbers: 0, kindNames: 0 };
  const mark = out.length;
  try {
    let found = false;
    if (s.open(LBRACE, RBRACE)) {
      do {
        const k = s.key();
        if (!s.is(k, K_RESOURCE_SPANS)) {
          s.skip();
          continue;
        }
        if (found) throw FALLBACK;
        found = true;
        if (s.open(LBRACKET, RBRACKET)) {
          do resourceSpans(s, ctx, projection, pending, out);
          while (s.more(RBRACKET));
        }
      } while (s.more(RBRACE));
    }
    if (!found || s.ws() !== -1) throw FALLBACK;
  } catch (error) {
    out.length = mark;
    if (error === FALLBACK || error instanceof SyntaxError) return false;
    throw error;
  }
  if (pending.int64Numbers > 0) ctx.note(INT64_NUMBER_NOTE, pending.int64Numbers);
  if (pending.kindNames > 0) ctx.note(KIND_NAME_NOTE, pending.kindNames);
  return true;
}
