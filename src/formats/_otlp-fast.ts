/**
 * @module formats/_otlp-fast
 * Internal. The default reader of OTLP JSON lines (the Collector's file exporter): scans each
 * line's bytes once and builds SpanRecords without a JavaScript object per JSON value. Spans and
 * attribute lists in the layout exporters write are matched in one pass (the text between two
 * values compared as a literal, eight bytes at a time); any other layout goes through general
 * rules (keys compared as bytes). Ids and times are read from their digits, and strings are
 * decoded only when they are kept; short ASCII strings that repeat (span names, attribute keys
 * and values, trace and parent ids) come from small intern tables, so a repeated name costs no
 * allocation. Skipped values (scopes, flags, unknown fields) are still checked for JSON syntax,
 * so a line JSON.parse would refuse is refused here too.
 *
 * It reads the plain shape, `{"resourceSpans":[{"resource":…,"scopeSpans":[{"spans":[…]}]}]}`,
 * with camelCase or snake_case span fields in any order, lowercase hex ids, int64 times as
 * strings or numbers, kinds as numbers or names, any attribute values, and escapes in kept
 * strings. Small rare parts that need the full rules (resource, events, links, uncommon
 * attribute values and statuses) are handed to `JSON.parse` and the same helpers the full
 * reader uses, so both read alike. Anything else (base64 or uppercase ids, wrappers, escaped
 * keys, a span the full reader would skip, a duplicate key, bad syntax) makes
 * `readOtlpLineFast` return false having changed nothing, and the caller parses that line with
 * the full reader. Leniencies it applied are noted only once the line succeeded.
 *
 * With `projection: 'analysis'`, a phase span (a known `inference.phase`, not a client span)
 * keeps only PHASE_SPAN_ATTRIBUTES (semconv.ts: what classifying a phase span reads); every
 * other span keeps all its attributes (request and client spans carry theirs into the result,
 * and source conventions may claim spans without a phase).
 */

import type { AttributeValue, SpanKind, SpanRecord } from '../model/span.js';
import { ATTR, PHASE_SPAN_ATTRIBUTES, PHASES, ROLE_CLIENT, isClientSpan } from '../semconv.js';
import {
  begin,
  COMMA,
  FALLBACK,
  FALSE,
  finish,
  isDigit,
  key,
  keyIs,
  LBRACE,
  LBRACKET,
  literal,
  more,
  nanos as wordNanos,
  number,
  once,
  open,
  parse,
  Q,
  RBRACE,
  RBRACKET,
  scan,
  skip,
  stringEnd,
  TRUE,
  ws,
  bytes,
  cutRows,
  elements,
  scanDocument,
} from './_byte-scan.js';
import type { ElementCounts, ScanWindow } from './_byte-scan.js';
import type { ReadContext } from './_context.js';
import type { IdLeniencies } from './ids.js';
import type { SpanDraft } from './_shared.js';
import { anyValue, int64Value, otlpStringAttribute } from './attributes.js';
import { SCANNED, ScannedSpans } from './_scanned-spans.js';
import { INT64_NUMBER_NOTE, isErrorStatus, KIND_NAME_NOTE, ROUNDED_TIME_WARNING, otlpEvents, otlpKind, otlpLinks, parseNanos, setEvents } from './otlp-json.js';

/** Which attributes the fast reader keeps. */
export type AttributeProjection = 'all' | 'analysis';

/** Attributes the analyzer reads from a phase span (the one list: semconv's PHASE_SPAN_ATTRIBUTES). */
export const ANALYSIS_PHASE_KEYS: readonly string[] = PHASE_SPAN_ATTRIBUTES;

/** Counts of one file's fast reading, for --verbose. */
export interface FastReadCounts {
  /** Lines read by the fast path. */
  lines: number;
  /** Lines the fast path handed to the full reader. */
  fallbacks: number;
}

const KNOWN_PHASES = new Set<AttributeValue>(PHASES);
const SERVICE_NAME = 'service.name';
const KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

const EMPTY_VIEW: DataView = new DataView(new ArrayBuffer(0));

// The line being read is the scanner's (`scan` in _byte-scan.ts: bytes, end, position, last
// key); this is a view of the same bytes for reading several at a time (literals and intern pools, 8 bytes; times, 4).
let view: DataView = EMPTY_VIEW;
/** The scanner's state under a local name (one load fewer than through the import on every use). */
const S = scan;



/** A byte string to match, as little-endian 32-bit words and the bytes left over. */
interface Literal {
  readonly length: number;
  /**
   * Its first, second, third and last eight bytes (the last overlapping the others), as the
   * doubles those bits spell: the line's bytes are read the same way and compared as doubles, a
   * fixed few compares with no loop. Equal doubles have equal bits except for ±0 and NaN, which
   * printable ASCII never spells (no zero bytes; a NaN needs a byte ≥ 0xF0), so this compares bytes.
   */
  readonly first: number;
  readonly second: number;
  readonly third: number;
  readonly last: number;
}

/** A literal of 8 to 32 bytes of printable ASCII. */
function literalOf(text: string): Literal {
  const all = Buffer.from(text, 'latin1');
  if (!/^[\x20-\x7e]{8,32}$/.test(text)) throw new Error(`literal ${text}: 8 to 32 printable ASCII characters`);
  const at = (i: number): number => (i + 8 <= all.length ? all.readDoubleLE(i) : 0);
  return { length: all.length, first: at(0), second: at(8), third: at(16), last: all.readDoubleLE(all.length - 8) };
}

const K = {
  resourceSpans: bytes('resourceSpans'),
  batches: bytes('batches'),
  result: bytes('result'),
  trace: bytes('trace'),
  resource: bytes('resource'),
  scopeSpans: bytes('scopeSpans'),
  scope_spans: bytes('scope_spans'),
  spans: bytes('spans'),
  traceId: bytes('traceId'),
  trace_id: bytes('trace_id'),
  spanId: bytes('spanId'),
  span_id: bytes('span_id'),
  parentSpanId: bytes('parentSpanId'),
  parent_span_id: bytes('parent_span_id'),
  name: bytes('name'),
  kind: bytes('kind'),
  startTimeUnixNano: bytes('startTimeUnixNano'),
  start_time_unix_nano: bytes('start_time_unix_nano'),
  endTimeUnixNano: bytes('endTimeUnixNano'),
  end_time_unix_nano: bytes('end_time_unix_nano'),
  attributes: bytes('attributes'),
  events: bytes('events'),
  links: bytes('links'),
  status: bytes('status'),
  key: bytes('key'),
  value: bytes('value'),
  code: bytes('code'),
  stringValue: bytes('stringValue'),
  intValue: bytes('intValue'),
  doubleValue: bytes('doubleValue'),
  boolValue: bytes('boolValue'),
} as const;

// The generic scanning (ws, key, skip, numbers, …) is _byte-scan.ts's. `decode` and `text` stay
// here: this reader's intern pools are its own (seeded with the constants `emit` compares by
// identity, compared eight bytes at a time through `view`, and sized for ids as well as texts).

// Intern tables: direct-mapped, keyed by a hash of the bytes; a slot holds the last string that hashed there.
// Slots are picked from the top 12 bits of a 32-bit hash (`>>> 20`): 4096 of them.
const TEXT_SLOTS = 4096;
const texts: (string | undefined)[] = new Array<string | undefined>(TEXT_SLOTS).fill(undefined);
// Ids have a table per length (trace ids, parent ids), so a hit never reads the string it returns.
const ID_SLOTS = 4096;
const traceIds: (string | undefined)[] = new Array<string | undefined>(ID_SLOTS).fill(undefined);
const parentIds: (string | undefined)[] = new Array<string | undefined>(ID_SLOTS).fill(undefined);
/** Each slot's bytes (slot × its longest), compared eight at a time with the line's. */
const TEXT_BYTES = new DataView(new ArrayBuffer(TEXT_SLOTS * 48));
const TRACE_BYTES = new DataView(new ArrayBuffer(ID_SLOTS * 32));
const PARENT_BYTES = new DataView(new ArrayBuffer(ID_SLOTS * 16));

/** Longer strings are decoded every time: they rarely repeat, and hashing them costs more than it saves. */
const MAX_INTERNED = 48;

/** The string of bytes [start, stop) (no escapes), one shared copy when it is short ASCII. */
function decode(start: number, stop: number): string {
  const len = stop - start;
  if (len === 0) return '';
  if (len > MAX_INTERNED) return S.b.utf8Slice(start, stop);
  const buf = S.b;
  // A few bytes pick the slot; the comparison checks them all (and that they are ASCII: only ASCII is stored).
  const h = Math.imul(len ^ (buf[start]! << 8) ^ (buf[stop - 1]! << 16) ^ buf[start + (len >> 1)]! ^ (buf[start + (len >> 2)]! << 24), 0x9e3779b1);
  const slot = (h >>> 20) & (TEXT_SLOTS - 1);
  const known = texts[slot];
  if (known !== undefined && known.length === len && same(TEXT_BYTES, slot * MAX_INTERNED, start, len)) return known;
  for (let i = start; i < stop; i++) if (buf[i]! >= 0x80) return S.b.utf8Slice(start, stop);
  const text = S.b.latin1Slice(start, stop);
  texts[slot] = text;
  keep(TEXT_BYTES, slot * MAX_INTERNED, start, len);
  return text;
}

/**
 * The keys and value `emit` compares against, interned as the very constants: a key read then
 * matches by identity instead of by its characters.
 */
function seedTexts(known: readonly string[]): void {
  for (const text of known) {
    const buf = Buffer.from(text, 'latin1');
    begin(buf, 0, buf.length);
    view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const copy = decode(0, buf.length);
    texts[texts.indexOf(copy)] = text;
  }
  finish();
  S.end = 0;
  view = EMPTY_VIEW;
}

/**
 * True when `pool`'s bytes at `at` are the line's bytes [start, start+len). Eight bytes at a time
 * compared as doubles, as `lit` does: a pool holds only bytes 0x20–0x7F (strings without
 * escapes or control characters, ASCII only), which never spell ±0 (no zero bytes) or a NaN
 * (its seventh byte would be ≥ 0xF0).
 */
function same(pool: DataView, at: number, start: number, len: number): boolean {
  const v = view;
  let i = 0;
  for (; i + 8 <= len; i += 8) if (pool.getFloat64(at + i, true) !== v.getFloat64(start + i, true)) return false;
  if (i + 4 <= len) {
    if (pool.getUint32(at + i, true) !== v.getUint32(start + i, true)) return false;
    i += 4;
  }
  for (; i < len; i++) if (pool.getUint8(at + i) !== v.getUint8(start + i)) return false;
  return true;
}

/** Copies the line's bytes [start, start+len) into `pool` at `at`. */
function keep(pool: DataView, at: number, start: number, len: number): void {
  const v = view;
  let i = 0;
  for (; i + 4 <= len; i += 4) pool.setUint32(at + i, v.getUint32(start + i, true), true);
  for (; i < len; i++) pool.setUint8(at + i, v.getUint8(start + i));
}

/** At a '"': the string decoded (JSON rules for escapes), moving past it. */
function text(): string {
  const start = S.pos + 1;
  const close = stringEnd(start);
  S.pos = close + 1;
  return S.escaped ? (JSON.parse(S.b.utf8Slice(start - 1, close + 1)) as string) : decode(start, close);
}

// Strings read before, looked up by where they stand: the exporters write the same keys, values
// and names followed by the same bytes (`","value":{`, `"}}],"status":{}}`, …), so the 24 bytes
// from a string's start (its own and what follows) pick its slot and are kept with it. A string
// shorter than that whose 24 bytes match the slot's (its closing quote among them) is the slot's
// string: six word compares, no scan for where it ends; a longer one (up to MAX_INTERNED) also
// compares its bytes past them and the quote after it. Only plain ASCII strings are kept (no
// quote, backslash or control character in one, so a match ends where it says).
const KNOWN_SLOTS = 4096;
/** Bytes from a string's start that pick its slot (its own, and what follows it). */
const KNOWN_CONTEXT = 24;
const KNOWN_WORDS = KNOWN_CONTEXT / 4;
const knownTexts: (string | undefined)[] = new Array<string | undefined>(KNOWN_SLOTS).fill(undefined);
/** Each slot's KNOWN_CONTEXT bytes, as little-endian 32-bit words. */
const knownContexts = new Int32Array(KNOWN_SLOTS * KNOWN_WORDS);
/** Each slot's string bytes (for the part of a long one past its context). */
const KNOWN_BYTES = new DataView(new ArrayBuffer(KNOWN_SLOTS * MAX_INTERNED));

/** The slot of the string starting at `start` (KNOWN_CONTEXT bytes must be there). */
function knownSlot(start: number): number {
  const v = view;
  const h =
    Math.imul(v.getInt32(start, true), 0x9e3779b1) ^
    Math.imul(v.getInt32(start + 4, true), 0x85ebca6b) ^
    Math.imul(v.getInt32(start + 8, true), 0xc2b2ae35) ^
    Math.imul(v.getInt32(start + 12, true), 0x27d4eb2f) ^
    Math.imul(v.getInt32(start + 16, true), 0x165667b1) ^
    Math.imul(v.getInt32(start + 20, true), 0x61c88647);
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 20;
}

/** True when the KNOWN_CONTEXT bytes at `start` are slot `slot`'s. */
function sameContext(slot: number, start: number): boolean {
  const v = view;
  const c = knownContexts;
  const at = slot * KNOWN_WORDS;
  return (
    c[at] === v.getInt32(start, true) &&
    c[at + 1] === v.getInt32(start + 4, true) &&
    c[at + 2] === v.getInt32(start + 8, true) &&
    c[at + 3] === v.getInt32(start + 12, true) &&
    c[at + 4] === v.getInt32(start + 16, true) &&
    c[at + 5] === v.getInt32(start + 20, true)
  );
}

/** Where the string `textAt` read ends: its closing quote. */
let textClose = 0;

/** The string whose bytes start at `start` (just past its opening quote), as `text` reads it; sets `textClose` and `escaped`. */
function textAt(start: number): string {
  if (start + KNOWN_CONTEXT > S.end) return newText(start, -1);
  const slot = knownSlot(start);
  const known = knownTexts[slot];
  if (known !== undefined && sameContext(slot, start)) {
    const len = known.length;
    if (len < KNOWN_CONTEXT || (start + len < S.end && S.b[start + len] === Q && same(KNOWN_BYTES, slot * MAX_INTERNED + KNOWN_CONTEXT, start + KNOWN_CONTEXT, len - KNOWN_CONTEXT))) {
      S.escaped = false;
      textClose = start + len;
      return known;
    }
  }
  return newText(start, slot);
}

/** `textAt` for a string not known at `slot` (-1: too near the end to be kept): scanned and decoded, then kept there. */
function newText(start: number, slot: number): string {
  const close = stringEnd(start);
  textClose = close;
  if (S.escaped) return JSON.parse(S.b.utf8Slice(start - 1, close + 1)) as string;
  const text = decode(start, close);
  const len = close - start;
  if (slot >= 0 && len > 0 && len <= MAX_INTERNED) {
    const buf = S.b;
    let ascii = true;
    for (let i = start; i < close; i++) if (buf[i]! >= 0x80) ascii = false;
    if (ascii) {
      knownTexts[slot] = text;
      for (let k = 0; k < KNOWN_WORDS; k++) knownContexts[slot * KNOWN_WORDS + k] = view.getInt32(start + 4 * k, true);
      keep(KNOWN_BYTES, slot * MAX_INTERNED, start, len);
    }
  }
  return text;
}

/** A trace id (32) or span id (16) at a '"' (traceIdAt, spanIdAt); FALLBACK otherwise (the full reader's rules apply). */
function hexId(chars: 32 | 16, parent: boolean): string {
  if (ws() !== Q) throw FALLBACK;
  const id = chars === 32 ? traceIdAt(S.pos + 1) : spanIdAt(S.pos + 1, parent);
  if (id === undefined) throw FALLBACK;
  S.pos += chars + 2;
  return id;
}




/** Leniencies a line applied, noted only if the whole line succeeds. */
interface Pending {
  int64Numbers: number;
  /** Of those, above 2^53: read as the nearest double (a warning). */
  roundedTimes: number;
  kindNames: number;
  /**
   * The kind note came before the int64 one: a span that counted a kind name ended before any
   * counted a time. The full reader notes each span's times (events' too) before its kind, and
   * the file's leniencies are listed in the order they were first noted.
   */
  kindsFirst: boolean;
}

/** Counts of nothing read yet: what a reading starts from, and each copy kept of them. */
function noPending(): Pending {
  return { int64Numbers: 0, roundedTimes: 0, kindNames: 0, kindsFirst: false };
}

const pending = noPending();
const NO_PENDING: Readonly<Pending> = noPending();

/** The last time read by `digitsHalves`/`digitsTime`: ns = timeHi·10⁹ + timeLo, both exact doubles. */
let timeHi = 0;
let timeLo = 0;

/**
 * Exact int64 nanoseconds from 1–19 digits into timeHi/timeLo, without BigInt: up to 15 digits
 * a double is exact; above, the last nine digits are timeLo and the rest timeHi (< 10¹⁰).
 * False for 0 (not a time, as the full reader reads it).
 */
function digitsHalves(start: number, stop: number): boolean {
  const len = stop - start;
  if (len <= 15) {
    const n = decimal(start, stop);
    if (!(n > 0)) return false;
    const hi = Math.floor(n / 1e9);
    timeHi = hi;
    timeLo = n - hi * 1e9;
    return true;
  }
  const split = stop - 9;
  const hi = decimal(start, split);
  const lo = decimal(split, stop);
  timeHi = hi;
  timeLo = lo;
  return hi !== 0 || lo !== 0;
}

/** The value of the decimal digits at [start, stop): exact while there are at most 15 (below 2⁵³). */
function decimal(start: number, stop: number): number {
  const buf = S.b;
  let n = 0;
  for (let i = start; i < stop; i++) n = n * 10 + buf[i]! - 0x30;
  return n;
}

/** A time as a BigInt into timeHi/timeLo (rare layouts: times as numbers or escaped strings). */
function setHalves(ns: bigint): void {
  timeHi = Number(ns / NS_PER_S);
  timeLo = Number(ns % NS_PER_S);
}

const NS_PER_S = 1_000_000_000n;

/** True when time a (hi, lo) is before time b. */
function before(aHi: number, aLo: number, bHi: number, bLo: number): boolean {
  return aHi < bHi || (aHi === bHi && aLo < bLo);
}

/** hi·10⁹ + lo (hi < 10¹⁰, lo < 10⁹) as a BigInt; undefined for 0. */
function nanos(hi: number, lo: number): bigint | undefined {
  return hi === 0 && lo === 0 ? undefined : wordNanos(hi, lo);
}

/** An int64 time: a string (BigInt rules) or a number (noted). */
function time(): bigint | undefined {
  const c = ws();
  if (c === Q) {
    const buf = S.b;
    const start = S.pos + 1;
    let p = start;
    const e = S.end;
    while (p < e && isDigit(buf[p]!)) p++;
    if (p < e && buf[p] === Q && p > start && p - start <= 19) {
      S.pos = p + 1;
      return digitsHalves(start, p) ? nanos(timeHi, timeLo) : undefined;
    }
    return parseNanos(text());
  }
  if (c === 0x2d || isDigit(c)) {
    const n = number();
    countNumberTime(n);
    return parseNanos(n);
  }
  skip(0);
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

/**
 * An AnyValue as an attribute value, moving past it: the one-member scalar objects
 * (`{"stringValue":…}`, `{"intValue":…}`, `{"doubleValue":…}`, `{"boolValue":…}`, `{}`) read
 * directly, anything else by the full rules (anyValue of its JSON.parse).
 */
function attributeValue(): AttributeValue | undefined {
  if (ws() !== LBRACE) {
    skip(0);
    return undefined;
  }
  const start = S.pos;
  S.pos++;
  if (ws() === RBRACE) {
    S.pos++;
    return undefined;
  }
  key();
  const c = ws();
  let value: AttributeValue | undefined;
  let known = true;
  if (keyIs(K.stringValue) && c === Q) {
    value = text();
  } else if (keyIs(K.intValue) && c === Q) {
    const s = S.pos + 1;
    const close = stringEnd(s);
    S.pos = close + 1;
    value = quotedInt(s, close);
  } else if ((keyIs(K.intValue) || keyIs(K.doubleValue)) && (c === 0x2d || isDigit(c))) {
    value = number();
  } else if (keyIs(K.boolValue) && (c === 0x74 || c === 0x66)) {
    value = c === 0x74;
    literal(c === 0x74 ? TRUE : FALSE);
  } else {
    known = false;
  }
  if (known && ws() === RBRACE) {
    S.pos++;
    return value;
  }
  // Other members or kinds: the full rules, on this value's bytes.
  S.pos = start;
  skip(0);
  return anyValue(JSON.parse(S.b.utf8Slice(start, S.pos)));
}

/** One attribute list at `pos`, by the general rules, into the attribute scratch. */
function attributeList(): void {
  if (ws() !== LBRACKET) {
    // Not a list: no attributes, as the full reader reads it.
    skip(0);
    return;
  }
  if (!open(LBRACKET, RBRACKET)) return;
  do {
    if (ws() !== LBRACE) throw FALLBACK;
    let name: string | undefined;
    let valueAt = -1;
    let hasKey = false;
    let hasValue = false;
    let value: AttributeValue | undefined;
    if (open(LBRACE, RBRACE)) {
      do {
        key();
        if (keyIs(K.key)) {
          if (hasKey || ws() !== Q) throw FALLBACK;
          hasKey = true;
          const start = S.pos + 1;
          const close = stringEnd(start);
          if (S.escaped) throw FALLBACK;
          S.pos = close + 1;
          name = decode(start, close);
        } else if (keyIs(K.value)) {
          if (hasValue) throw FALLBACK;
          hasValue = true;
          if (hasKey) {
            // The key came first (as exporters write it).
            value = attributeValue();
          } else {
            ws();
            valueAt = S.pos;
            skip(0);
          }
        } else {
          skip(0);
        }
      } while (more(RBRACE));
    }
    if (name === undefined || !hasValue) continue;
    if (valueAt !== -1) {
      // The value came before the key.
      const after = S.pos;
      S.pos = valueAt;
      value = attributeValue();
      S.pos = after;
    }
    if (value !== undefined) addAttribute(name, value);
  } while (more(RBRACKET));
}

// The span's attributes as read, in order (a key may repeat: the last value wins, as in an
// object), kept in two arrays reused from span to span: a phase span read for the analyzer
// never becomes an object.
let attributeCount = 0;
/** Entries `exportedList` read with an empty value (`{}`), since this was last set to 0. */
let emptyValues = 0;
const attributeKeys: string[] = [];
const attributeValues: AttributeValue[] = [];

function addAttribute(name: string, value: AttributeValue): void {
  attributeKeys[attributeCount] = name;
  attributeValues[attributeCount] = value;
  attributeCount++;
}

/** The attributes read, as an object (assigned in order, as JSON.parse and the full reader do). */
function attributesObject(): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (let i = 0; i < attributeCount; i++) out[attributeKeys[i]!] = attributeValues[i]!;
  return out;
}

/** Reads a span's attributes at `attrsAt` (-1: none) into the scratch, leaving `pos` after them. */
function readAttributes(attrsAt: number): void {
  attributeCount = 0;
  if (attrsAt === -1) return;
  S.pos = attrsAt;
  if (exportedList()) return;
  attributeCount = 0;
  S.pos = attrsAt;
  attributeList();
}

/**
 * A span's attributes read (readAttributes) as its SpanRecord keeps them: all of them, or, on a
 * phase span with others besides, only PHASE_SPAN_ATTRIBUTES.
 */
function recordAttributes(projection: AttributeProjection, kind: SpanKind): Record<string, AttributeValue> {
  const all = attributesObject();
  if (projection === 'all') return all;
  const phase = all[ATTR.PHASE];
  if (phase === undefined || !KNOWN_PHASES.has(phase) || isClientSpan(kind, all[ATTR.ROLE])) return all;
  let others = false;
  for (const key in all) {
    if (!PHASE_KEY_SET.has(key)) {
      others = true;
      break;
    }
  }
  if (!others) return all;
  const kept: Record<string, AttributeValue> = {};
  for (const key of PHASE_SPAN_ATTRIBUTES) if (all[key] !== undefined) kept[key] = all[key];
  return kept;
}

const PHASE_KEY_SET = new Set<string>(PHASE_SPAN_ATTRIBUTES);

const L_ENTRY = literalOf('{"key":"');
const L_VALUE = literalOf(',"value":{');
const L_STRING_VALUE = literalOf('"stringValue":"');
const L_INT_VALUE = literalOf('"intValue":');
const L_DOUBLE_VALUE = literalOf('"doubleValue":');
const L_BOOL_VALUE = literalOf('"boolValue":');
/** `true`, and the first four bytes of `false`, as little-endian words. */
const TRUE_WORD = Buffer.from('true').readUInt32LE(0);
const FALS_WORD = Buffer.from('fals').readUInt32LE(0);

/**
 * An attribute list at `pos` in the exporters' layout: `[{"key":"…","value":{"stringValue":"…"}},…]`
 * with one scalar per value (or none), into the attribute scratch. False as soon as the list is
 * laid out otherwise (the scratch is then to be dropped).
 */
function exportedList(): boolean {
  const buf = S.b;
  const e = S.end;
  let p = S.pos;
  if (!(p + 1 < e && buf[p] === LBRACKET)) return false;
  p++;
  if (buf[p] === RBRACKET) {
    S.pos = p + 1;
    return true;
  }
  for (;;) {
    if (!lit(p, L_ENTRY)) return false;
    const name = textAt(p + L_ENTRY.length);
    // An escaped key could spell a known key another way.
    if (S.escaped) return false;
    p = textClose + 1;
    if (!lit(p, L_VALUE)) return false;
    p += L_VALUE.length;
    let value: AttributeValue | undefined;
    if (p < e && buf[p] === RBRACE) {
      // An empty value: unset (counted: the resource's reading needs to know).
      emptyValues++;
    } else if (lit(p, L_STRING_VALUE)) {
      value = textAt(p + L_STRING_VALUE.length);
      p = textClose + 1;
    } else if (lit(p, L_INT_VALUE)) {
      p += L_INT_VALUE.length;
      if (p < e && buf[p] === Q) {
        // Short digit strings (nearly all counts and sizes) read straight into a number: up to
        // 15 digits is below 2⁵³, so exactly what Number() gives; anything else by int64Value.
        const start = p + 1;
        const q = digits(start);
        if (q > start && q - start <= 15 && q < e && buf[q] === Q) {
          value = decimal(start, q);
          p = q + 1;
        } else {
          const close = stringEnd(start);
          value = quotedInt(start, close);
          p = close + 1;
        }
      } else {
        S.pos = p;
        if (!(p < e && (buf[p] === 0x2d || isDigit(buf[p]!)))) return false;
        value = number();
        p = S.pos;
      }
    } else if (lit(p, L_DOUBLE_VALUE)) {
      p += L_DOUBLE_VALUE.length;
      S.pos = p;
      if (!(p < e && (buf[p] === 0x2d || isDigit(buf[p]!)))) return false;
      value = number();
      p = S.pos;
    } else if (lit(p, L_BOOL_VALUE)) {
      p += L_BOOL_VALUE.length;
      if (p + 4 <= e && view.getUint32(p, true) === TRUE_WORD) {
        value = true;
        p += 4;
      } else if (p + 5 <= e && view.getUint32(p, true) === FALS_WORD && buf[p + 4] === 0x65) {
        value = false;
        p += 5;
      } else {
        return false;
      }
    } else {
      return false;
    }
    // The value's and the entry's closing braces.
    if (!(p + 1 < e && buf[p] === RBRACE && buf[p + 1] === RBRACE)) return false;
    p += 2;
    if (value !== undefined) addAttribute(name, value);
    const c = p < e ? buf[p] : -1;
    if (c === COMMA) {
      p++;
      continue;
    }
    if (c === RBRACKET) {
      S.pos = p + 1;
      return true;
    }
    return false;
  }
}

/** A quoted int64 attribute value the digit loop did not take (long, signed, escaped, empty): int64Value's rules. */
function quotedInt(start: number, close: number): AttributeValue {
  return int64Value(S.escaped ? (JSON.parse(S.b.utf8Slice(start - 1, close + 1)) as string) : decode(start, close));
}

/** A span status: true when its code says ERROR (isErrorStatus's rules); the common `{}` and `{"code":N}` read directly. */
function errorStatus(): boolean {
  const start = S.pos;
  if (ws() !== LBRACE) return isErrorStatus(parse());
  S.pos++;
  if (ws() === RBRACE) {
    S.pos++;
    return false;
  }
  key();
  const c = ws();
  if (keyIs(K.code) && (c === 0x2d || isDigit(c))) {
    const code = number();
    if (ws() === RBRACE) {
      S.pos++;
      return code === 2;
    }
  }
  S.pos = start;
  return isErrorStatus(parse());
}



// The span layout exporters write (the Collector's, in proto field order, empty fields left out):
// each literal is what comes between two values.
const L_TRACE = literalOf('{"traceId":"');
const L_SPAN = literalOf('","spanId":"');
const L_TRACE_STATE = literalOf(',"traceState":"');
const L_PARENT = literalOf(',"parentSpanId":"');
const L_FLAGS = literalOf(',"flags":');
const L_NAME = literalOf(',"name":"');
const L_KIND = literalOf(',"kind":');
const L_START = literalOf(',"startTimeUnixNano":"');
const L_END = literalOf(',"endTimeUnixNano":"');
const L_ATTRIBUTES = literalOf(',"attributes":');
const L_DROPPED_ATTRIBUTES = literalOf(',"droppedAttributesCount":');
const L_DROPPED_EVENTS = literalOf(',"droppedEventsCount":');
const L_DROPPED_LINKS = literalOf(',"droppedLinksCount":');
const L_STATUS = literalOf(',"status":');

/** True when the bytes at `p` are `l`. */
function lit(p: number, l: Literal): boolean {
  const length = l.length;
  if (p + length > S.end) return false;
  const v = view;
  if (v.getFloat64(p, true) !== l.first || v.getFloat64(p + length - 8, true) !== l.last) return false;
  if (length > 16 && v.getFloat64(p + 8, true) !== l.second) return false;
  return length <= 24 || v.getFloat64(p + 16, true) === l.third;
}

/** Past the digits at `p` (none: p). */
function digits(p: number): number {
  const buf = S.b;
  const e = S.end;
  while (p < e && isDigit(buf[p]!)) p++;
  return p;
}

// Ids. A trace's spans repeat its trace id, and siblings their parent's: each is looked up in a
// table (trace ids; span ids seen as parents) at the slot its last four bytes pick (ids are
// random), and a match of the bytes with the id the slot holds (only valid ids are kept) needs
// no other check. The sizes are fixed so the comparisons are a few loads with no loop.

/** The id table slot for an id whose last four bytes are at `p`. */
function idSlot(p: number): number {
  return Math.imul(view.getInt32(p, true), 0x9e3779b1) >>> 20;
}

/**
 * A trace id (32 lowercase hex digits, not all zeros) at `p` followed by a quote, or undefined
 * (bad, all zeros, or another length); one string per id while its slot holds it.
 */
function traceIdAt(p: number): string | undefined {
  if (p + 32 >= S.end || S.b[p + 32] !== Q) return undefined;
  const v = view;
  const slot = idSlot(p + 28);
  const at = slot * 32;
  const known = traceIds[slot];
  // Compared as doubles, as `lit` does: hex digits never spell ±0 or a NaN.
  if (
    known !== undefined &&
    TRACE_BYTES.getFloat64(at, true) === v.getFloat64(p, true) &&
    TRACE_BYTES.getFloat64(at + 8, true) === v.getFloat64(p + 8, true) &&
    TRACE_BYTES.getFloat64(at + 16, true) === v.getFloat64(p + 16, true) &&
    TRACE_BYTES.getFloat64(at + 24, true) === v.getFloat64(p + 24, true)
  ) {
    return known;
  }
  if (!hexDigits(p, 32)) return undefined;
  const id = ascii32(S.b, p);
  traceIds[slot] = id;
  keep(TRACE_BYTES, at, p, 32);
  return id;
}

/**
 * A span id (16 lowercase hex digits, not all zeros) at `p` followed by a quote, or undefined.
 * `parent` for a parent id, which siblings repeat: kept in the table. A span's own id is only
 * looked up there: children are exported before their parent, so a parent's id is usually in
 * the table when its span comes, and the span gets the very string its children hold (no new
 * string, and the analyzer's lookups of that id compare one object).
 */
function spanIdAt(p: number, parent: boolean): string | undefined {
  if (p + 16 >= S.end || S.b[p + 16] !== Q) return undefined;
  const v = view;
  const slot = idSlot(p + 12);
  const at = slot * 16;
  const known = parentIds[slot];
  if (known !== undefined && PARENT_BYTES.getFloat64(at, true) === v.getFloat64(p, true) && PARENT_BYTES.getFloat64(at + 8, true) === v.getFloat64(p + 8, true)) {
    return known;
  }
  if (!hexDigits(p, 16)) return undefined;
  const id = ascii16(S.b, p);
  if (parent) {
    parentIds[slot] = id;
    keep(PARENT_BYTES, at, p, 16);
  }
  return id;
}

/**
 * True when the `chars` bytes at `p` (a multiple of 4) are lowercase hex digits, not all '0'.
 * Four at a time (SWAR): with every byte below 0x80, a byte b is a digit when b ^ 0x30 < 10 and
 * a letter a–f when b ^ 0x60 is 1–6; each test sets a byte's top bit by an addition that cannot
 * carry into the next byte.
 */
/** Every byte's top bit, as the int32 a bitwise `&` gives. */
const TOP_BITS = 0x80808080 | 0;

function hexDigits(p: number, chars: number): boolean {
  const v = view;
  let zeros = 0;
  for (let i = p; i < p + chars; i += 4) {
    const w = v.getUint32(i, true);
    const d = w ^ 0x30303030;
    const l = w ^ 0x60606060;
    const digit = ~(d + 0x76767676);
    const letter = (l + 0x7f7f7f7f) & ~(l + 0x79797979);
    if ((w & 0x80808080) !== 0 || ((digit | letter) & 0x80808080) !== TOP_BITS) return false;
    if (w === 0x30303030) zeros++;
  }
  return zeros * 4 !== chars;
}

// Ids as strings made in JavaScript (String.fromCharCode of the bytes): half the cost of
// Buffer's latin1Slice, a call into C++, for strings this short.

/** The 16 ASCII bytes at `p` as a string. */
function ascii16(b: Buffer, p: number): string {
  return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!, b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!, b[p + 12]!, b[p + 13]!, b[p + 14]!, b[p + 15]!);
}

/** The 32 ASCII bytes at `p` as a string. */
function ascii32(b: Buffer, p: number): string {
  return String.fromCharCode(
    b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!, b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!, b[p + 12]!, b[p + 13]!, b[p + 14]!, b[p + 15]!,
    b[p + 16]!, b[p + 17]!, b[p + 18]!, b[p + 19]!, b[p + 20]!, b[p + 21]!, b[p + 22]!, b[p + 23]!, b[p + 24]!, b[p + 25]!, b[p + 26]!, b[p + 27]!, b[p + 28]!, b[p + 29]!, b[p + 30]!, b[p + 31]!,
  );
}

/**
 * The four ASCII digits at `p` as a number (0–9999), or -1 when they are not all digits: one
 * 32-bit load (SWAR: a digit's high nibble is 3, and adding 6 keeps it 3 only up to '9').
 */
function four(p: number): number {
  const w = view.getUint32(p, true);
  if (((w & 0xf0f0f0f0) | (((w + 0x06060606) & 0xf0f0f0f0) >>> 4)) !== 0x33333333) return -1;
  // Each byte 0–9 (no borrows): pairs first (10·d0 + d1 and 10·d2 + d3, no carries), then the two pairs.
  const d = w - 0x30303030;
  const pairs = (d * 10 + (d >>> 8)) & 0x00ff00ff;
  return (pairs & 0xff) * 100 + (pairs >>> 16);
}

/** Times as digits in quotes at `p` (just past the opening quote) into timeHi/timeLo; sets `pos` past the closing quote. False when not a time here. */
function digitsTime(p: number): boolean {
  const buf = S.b;
  if (p + 19 < S.end && buf[p + 19] === Q) {
    // Today's times: 19 digits, read four at a time.
    const a = four(p);
    const b = four(p + 4);
    const c = four(p + 10);
    const d = four(p + 14);
    const e = buf[p + 8]! - 0x30;
    const f = buf[p + 9]! - 0x30;
    const g = buf[p + 18]! - 0x30;
    if ((a | b | c | d) >= 0 && e >>> 0 <= 9 && f >>> 0 <= 9 && g >>> 0 <= 9) {
      const hi = a * 1e6 + b * 100 + e * 10 + f;
      const lo = c * 1e5 + d * 10 + g;
      S.pos = p + 20;
      timeHi = hi;
      timeLo = lo;
      return hi !== 0 || lo !== 0;
    }
  }
  const stop = digits(p);
  if (stop === p || stop - p > 19 || stop >= S.end || S.b[stop] !== Q) return false;
  S.pos = stop + 1;
  return digitsHalves(p, stop);
}

/**
 * The span at \`pos\` when it is written in the exporters' layout (minified, fields in proto order,
 * hex ids, times as digit strings, a kind 0–5, no events or links) and valid: read into the
 * current span (then `emit` it); false otherwise, with nothing kept (the caller reads it again by
 * the general rules, which decide what it is).
 */
function exportedSpan(): boolean {
  const buf = S.b;
  let p = S.pos;
  if (!lit(p, L_TRACE)) return false;
  p += L_TRACE.length;
  const traceId = traceIdAt(p);
  if (traceId === undefined) return false;
  p += 32;
  if (!lit(p, L_SPAN)) return false;
  p += L_SPAN.length;
  const spanId = spanIdAt(p, false);
  if (spanId === undefined) return false;
  p += 17;
  // An optional field's literal is compared only when its key's first letter (after `,"`) says it may be there.
  if (buf[p + 2] === 0x74 /* t */ && lit(p, L_TRACE_STATE)) {
    p = stringEnd(p + L_TRACE_STATE.length) + 1;
  }
  let parent: string | undefined;
  if (buf[p + 2] === 0x70 /* p */ && lit(p, L_PARENT)) {
    p += L_PARENT.length;
    if (buf[p] === Q) {
      p++;
    } else {
      parent = spanIdAt(p, true);
      if (parent === undefined) {
        // All zeros: no parent, as the full reader reads it.
        let zero = p + 16 < S.end && buf[p + 16] === Q;
        for (let i = p; zero && i < p + 16; i++) if (buf[i] !== 0x30) zero = false;
        if (!zero) return false;
      }
      p += 17;
    }
  }
  if (buf[p + 2] === 0x66 /* f */ && lit(p, L_FLAGS)) {
    p += L_FLAGS.length;
    const stop = digits(p);
    if (stop === p) return false;
    p = stop;
  }
  if (!lit(p, L_NAME)) return false;
  const name = textAt(p + L_NAME.length);
  p = textClose + 1;
  let kind = 0;
  if (buf[p + 2] === 0x6b /* k */ && lit(p, L_KIND)) {
    p += L_KIND.length;
    const k = buf[p]! - 0x30;
    // One digit 0–5, then the comma before the start time (any other byte: not this layout).
    if (!(k >= 0 && k <= 5) || buf[p + 1] !== COMMA) return false;
    kind = k;
    p++;
  }
  if (!lit(p, L_START)) return false;
  if (!digitsTime(p + L_START.length)) return false;
  const startHi = timeHi;
  const startLo = timeLo;
  p = S.pos;
  if (!lit(p, L_END)) return false;
  if (!digitsTime(p + L_END.length) || before(timeHi, timeLo, startHi, startLo)) return false;
  p = S.pos;
  if (buf[p + 2] === 0x61 /* a */ && lit(p, L_ATTRIBUTES)) {
    readAttributes(p + L_ATTRIBUTES.length);
    p = S.pos;
  } else {
    attributeCount = 0;
  }
  if (buf[p + 2] === 0x64 /* d */) {
    p = droppedCounts(p);
    if (p < 0) return false;
  }
  let error = false;
  if (buf[p + 2] === 0x73 /* s */ && lit(p, L_STATUS)) {
    p += L_STATUS.length;
    if (buf[p] === LBRACE && buf[p + 1] === RBRACE) {
      p += 2;
    } else {
      S.pos = p;
      error = errorStatus();
      p = S.pos;
    }
  }
  if (p >= S.end || buf[p] !== RBRACE) return false;
  S.pos = p + 1;
  current.traceId = traceId;
  current.spanId = spanId;
  current.parent = parent;
  current.name = name;
  current.kind = kind;
  current.startHi = startHi;
  current.startLo = startLo;
  current.endHi = timeHi;
  current.endLo = timeLo;
  current.error = error;
  return true;
}

/** The span just read (exportedSpan, or span without events and links), its attributes in the scratch. */
interface CurrentSpan {
  traceId: string;
  spanId: string;
  parent: string | undefined;
  name: string;
  /** Index into KINDS. */
  kind: number;
  startHi: number;
  startLo: number;
  endHi: number;
  endLo: number;
  error: boolean;
}

const current: CurrentSpan = { traceId: '', spanId: '', parent: undefined, name: '', kind: 0, startHi: 0, startLo: 0, endHi: 0, endLo: 0, error: false };

// Where spans go: SpanRecords, or (`readOtlpLineFast` given a ScannedSpans) rows of columns.
let records: SpanRecord[] = [];

let scanned: ScannedSpans | undefined;
let projection: AttributeProjection = 'all';

const PHASE_INDEX = new Map<AttributeValue, number>(PHASES.map((p, i) => [p, i]));
seedTexts([ATTR.PHASE, ATTR.ROLE, ATTR.MODEL_NAME, ATTR.BATCH_SIZE, ROLE_CLIENT, ...PHASES]);

/**
 * Hands on the current span: a row of columns when it is in our convention (a known phase,
 * or a model name without a phase: what source conventions never touch, and what the analyzer
 * reads without an object), else a SpanRecord.
 */
function emit(service: string): void {
  const c = current;
  const rows = scanned;
  if (rows !== undefined) {
    // The values an object of these attributes would hold (the last one set wins), and the
    // order it would hold them in (a phase row's record keeps it).
    let phase: AttributeValue | undefined;
    let role: AttributeValue | undefined;
    let model: AttributeValue | undefined;
    let batch: AttributeValue | undefined;
    let order = 0;
    let others = false;
    for (let i = 0; i < attributeCount; i++) {
      const key = attributeKeys[i]!;
      const value = attributeValues[i]!;
      if (key === ATTR.PHASE) {
        if (phase === undefined) order = order * 5 + 1;
        phase = value;
      } else if (key === ATTR.ROLE) {
        if (role === undefined) order = order * 5 + 2;
        role = value;
      } else if (key === ATTR.MODEL_NAME) {
        if (model === undefined) order = order * 5 + 3;
        model = value;
      } else if (key === ATTR.BATCH_SIZE) {
        if (batch === undefined) order = order * 5 + 4;
        batch = value;
      } else if (key !== '__proto__') {
        // (An object ignores a `__proto__` key with a plain value.)
        others = true;
      }
    }
    const phaseIndex = phase === undefined ? -1 : (PHASE_INDEX.get(phase) ?? -2);
    if (phaseIndex >= 0 || (phase === undefined && model !== undefined)) {
      const client = isClientSpan(KINDS[c.kind]!, role);
      const request = !client && phaseIndex < 0;
      const i = rows.next();
      rows.records[i] = undefined;
      rows.traceIds[i] = c.traceId;
      rows.ids[i] = c.spanId;
      rows.parents[i] = c.parent;
      rows.names[i] = c.name;
      rows.services[i] = service;
      rows.kinds[i] = c.kind;
      rows.flags[i] = (request ? SCANNED.REQUEST : 0) | (client ? SCANNED.CLIENT : 0) | (c.error ? SCANNED.ERROR : 0);
      rows.phases[i] = phaseIndex;
      rows.startHi[i] = c.startHi;
      rows.startLo[i] = c.startLo;
      rows.endHi[i] = c.endHi;
      rows.endLo[i] = c.endLo;
      rows.batchValues[i] = batch;
      if (request || client) {
        rows.attributes[i] = attributesObject();
        rows.roles[i] = undefined;
        rows.models[i] = undefined;
      } else {
        rows.attributes[i] = null;
        rows.roles[i] = role;
        rows.models[i] = model;
        rows.orders[i] = others ? canonicalOrder(role, model, batch) : order;
      }
      rows.length = i + 1;
      rows.direct++;
      return;
    }
  }
  const record: SpanDraft = {
    traceId: c.traceId,
    spanId: c.spanId,
    name: c.name,
    service,
    kind: KINDS[c.kind]!,
    startNs: nanos(c.startHi, c.startLo)!,
    endNs: nanos(c.endHi, c.endLo)!,
    attributes: recordAttributes(projection, KINDS[c.kind]!),
    error: c.error,
  };
  if (c.parent !== undefined) record.parentSpanId = c.parent;
  if (rows !== undefined) rows.pushRecord(record);
  else records.push(record);
}

/** A phase row's attribute order when it has other attributes too (its record keeps PHASE_SPAN_ATTRIBUTES' order). */
function canonicalOrder(role: AttributeValue | undefined, model: AttributeValue | undefined, batch: AttributeValue | undefined): number {
  let order = 1;
  if (role !== undefined) order = order * 5 + 2;
  if (model !== undefined) order = order * 5 + 3;
  if (batch !== undefined) order = order * 5 + 4;
  return order;
}

const DROPPED = [L_DROPPED_ATTRIBUTES, L_DROPPED_EVENTS, L_DROPPED_LINKS];

/** Past the dropped counts at `p` (those present, in proto order), or -1 when one has no digits. Apart from exportedSpan: exporters leave out zero counts, so this rarely runs. */
function droppedCounts(p: number): number {
  const buf = S.b;
  for (const dropped of DROPPED) {
    if (buf[p + 2] === 0x64 /* d */ && lit(p, dropped)) {
      p += dropped.length;
      const stop = digits(p);
      if (stop === p) return -1;
      p = stop;
    }
  }
  return p;
}

/** An event's time by the full reader's rules, counting int64 numbers for the note. */
function eventTime(t: unknown): bigint | undefined {
  if (typeof t === 'number') countNumberTime(t);
  return parseNanos(t);
}

/** Counts a time written as a JSON number, as the full reader notes and warns about it. */
function countNumberTime(n: number): void {
  if (!Number.isFinite(n) || n <= 0) return;
  pending.int64Numbers++;
  if (n > Number.MAX_SAFE_INTEGER) pending.roundedTimes++;
}

/** At the end of a span: the kind note comes first when it counted a kind name and no span before it a time (`Pending.kindsFirst`). */
function kindsNotedFirst(): void {
  if (pending.kindNames > 0 && pending.int64Numbers === 0) pending.kindsFirst = true;
}

/** One span object; FALLBACK when the full reader would skip it or read it differently. */
function span(service: string, ctx: ReadContext): void {
  let traceId: string | undefined;
  let spanId: string | undefined;
  let parent: string | undefined;
  let name: string | undefined;
  let kind: SpanKind = 'unspecified';
  let startNs: bigint | undefined;
  let endNs: bigint | undefined;
  let eventsRaw: unknown;
  let linksRaw: unknown;
  let error = false;
  let seen = 0;
  attributeCount = 0;
  if (ws() !== LBRACE) throw FALLBACK;
  if (open(LBRACE, RBRACE)) {
    do {
      key();
      switch (S.keyEnd - S.keyStart) {
        case 4:
          if (keyIs(K.name)) {
            seen = once(seen, 8);
            if (ws() === Q) name = text();
            else skip(0);
            continue;
          }
          if (keyIs(K.kind)) {
            seen = once(seen, 16);
            const c = ws();
            if (c === Q) {
              kind = otlpKind(text());
              pending.kindNames++;
            } else if (c === 0x2d || isDigit(c)) {
              kind = KINDS[number()] ?? 'unspecified';
            } else {
              skip(0);
            }
            continue;
          }
          break;
        case 6:
          if (keyIs(K.spanId)) {
            seen = once(seen, 2);
            spanId = hexId(16, false);
            continue;
          }
          if (keyIs(K.status)) {
            seen = once(seen, 1024);
            error = errorStatus();
            continue;
          }
          if (keyIs(K.events)) {
            seen = once(seen, 256);
            eventsRaw = parse();
            continue;
          }
          break;
        case 7:
          if (keyIs(K.traceId) || keyIs(K.span_id)) {
            if (S.b[S.keyStart] === 0x74) {
              seen = once(seen, 1);
              traceId = hexId(32, false);
            } else {
              seen = once(seen, 2);
              spanId = hexId(16, false);
            }
            continue;
          }
          break;
        case 8:
          if (keyIs(K.trace_id)) {
            seen = once(seen, 1);
            traceId = hexId(32, false);
            continue;
          }
          break;
        case 10:
          if (keyIs(K.attributes)) {
            seen = once(seen, 128);
            ws();
            readAttributes(S.pos);
            continue;
          }
          break;
        case 12:
        case 14:
          if (keyIs(K.parentSpanId) || keyIs(K.parent_span_id)) {
            seen = once(seen, 4);
            parent = parentId();
            continue;
          }
          break;
        case 15:
        case 18:
          if (keyIs(K.endTimeUnixNano) || keyIs(K.end_time_unix_nano)) {
            seen = once(seen, 64);
            endNs = time();
            continue;
          }
          break;
        case 17:
        case 20:
          if (keyIs(K.startTimeUnixNano) || keyIs(K.start_time_unix_nano)) {
            seen = once(seen, 32);
            startNs = time();
            continue;
          }
          break;
        case 5:
          if (keyIs(K.links)) {
            seen = once(seen, 512);
            linksRaw = links(parse());
            continue;
          }
          break;
      }
      skip(0);
    } while (more(RBRACE));
  }
  if (traceId === undefined || spanId === undefined || startNs === undefined || endNs === undefined || endNs < startNs) throw FALLBACK;
  if (eventsRaw === undefined && linksRaw === undefined) {
    const c = current;
    c.traceId = traceId;
    c.spanId = spanId;
    c.parent = parent;
    c.name = name ?? '';
    c.kind = KINDS.indexOf(kind);
    setHalves(startNs);
    c.startHi = timeHi;
    c.startLo = timeLo;
    setHalves(endNs);
    c.endHi = timeHi;
    c.endLo = timeLo;
    c.error = error;
    emit(service);
    kindsNotedFirst();
    return;
  }
  const events = eventsRaw === undefined ? undefined : otlpEvents(eventsRaw, eventTime);
  kindsNotedFirst();
  const record: SpanDraft = { traceId, spanId, name: name ?? '', service, kind, startNs, endNs, attributes: recordAttributes(projection, kind), error };
  if (parent !== undefined) record.parentSpanId = parent;
  if (linksRaw !== undefined) {
    const linked = otlpLinks(linksRaw, ctx.ids);
    if (linked !== undefined) record.links = linked;
  }
  if (events !== undefined) setEvents(record, events);
  if (scanned !== undefined) scanned.pushRecord(record);
  else records.push(record);
}

/** A parent id: lowercase hex, or empty / all zeros (no parent, as the full reader reads it); anything but a string: none too. */
function parentId(): string | undefined {
  const c = ws();
  if (c !== Q) {
    skip(0);
    return undefined;
  }
  const buf = S.b;
  const start = S.pos + 1;
  if (start < S.end && buf[start] === Q) {
    S.pos = start + 1;
    return undefined;
  }
  let zero = start + 16 < S.end && buf[start + 16] === Q;
  for (let i = start; zero && i < start + 16; i++) if (buf[i] !== 0x30) zero = false;
  if (zero) {
    S.pos = start + 17;
    return undefined;
  }
  return hexId(16, true);
}

const L_RESOURCE_HEAD = literalOf('{"resource":');
const L_RESOURCE_SCOPES = literalOf(',"scopeSpans":');

/**
 * `{"resource":…,"scopeSpans":` in the exporters' layout: the resource's service, S.pos at its
 * scopeSpans; undefined, S.pos where it was, for any other layout.
 */
function resourceHead(): string | undefined {
  const p = S.pos;
  if (!lit(p, L_RESOURCE_HEAD)) return undefined;
  S.pos = p + L_RESOURCE_HEAD.length;
  const service = resourceService();
  if (!lit(S.pos, L_RESOURCE_SCOPES)) {
    S.pos = p;
    return undefined;
  }
  S.pos += L_RESOURCE_SCOPES.length;
  return service;
}

/**
 * A resource's keys after its resource and scopeSpans (the exporters' `schemaUrl`): skipped; one
 * of those again, or the legacy instrumentationLibrarySpans, is the full reader's (resourceKeys).
 */
function resourceRest(): void {
  do {
    key();
    if (keyIs(K.resource) || keyIs(K.scopeSpans) || keyIs(K.scope_spans) || S.b[S.keyStart] === 0x69) throw FALLBACK;
    skip(0);
  } while (more(RBRACE));
}

/**
 * One resource's spans. The exporters' layout (`{"resource":…,"scopeSpans":…}`) is matched
 * directly, so that this per-resource body stays small; any other by resourceKeys.
 */
function* resourceSpans(ctx: ReadContext): Generator<void> {
  const service = resourceHead();
  if (service === undefined) {
    if (ws() !== LBRACE) throw FALLBACK;
    if (open(LBRACE, RBRACE)) yield* resourceKeys(ctx, '', 0);
    return;
  }
  yield* scopeSpans(service, ctx);
  if (more(RBRACE)) resourceRest();
}

/** A resource's keys from the one at S.pos on, by the general rules (`seen`: 1 resource, 2 scopeSpans already read). */
function* resourceKeys(ctx: ReadContext, service: string, seen: number): Generator<void> {
  let scopesAt = -1;
  do {
    key();
    if (keyIs(K.resource)) {
      seen = once(seen, 1);
      service = resourceService();
    } else if (keyIs(K.scopeSpans) || keyIs(K.scope_spans)) {
      seen = once(seen, 2);
      if ((seen & 1) !== 0) {
        yield* scopeSpans(service, ctx);
      } else {
        // The service may come after the spans: read them once the resource is known. A window
        // that slides holds no place to come back to: that document is the full reader's.
        if (S.ahead > 0) throw FALLBACK;
        ws();
        scopesAt = S.pos;
        skip(0);
      }
    } else if (S.b[S.keyStart] === 0x69 /* instrumentationLibrarySpans, instrumentation_library_spans */) {
      throw FALLBACK;
    } else {
      skip(0);
    }
  } while (more(RBRACE));
  if (scopesAt === -1) return;
  const after = S.pos;
  S.pos = scopesAt;
  yield* scopeSpans(service, ctx);
  S.pos = after;
}

const L_RESOURCE = literalOf('{"attributes":');

/**
 * A resource's `service.name` as the full reader reads it (otlpStringAttribute: the first entry
 * with that key, as text; '' without one): `{"attributes":[…]}` in the exporters' layout read
 * directly, any other resource through JSON.parse.
 */
function resourceService(): string {
  ws();
  const start = S.pos;
  if (lit(start, L_RESOURCE)) {
    S.pos = start + L_RESOURCE.length;
    attributeCount = 0;
    emptyValues = 0;
    // An entry with an empty value is left out of the scratch: it could be the first service.name.
    if (exportedList() && emptyValues === 0 && S.pos < S.end && S.b[S.pos] === RBRACE) {
      S.pos++;
      let service = '';
      for (let i = 0; i < attributeCount; i++) {
        if (attributeKeys[i] === SERVICE_NAME) {
          service = String(attributeValues[i]);
          break;
        }
      }
      attributeCount = 0;
      return service;
    }
    attributeCount = 0;
    S.pos = start;
  }
  const resource = parse();
  return typeof resource === 'object' && resource !== null ? otlpStringAttribute((resource as { attributes?: unknown }).attributes, SERVICE_NAME) || '' : '';
}

const L_SCOPE_HEAD = literalOf('{"scope":{');
const L_SCOPE_SPANS = literalOf(',"spans":');

/**
 * One resource's scopeSpans list. The exporters' layout (`{"scope":{…},"spans":[…]}`) is
 * matched directly, so that this per-resource body stays small; any other by scopeKeys.
 */
function* scopeSpans(service: string, ctx: ReadContext): Generator<void> {
  if (open(LBRACKET, RBRACKET)) {
    do {
      if (S.end - S.pos < S.ahead) yield;
      if (!scopeHead()) {
        if (ws() !== LBRACE) throw FALLBACK;
        if (open(LBRACE, RBRACE)) yield* scopeKeys(service, ctx, false);
        continue;
      }
      yield* spanList(service, ctx);
      if (more(RBRACE)) scopeRest();
    } while (more(RBRACKET));
  }
}

/** `{"scope":{…},"spans":` in the exporters' layout: true, S.pos at the spans; false, S.pos where it was, for any other layout. */
function scopeHead(): boolean {
  const p = S.pos;
  if (!lit(p, L_SCOPE_HEAD)) return false;
  S.pos = p + L_SCOPE_HEAD.length - 1;
  skip(0);
  if (lit(S.pos, L_SCOPE_SPANS)) {
    S.pos += L_SCOPE_SPANS.length;
    return true;
  }
  S.pos = p;
  return false;
}

/** A scope's keys after its spans (the exporters' `schemaUrl`): skipped; spans again are the full reader's (scopeKeys). */
function scopeRest(): void {
  do {
    key();
    if (keyIs(K.spans)) throw FALLBACK;
    skip(0);
  } while (more(RBRACE));
}

/** A scope's keys from the one at S.pos on, by the general rules (`spans`: its spans already read). */
function* scopeKeys(service: string, ctx: ReadContext, spans: boolean): Generator<void> {
  do {
    key();
    if (!keyIs(K.spans)) {
      skip(0);
      continue;
    }
    if (spans) throw FALLBACK;
    spans = true;
    yield* spanList(service, ctx);
  } while (more(RBRACE));
}

/**
 * A scope's span list. A line's, or a document read whole, in one loop; a document through a
 * sliding window a span at a time (`elements`), pausing for batches and for the window to slide.
 */
function* spanList(service: string, ctx: ReadContext): Generator<void> {
  if (!open(LBRACKET, RBRACKET)) return;
  if (S.ahead > 0) {
    yield* elements(scanned ?? records, batchLimit, () => oneSpan(service, ctx), WINDOW_ELEMENTS);
    return;
  }
  do oneSpan(service, ctx);
  while (more(RBRACKET));
}

/** One span: the layout exporters write, matched in one pass; any other by the general rules. */
function oneSpan(service: string, ctx: ReadContext): void {
  const at = S.pos;
  if (exportedSpan()) {
    emit(service);
  } else {
    S.pos = at;
    span(service, ctx);
  }
}

/**
 * Reads one OTLP JSON line (bytes [start, stop) of `buf`) into `out`: SpanRecords, or rows of a
 * ScannedSpans (spans in our convention in columns, the others as records; `analysis`
 * projection only). Returns false, having changed neither `out` nor `ctx`, when the line needs
 * the full reader.
 */
export function readOtlpLineFast(buf: Buffer, start: number, stop: number, ctx: ReadContext, out: SpanRecord[] | ScannedSpans, attributes: AttributeProjection): boolean {
  return readDocuments(buf, start, stop, ctx, out, attributes, false) === 1;
}

/**
 * `readOtlpLineFast` on a whole file that holds one OTLP JSON document or several concatenated
 * ones, pretty-printed or not (whitespace, newlines included, is allowed between any two
 * tokens): the number of documents read, or 0, having changed neither `out` nor `ctx`, when any
 * of them needs the full reader.
 */
export function readOtlpDocumentsFast(buf: Buffer, start: number, stop: number, ctx: ReadContext, out: SpanRecord[] | ScannedSpans, attributes: AttributeProjection): number {
  return readDocuments(buf, start, stop, ctx, out, attributes, true);
}

function readDocuments(buf: Buffer, start: number, stop: number, ctx: ReadContext, out: SpanRecord[] | ScannedSpans, attributes: AttributeProjection, several: boolean): number {
  begin(buf, start, stop);
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  setOutput(out, attributes, Number.POSITIVE_INFINITY);
  let documents = 0;
  let wrappers = '';
  const mark = out.length;
  try {
    do {
      wrapperNotes.length = 0;
      if (!exportersDocument(ctx)) {
        // Nothing pauses without a window that slides and with no batches to hand on.
        const reading = document(ctx);
        while (reading.next().done !== true);
      }
      wrappers = wrappersOf(several, documents, wrappers);
      documents++;
    } while (several && ws() !== -1);
    if (ws() !== -1) throw FALLBACK;
  } catch (error) {
    if (Array.isArray(out)) out.length = mark;
    else out.truncate(mark);
    if (error === FALLBACK || error instanceof SyntaxError) return 0;
    throw error;
  } finally {
    // Let the line's buffer and the batch go.
    finish();
    releaseOutput();
  }
  noteDocuments(ctx, documents);
  return documents;
}

/** Where the spans go, and the counts of a reading started afresh. */
function setOutput(out: SpanRecord[] | ScannedSpans, attributes: AttributeProjection, batchSize: number): void {
  copyPending(NO_PENDING, pending);
  wrapperNotes.length = 0;
  projection = attributes;
  batchLimit = batchSize;
  if (Array.isArray(out)) records = out;
  else scanned = out;
}

/** Lets the bytes and the batch go. */
function releaseOutput(): void {
  view = EMPTY_VIEW;
  records = NO_RECORDS;
  scanned = undefined;
}

/** What a reading noted, said to `ctx` once it is done (`documents` read). */
function noteDocuments(ctx: ReadContext, documents: number): void {
  for (const note of wrapperNotes) ctx.note(note, documents);
  if (pending.kindsFirst) ctx.note(KIND_NAME_NOTE, pending.kindNames);
  if (pending.int64Numbers > 0) ctx.note(INT64_NUMBER_NOTE, pending.int64Numbers);
  if (pending.roundedTimes > 0) ctx.warn('', ROUNDED_TIME_WARNING, pending.roundedTimes);
  if (pending.kindNames > 0 && !pending.kindsFirst) ctx.note(KIND_NAME_NOTE, pending.kindNames);
}

/**
 * A document in the exporters' layout (resourceSpans first, each resource and scope as the
 * exporters write them, and no key after the resourceSpans), read in one pass with no generator:
 * most lines are this, and a generator per resource and scope cost a file of one span per line
 * 14% more CPU (bench/HISTORY.md, "Nineteenth pass"). False at the first byte that is not that layout: what it read is taken back (its spans,
 * the counts it made) and S.pos is where it was, for `document` to read it by the general rules.
 */
function exportersDocument(ctx: ReadContext): boolean {
  const at = S.pos;
  if (!lit(at, L_DOCUMENT_HEAD)) return false;
  const mark = (scanned ?? records).length;
  // Kept in place, no object made per line (a copy per line showed in the collector's share).
  copyPending(pending, LINE_KEPT);
  const { base64, padded, uppercase, prefixed, opaque } = ctx.ids.counts;
  S.pos = at + L_DOCUMENT_HEAD.length;
  if (exportersResources(ctx) && !more(RBRACE)) return true;
  cutRows(scanned ?? records, mark);
  copyPending(LINE_KEPT, pending);
  Object.assign(ctx.ids.counts, { base64, padded, uppercase, prefixed, opaque } satisfies IdLeniencies);
  S.pos = at;
  return false;
}

/** The counts `exportersDocument` puts back when it gives a document to the general rules. */
const LINE_KEPT = noPending();

/** The resource list of `exportersDocument`: false at the first resource or scope in another layout. */
function exportersResources(ctx: ReadContext): boolean {
  if (!open(LBRACKET, RBRACKET)) return true;
  do {
    const service = resourceHead();
    if (service === undefined) return false;
    if (open(LBRACKET, RBRACKET)) {
      do {
        if (!scopeHead()) return false;
        if (open(LBRACKET, RBRACKET)) {
          do oneSpan(service, ctx);
          while (more(RBRACKET));
        }
        if (more(RBRACE)) scopeRest();
      } while (more(RBRACKET));
    }
    if (more(RBRACE)) resourceRest();
  } while (more(RBRACKET));
  return true;
}

/**
 * One document from S.pos on, by the general rules (any layout, key order and wrapper). Pauses
 * only through a window that slides (before a resource, a scope or a span where fewer than
 * `S.ahead` bytes are left) or for a batch (`batchLimit`).
 */
function* document(ctx: ReadContext): Generator<void> {
  // The exporters' layout (resourceSpans first) matched directly: a small per-document body.
  const p = S.pos;
  if (lit(p, L_DOCUMENT_HEAD)) {
    S.pos = p + L_DOCUMENT_HEAD.length;
    yield* resourceList(ctx);
    if (more(RBRACE)) yield* documentKeys(ctx, true, 0);
  } else {
    if (!(open(LBRACE, RBRACE) && (yield* documentKeys(ctx, false, 0)))) throw FALLBACK;
  }
}

/**
 * The wrapper notes of a document read after `documents` others whose notes were `wrappers`. The
 * full reader notes a wrapper as it meets it, before the document's other notes; said once at the
 * end here, they come in its order only if every document has the first's (a line is one
 * document: nothing to compare).
 */
function wrappersOf(several: boolean, documents: number, wrappers: string): string {
  if (!several) return wrappers;
  const these = wrapperNotes.join('\n');
  if (documents > 0 && these !== wrappers) throw FALLBACK;
  return these;
}

/**
 * The documents from S.pos on, one after another, counted in `read.documents`, pausing as
 * `document` does and between them where the window must slide; one only unless `several` (a
 * line holds one, as the line reader reads it: text after it is for the full reader to report).
 */
function* documentsOf(ctx: ReadContext, read: { documents: number; wrappers: string }, several: boolean): Generator<void> {
  do {
    if (S.end - S.pos < S.ahead) yield;
    wrapperNotes.length = 0;
    yield* document(ctx);
    read.wrappers = wrappersOf(true, read.documents, read.wrappers);
    read.documents++;
    if (S.end - S.pos < S.ahead) yield;
  } while (several && ws() !== -1);
  if (ws() !== -1) throw FALLBACK;
}

/** Batches handed on by a document read through a sliding window: spans in one before it pauses. */
let batchLimit = Number.POSITIVE_INFINITY;

/**
 * How a span list in a sliding window is read (`elements`): on past its end (the resource or
 * scope after it is read where it lies, pausing before it for room), a span read again not
 * counting its numbers twice.
 */
const WINDOW_ELEMENTS: { readonly rest: false; readonly counts: ElementCounts } = (() => {
  const kept = noPending();
  return { rest: false, counts: { keep: () => copyPending(pending, kept), restore: () => copyPending(kept, pending) } };
})();

/** Copies the counts `from` into `to` (no object made: it runs once per span in a window). */
function copyPending(from: Readonly<Pending>, to: Pending): void {
  to.int64Numbers = from.int64Numbers;
  to.roundedTimes = from.roundedTimes;
  to.kindNames = from.kindNames;
  to.kindsFirst = from.kindsFirst;
}

/**
 * Reads one OTLP JSON document, or several concatenated, through a sliding window (read whole:
 * `wholeWindow`) into `out`, pausing after each span that leaves `out` with `batchSize` spans or
 * more, for them to be handed on, and where the window must slide (`scanDocument`); what it
 * noted is said to `ctx` at the end. Returns the documents read, or 0 when it needs the full
 * reader: `ctx` is as it was, and `out` as it was at the start or the last pause. Between pauses
 * other input may be scanned: this reading's own state is set aside and put back.
 */
export function* readOtlpDocumentWindowed(window: ScanWindow, ctx: ReadContext, out: SpanRecord[] | ScannedSpans, attributes: AttributeProjection, batchSize: number, several = true): Generator<void, number> {
  const read = { documents: 0, wrappers: '' };
  const saved = noPending();
  let notes: string[] = [];
  const resume = (): void => {
    setOutput(out, attributes, batchSize);
    copyPending(saved, pending);
    wrapperNotes.push(...notes);
    // The whole window's bytes (those past its end are stale, and never read past S.end), as a line's chunk.
    view = new DataView(window.buf.buffer, window.buf.byteOffset, window.buf.byteLength);
  };
  const pausing = function* (): Generator<void> {
    const reading = documentsOf(ctx, read, several);
    try {
      while (reading.next().done !== true) {
        copyPending(pending, saved);
        notes = [...wrapperNotes];
        yield;
      }
    } finally {
      releaseOutput();
    }
  };
  resume();
  const done = yield* scanDocument(window, ctx, out, pausing, resume);
  if (!done) return 0;
  // Read to the end since the last pause: the counts and notes are this reading's.
  noteDocuments(ctx, read.documents);
  return read.documents;
}

const L_DOCUMENT_HEAD = literalOf('{"resourceSpans":');

/**
 * The notes the full reader makes of a document's wrappers, in the order it makes them (outer
 * first): Jaeger API v3's `result` (what `GET /api/v3/traces` answers), Tempo v2's `trace`,
 * Tempo v1's `batches` for `resourceSpans` (otlp-json.ts, resourceSpansOf).
 */
const wrapperNotes: string[] = [];
const RESULT_NOTE = 'Jaeger API v3 `result` wrapper (documents)';
const TRACE_NOTE = 'Tempo v2 `trace` wrapper (documents)';
const BATCHES_NOTE = 'Tempo `batches` wrapper (documents)';

/**
 * A document's keys from the one at S.pos on, by the general rules: true once its resourceSpans
 * (or Tempo's `batches`, or those of a `result` or `trace` object) are read (`found`: already).
 * The full reader takes the first of resourceSpans, resource_spans, batches, result, trace that
 * the document has, whatever their order in it: a second one here is left to it, and so is
 * resource_spans. `depth`: wrappers around this object.
 */
function* documentKeys(ctx: ReadContext, found: boolean, depth: number): Generator<void, boolean> {
  do {
    key();
    const list = keyIs(K.resourceSpans) ? 1 : keyIs(K.batches) ? 2 : 0;
    if (list !== 0) {
      if (found) throw FALLBACK;
      found = true;
      if (list === 2) wrapperNotes.push(BATCHES_NOTE);
      yield* resourceList(ctx);
      continue;
    }
    if (S.b[S.keyStart] === 0x72 && S.keyEnd - S.keyStart === 14) throw FALLBACK;
    const wrapper = keyIs(K.result) ? RESULT_NOTE : keyIs(K.trace) ? TRACE_NOTE : undefined;
    // A wrapper that is not an object the full reader passes over, as here.
    if (wrapper !== undefined && ws() === LBRACE) {
      if (found || depth > 2) throw FALLBACK;
      found = true;
      wrapperNotes.push(wrapper);
      if (!(open(LBRACE, RBRACE) && (yield* documentKeys(ctx, false, depth + 1)))) throw FALLBACK;
      continue;
    }
    skip(0);
  } while (more(RBRACE));
  return found;
}

/** A document's resourceSpans list. */
function* resourceList(ctx: ReadContext): Generator<void> {
  if (open(LBRACKET, RBRACKET)) {
    do {
      if (S.end - S.pos < S.ahead) yield;
      yield* resourceSpans(ctx);
    } while (more(RBRACKET));
  }
}

const NO_RECORDS: SpanRecord[] = [];
