/**
 * @module formats/_byte-scan
 * Internal. A JSON scanner over bytes for the byte-scanning readers (`_jaeger-fast.ts`, `_zipkin-fast.ts`, and `_otlp-fast.ts` per line):
 * one value at a time is matched, skipped (its syntax still checked) or decoded, with no
 * JavaScript object per JSON value. Strings are decoded only when kept; short ASCII strings
 * that repeat (names, tag keys and values) come from a small intern table. Anything it does not
 * read exactly as JSON.parse does (an escaped key, a value nested past MAX_SKIP_DEPTH, bad
 * syntax) throws FALLBACK, and the reader hands the whole input to the full parser.
 *
 * The state is module-level (one document is scanned at a time, synchronously), in `scan`.
 */

import type { SpanEvent, SpanRecord } from '../model/span.js';
import type { ReadContext } from './_context.js';
import type { ScannedSpans } from './_scanned-spans.js';
import { microsToNs } from './_shared.js';
import { HIGH, LOW } from '../model/_word-halves.js';

/** Thrown (one shared instance, no stack) when the input leaves the byte-scanning path. */
export const FALLBACK = { fallback: true };

/** Buffer's own slice decoders (what `toString` calls after its argument checks; the bounds are ours). */
type FastSlices = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

export const Q = 0x22;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;
const BACKSLASH = 0x5c;

/** 1 for any hex digit (in \u escapes). */
const ANY_HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') ANY_HEX[c.charCodeAt(0)] = 1;

const EMPTY = Buffer.alloc(0) as FastSlices;

/** 1 for the bytes that end a run of plain string bytes: '"', '\\' and control characters. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[Q] = 1;
STRING_STOP[BACKSLASH] = 1;

/** The scanner's state: the bytes, where they end, the position, and what the last string or key held. */
export const scan = {
  b: EMPTY,
  end: 0,
  pos: 0,
  /** True when the last string scanned had an escape. */
  escaped: false,
  /** True when any string scanned since it was last cleared had an escape. */
  anyEscaped: false,
  /** The last key's bytes: [keyStart, keyEnd). */
  keyStart: 0,
  keyEnd: 0,
  /** Bytes of room `elements` wants ahead of an element before it starts one (ScanWindow.ahead); 0: the bytes are all there is. */
  ahead: 0,
  /** What `elements` asked of the window at its last pause (ScanWindow.want). */
  want: 'room' as WindowWant,
};

/** What a scanner paused for asks of its window: room ahead, more bytes than it holds (an element ran past its end), or the rest of the document. */
export type WindowWant = 'room' | 'more' | 'rest';

/**
 * The bytes a document is scanned from: the whole of it, or a window that its owner slides over a
 * stream at `scanDocument`'s pauses, so that a document of any size is held a window at a time.
 * Bytes [0, end) of `buf` are valid; scanning resumes at `pos`.
 */
export interface ScanWindow {
  buf: Buffer;
  pos: number;
  end: number;
  /**
   * Room `elements` keeps ahead of each element before it starts one: less, and it pauses for the
   * window to slide. 0 once the window holds the document's end (never a pause then).
   */
  ahead: number;
  /** Set at a pause: what the window must hold when scanning resumes. */
  want: WindowWant;
}

/** A whole document's bytes [start, stop) of `buf` as a window that never slides. */
export function wholeWindow(buf: Buffer, start: number, stop: number): ScanWindow {
  return { buf, pos: start, end: stop, ahead: 0, want: 'room' };
}

/** Starts scanning bytes [start, end) of `buf`; `ahead` as ScanWindow's. */
export function begin(buf: Buffer, start: number, end: number, ahead = 0): void {
  scan.b = buf as FastSlices;
  scan.end = end;
  scan.pos = start;
  scan.ahead = ahead;
  scan.want = 'room';
}

/** Lets the scanned buffer go. */
export function finish(): void {
  scan.b = EMPTY;
}

/** The bytes of a key or word to match. */
export function bytes(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

/** True when the last key read is `k`. */
export function keyIs(k: Uint8Array): boolean {
  const start = scan.keyStart;
  const len = scan.keyEnd - start;
  if (len !== k.length) return false;
  const buf = scan.b;
  for (let i = 0; i < len; i++) if (buf[start + i] !== k[i]) return false;
  return true;
}

/** Moves past whitespace; returns the byte there (-1 at the end). */
export function ws(): number {
  const buf = scan.b;
  const e = scan.end;
  let p = scan.pos;
  // Minified documents have none: one test.
  if (p < e && buf[p]! > 0x20) return buf[p]!;
  while (p < e) {
    const c = buf[p]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) {
      scan.pos = p;
      return c;
    }
    p++;
  }
  scan.pos = p;
  return -1;
}

/** Expects `c` (after whitespace) and moves past it. */
export function expect(c: number): void {
  if ((scan.pos < scan.end && scan.b[scan.pos] === c) || ws() === c) scan.pos++;
  else throw FALLBACK;
}

/** After a member: true at ',' (moved past it), false at `close` (moved past it). */
export function more(close: number): boolean {
  const c = scan.pos < scan.end && scan.b[scan.pos] === COMMA ? COMMA : ws();
  scan.pos++;
  if (c === COMMA) return true;
  if (c === close) return false;
  throw FALLBACK;
}

/** Opens an object or array; false when it is empty (and moved past). */
export function open(c: number, close: number): boolean {
  expect(c);
  if (ws() === close) {
    scan.pos++;
    return false;
  }
  return true;
}

/** From `p` just past an opening quote: the offset of the closing quote. Sets `escaped`. */
export function stringEnd(p: number): number {
  const buf = scan.b;
  const e = scan.end;
  scan.escaped = false;
  while (p < e) {
    const c = buf[p]!;
    // Plain bytes (nearly all of them): one table lookup.
    if (STRING_STOP[c] === 0) {
      p++;
      continue;
    }
    if (c === Q) return p;
    if (c === BACKSLASH) {
      scan.escaped = true;
      scan.anyEscaped = true;
      const x = p + 1 < e ? buf[p + 1]! : 0;
      if (x === 0x75) {
        if (p + 5 >= e || ANY_HEX[buf[p + 2]!] === 0 || ANY_HEX[buf[p + 3]!] === 0 || ANY_HEX[buf[p + 4]!] === 0 || ANY_HEX[buf[p + 5]!] === 0) throw FALLBACK;
        p += 6;
        continue;
      }
      if (x !== Q && x !== BACKSLASH && x !== 0x2f && x !== 0x62 && x !== 0x66 && x !== 0x6e && x !== 0x72 && x !== 0x74) throw FALLBACK;
      p += 2;
      continue;
    }
    // A control character: not allowed in a JSON string.
    throw FALLBACK;
  }
  throw FALLBACK;
}

/** At an object member: reads its key (into keyStart/keyEnd) and moves past the ':'. An escaped key: FALLBACK (it could spell a known key another way). */
export function key(): void {
  const buf = scan.b;
  const e = scan.end;
  if (!(scan.pos < e && buf[scan.pos] === Q) && ws() !== Q) throw FALLBACK;
  const start = scan.pos + 1;
  let p = start;
  while (p < e) {
    const c = buf[p]!;
    if (c === Q || c === BACKSLASH || c < 0x20) break;
    p++;
  }
  if (!(p < e && buf[p] === Q)) throw FALLBACK;
  scan.keyStart = start;
  scan.keyEnd = p;
  if (p + 1 < e && buf[p + 1] === COLON) {
    scan.pos = p + 2;
    return;
  }
  scan.pos = p + 1;
  expect(COLON);
}

// The intern table: direct-mapped, keyed by a hash of the bytes; a slot holds the last string that hashed there.
const TEXT_SLOTS = 4096;
/** Longer strings are decoded every time: they rarely repeat, and hashing them costs more than it saves. */
const MAX_INTERNED = 48;
const texts: (string | undefined)[] = new Array<string | undefined>(TEXT_SLOTS).fill(undefined);
const TEXT_BYTES = new Uint8Array(TEXT_SLOTS * MAX_INTERNED);

/** The string of bytes [start, stop) (no escapes), one shared copy when it is short ASCII. */
export function decode(start: number, stop: number): string {
  const len = stop - start;
  if (len === 0) return '';
  const buf = scan.b;
  if (len > MAX_INTERNED) return buf.utf8Slice(start, stop);
  const h = Math.imul(len ^ (buf[start]! << 8) ^ (buf[stop - 1]! << 16) ^ buf[start + (len >> 1)]! ^ (buf[start + (len >> 2)]! << 24), 0x9e3779b1);
  const slot = (h >>> 20) & (TEXT_SLOTS - 1);
  const at = slot * MAX_INTERNED;
  const known = texts[slot];
  if (known !== undefined && known.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (TEXT_BYTES[at + i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return known;
  }
  for (let i = start; i < stop; i++) if (buf[i]! >= 0x80) return buf.utf8Slice(start, stop);
  const text = buf.latin1Slice(start, stop);
  texts[slot] = text;
  for (let i = 0; i < len; i++) TEXT_BYTES[at + i] = buf[start + i]!;
  return text;
}

/** At a '"': the string decoded (JSON rules for escapes), moving past it. */
export function text(): string {
  const start = scan.pos + 1;
  const close = stringEnd(start);
  scan.pos = close + 1;
  return scan.escaped ? (JSON.parse(scan.b.utf8Slice(start - 1, close + 1)) as string) : decode(start, close);
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Moves past a JSON number (strict grammar); returns its start. */
export function numberSpan(): number {
  const buf = scan.b;
  const e = scan.end;
  const start = scan.pos;
  let p = start;
  if (p < e && buf[p] === 0x2d) p++;
  if (p < e && buf[p] === 0x30) p++;
  else if (p < e && isDigit(buf[p]!)) while (p < e && isDigit(buf[p]!)) p++;
  else throw FALLBACK;
  if (p < e && buf[p] === 0x2e) {
    p++;
    if (!(p < e && isDigit(buf[p]!))) throw FALLBACK;
    while (p < e && isDigit(buf[p]!)) p++;
  }
  if (p < e && (buf[p] === 0x65 || buf[p] === 0x45)) {
    p++;
    if (p < e && (buf[p] === 0x2b || buf[p] === 0x2d)) p++;
    if (!(p < e && isDigit(buf[p]!))) throw FALLBACK;
    while (p < e && isDigit(buf[p]!)) p++;
  }
  scan.pos = p;
  return start;
}

/** A JSON number's value (as JSON.parse reads it), moving past it. */
export function number(): number {
  const start = numberSpan();
  // One digit (kinds, codes, small counts): its value without a string.
  if (scan.pos - start === 1) return scan.b[start]! - 0x30;
  return Number(scan.b.latin1Slice(start, scan.pos));
}

/** Expects the bytes of `word` at the position and moves past them. */
export function literal(word: Uint8Array): void {
  const buf = scan.b;
  const p = scan.pos;
  if (p + word.length > scan.end) throw FALLBACK;
  for (let i = 0; i < word.length; i++) if (buf[p + i] !== word[i]) throw FALLBACK;
  scan.pos = p + word.length;
}

export const TRUE = bytes('true');
export const FALSE = bytes('false');
const NULL = bytes('null');

/** Values nested deeper are left to the full reader (no recursion limit to reach here). */
const MAX_SKIP_DEPTH = 64;

/** Skips one value of any kind, checking its syntax. */
export function skip(depth = 0): void {
  const c = ws();
  if (c === Q) {
    scan.pos = stringEnd(scan.pos + 1) + 1;
  } else if (c === LBRACE) {
    if (depth > MAX_SKIP_DEPTH) throw FALLBACK;
    scan.pos++;
    if (ws() === RBRACE) {
      scan.pos++;
      return;
    }
    do {
      if (ws() !== Q) throw FALLBACK;
      scan.pos = stringEnd(scan.pos + 1) + 1;
      expect(COLON);
      skip(depth + 1);
    } while (more(RBRACE));
  } else if (c === LBRACKET) {
    if (depth > MAX_SKIP_DEPTH) throw FALLBACK;
    scan.pos++;
    if (ws() === RBRACKET) {
      scan.pos++;
      return;
    }
    do skip(depth + 1);
    while (more(RBRACKET));
  } else if (c === 0x74) {
    literal(TRUE);
  } else if (c === 0x66) {
    literal(FALSE);
  } else if (c === 0x6e) {
    literal(NULL);
  } else {
    numberSpan();
  }
}

/** The value at the position as JavaScript (JSON.parse of its bytes), for small rare parts. */
export function parse(): unknown {
  ws();
  const start = scan.pos;
  skip(0);
  return JSON.parse(scan.b.utf8Slice(start, scan.pos)) as unknown;
}

/** A scalar value as JSON.parse gives it (objects and arrays through `parse`), moving past it. */
export function value(): unknown {
  const c = ws();
  if (c === Q) return text();
  if (c === 0x74) {
    literal(TRUE);
    return true;
  }
  if (c === 0x66) {
    literal(FALSE);
    return false;
  }
  if (c === 0x6e) {
    literal(NULL);
    return null;
  }
  if (c === 0x2d || isDigit(c)) return number();
  return parse();
}

/** `seen` with `bit` set; FALLBACK when it was set already (a duplicate key: JSON.parse keeps the last). */
export function once(seen: number, bit: number): number {
  if ((seen & bit) !== 0) throw FALLBACK;
  return seen | bit;
}

const WORD = new BigUint64Array(1);
const HALVES = new Uint32Array(WORD.buffer);
const TWO_16 = 65_536;
const TWO_32 = 4_294_967_296;

/** hi·10⁹ + lo (hi < 10¹⁰, lo < 10⁹) as a BigInt, put together in 32-bit halves from products below 2⁵³: one allocation. */
export function nanos(hi: number, lo: number): bigint {
  // hi = a·2¹⁶ + r: hi·10⁹ + lo = (a·10⁹)·2¹⁶ + (r·10⁹ + lo), and a·10⁹ = yh·2¹⁶ + yl.
  const a = Math.floor(hi / TWO_16);
  const x = (hi - a * TWO_16) * 1e9 + lo;
  const y = a * 1e9;
  const yh = Math.floor(y / TWO_16);
  const z = (y - yh * TWO_16) * TWO_16 + x;
  const carry = Math.floor(z / TWO_32);
  HALVES[LOW] = z - carry * TWO_32;
  HALVES[HIGH] = yh + carry;
  return WORD[0]!;
}

/** Set when `previewValue` reached its limit, or the bytes ended inside the value. */
let cut = false;

/**
 * The value at the position as far as `limit`: containers cut after their last whole member.
 * Bytes that end inside it (a stream peeked in 64 KiB pieces ends where a pipe's read did, in the
 * middle of a string or between members) cut it there too, as the limit does.
 */
function previewValue(limit: number, depth: number): unknown {
  const c = ws();
  if (scan.pos >= limit || c === -1 || scalarRunsOut(c)) {
    cut = true;
    return undefined;
  }
  if (c !== LBRACE && c !== LBRACKET) return value();
  if (depth > MAX_SKIP_DEPTH) throw FALLBACK;
  scan.pos++;
  const close = c === LBRACE ? RBRACE : RBRACKET;
  const container: unknown[] | Record<string, unknown> = c === LBRACE ? {} : [];
  const next = ws();
  if (next === close) {
    scan.pos++;
    return container;
  }
  if (next === -1) {
    cut = true;
    return container;
  }
  do {
    let name = '';
    if (close === RBRACE) {
      const q = ws();
      if (scan.pos >= limit || q === -1 || (q === Q && scalarRunsOut(q))) {
        cut = true;
        break;
      }
      if (q !== Q) throw FALLBACK;
      name = text();
      if (ws() === -1) {
        cut = true;
        break;
      }
      expect(COLON);
    }
    const member = previewValue(limit, depth + 1);
    // A member cut before it began is left out; a container cut inside is kept as far as it goes.
    if (member === undefined) break;
    if (Array.isArray(container)) container.push(member);
    else Object.defineProperty(container, name, { value: member, enumerable: true, writable: true, configurable: true });
    if (cut) break;
    if (ws() === -1) {
      cut = true;
      break;
    }
  } while (more(close));
  return container;
}

/** True when the string, literal or number starting at the position (its first byte `c`) is cut by the end of the bytes. */
function scalarRunsOut(c: number): boolean {
  // A string's end is its closing quote, found as `valueEnds` finds it.
  if (c === Q) return !valueEnds(scan.pos);
  if (c === 0x74 || c === 0x66 || c === 0x6e) return scan.pos + (c === 0x66 ? 5 : 4) > scan.end;
  if (c !== 0x2d && !isDigit(c)) return false;
  const buf = scan.b;
  let p = scan.pos + 1;
  while (p < scan.end && (isDigit(buf[p]!) || buf[p] === 0x2e || buf[p] === 0x65 || buf[p] === 0x45 || buf[p] === 0x2b || buf[p] === 0x2d)) p++;
  return p >= scan.end;
}

/**
 * What the JSON value at [start, end) of `buf` starts with, built from its first `limit` bytes
 * only (containers cut after their last whole member), for telling what a document is without
 * parsing all of it; undefined when those bytes are not JSON.
 */
export function previewJson(buf: Buffer, start: number, end: number, limit: number): unknown {
  begin(buf, start, end);
  cut = false;
  try {
    return previewValue(start + limit, 0);
  } catch (error) {
    if (error === FALLBACK || error instanceof SyntaxError) return undefined;
    throw error;
  } finally {
    finish();
  }
}

/** 1 for lowercase hex digits, 2 for uppercase ones. */
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdef') HEX[c.charCodeAt(0)] = 1;
for (const c of 'ABCDEF') HEX[c.charCodeAt(0)] = 2;

/** Id leniencies of the document being read (added to the file's only once all of it was read), as the IdDecoder counts them. */
const idCounts = { padded: 0, uppercase: 0 };

/** The last trace id read, reused while the bytes repeat (a trace's spans all carry it). */
let lastTrace = '';
let lastTraceAt = -1;

/**
 * A hex id of at most `chars` characters at a '"' as the full reader's IdDecoder gives it:
 * lowercase, left-padded with zeros; undefined for an empty or all-zero id. FALLBACK for what
 * only the decoder's per-file rules can read (base64, `0x`, opaque, longer, or a length that
 * unpadded base64 also has).
 */
export function hexId(chars: 32 | 16): string | undefined {
  if (ws() !== Q) throw FALLBACK;
  const buf = scan.b;
  const start = scan.pos + 1;
  const e = scan.end;
  let p = start;
  let kinds = 0;
  let nonZero = 0;
  while (p < e) {
    const c = buf[p]!;
    const h = HEX[c]!;
    if (h === 0) break;
    kinds |= h;
    nonZero |= c ^ 0x30;
    p++;
  }
  if (!(p < e && buf[p] === Q)) throw FALLBACK;
  const len = p - start;
  if (len > chars || len === (chars === 32 ? 22 : 11)) throw FALLBACK;
  scan.pos = p + 1;
  if (len === 0) return undefined;
  if (len === chars && kinds === 1) {
    if (nonZero === 0) return undefined;
    if (chars === 16) return buf.latin1Slice(start, p);
    // A trace's spans carry its id: the same bytes as the last one give the same string.
    if (lastTraceAt !== -1) {
      let same = true;
      for (let i = 0; i < 32; i++) {
        if (buf[lastTraceAt + i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return lastTrace;
    }
    lastTrace = buf.latin1Slice(start, p);
    lastTraceAt = start;
    return lastTrace;
  }
  // The IdDecoder's rules for the rest (counted as it counts them, zeros included).
  let id = buf.latin1Slice(start, p);
  if (kinds !== 1) {
    idCounts.uppercase++;
    id = id.toLowerCase();
  }
  if (len < chars) {
    idCounts.padded++;
    id = id.padStart(chars, '0');
  }
  return nonZero === 0 ? undefined : id;
}

/** An id that may be absent or not a string (no id then), as the IdDecoder reads it. */
export function optionalId(chars: 32 | 16): string | undefined {
  if (ws() === Q) return hexId(chars);
  skip();
  return undefined;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** What the last time `micros` could not read as digits was, as JSON.parse gives it. */
let timeRaw: unknown;

/** A time in µs at the position: its value when written as plain digits below 2⁵³, else NaN with `timeRaw` set to the value as JSON.parse gives it. */
export function micros(): number {
  const c = ws();
  if (isDigit(c)) {
    const buf = scan.b;
    const e = scan.end;
    const start = scan.pos;
    let p = start;
    let n = 0;
    while (p < e && isDigit(buf[p]!)) n = n * 10 + buf[p++]! - 0x30;
    const next = p < e ? buf[p]! : 0;
    if (p - start <= 16 && n <= MAX_SAFE && next !== 0x2e && next !== 0x65 && next !== 0x45 && !(buf[start] === 0x30 && p - start > 1)) {
      scan.pos = p;
      return n;
    }
  }
  timeRaw = value();
  return NaN;
}

/** µs (an integer below 2⁵³) as nanoseconds. */
function microsNs(us: number): bigint {
  if (us === 0) return 0n;
  const hi = Math.floor(us / 1e6);
  return nanos(hi, (us - hi * 1e6) * 1000);
}

const TIMESTAMP = bytes('timestamp');

/**
 * The events of the array at the position (Jaeger logs, Zipkin annotations), moving past it: an
 * array of objects, each with at most one `timestamp` (µs; left out without a readable one) and
 * one `nameKey` member that `nameOf` reads at its value, is scanned; the array in any other shape
 * goes to `full` as JSON.parse reads it (the full reader's rules). With `keep`, only the events it
 * names are made.
 */
export function scanEvents(nameKey: Uint8Array, nameOf: () => string, full: (list: unknown, keep?: ReadonlySet<string>) => SpanEvent[] | undefined, keep: ReadonlySet<string> | undefined): SpanEvent[] | undefined {
  const start = scan.pos;
  try {
    return eventObjects(nameKey, nameOf, keep);
  } catch (error) {
    if (error !== FALLBACK) throw error;
    scan.pos = start;
    return full(parse(), keep);
  }
}

function eventObjects(nameKey: Uint8Array, nameOf: () => string, keep: ReadonlySet<string> | undefined): SpanEvent[] | undefined {
  let events: SpanEvent[] | undefined;
  if (!open(LBRACKET, RBRACKET)) return undefined;
  do {
    if (ws() !== LBRACE) throw FALLBACK;
    // The time's BigInt is made only for an event that is kept.
    let us = NaN;
    let raw: unknown;
    let name = '';
    let seen = 0;
    if (open(LBRACE, RBRACE)) {
      do {
        key();
        if (keyIs(TIMESTAMP)) {
          seen = once(seen, 1);
          us = micros();
          raw = Number.isNaN(us) ? timeRaw : undefined;
        } else if (keyIs(nameKey)) {
          seen = once(seen, 2);
          name = nameOf();
        } else {
          skip();
        }
      } while (more(RBRACE));
    }
    if (keep !== undefined && !keep.has(name)) continue;
    const timeNs = Number.isNaN(us) ? microsToNs(raw) : microsNs(us);
    if (timeNs !== undefined) (events ??= []).push({ name, timeNs });
  } while (more(RBRACKET));
  return events;
}

/** A span's start and end as the full readers compute them (`microsToNs`, end = start + duration), set by `spanTimes`. */
export const times = { startNs: 0n, endNs: 0n };

/**
 * Sets `times` from a start and a duration read by `micros` (µs, or NaN with the value kept for
 * `microsToNs`); FALLBACK when the full reader would skip the span (no start, a zero start, no
 * duration).
 */
export function spanTimes(startUs: number, startRaw: unknown, durationUs: number, durationRaw: unknown): void {
  const startNs = Number.isNaN(startUs) ? microsToNs(startRaw) : startUs === 0 ? undefined : microsNs(startUs);
  if (startNs === undefined || startNs === 0n) throw FALLBACK;
  times.startNs = startNs;
  if (!Number.isNaN(durationUs) && !Number.isNaN(startUs) && startUs + durationUs <= MAX_SAFE) {
    times.endNs = microsNs(startUs + durationUs);
    return;
  }
  const duration = Number.isNaN(durationUs) ? microsToNs(durationRaw) : microsNs(durationUs);
  if (duration === undefined) throw FALLBACK;
  times.endNs = startNs + duration;
}

/** The value of the last time `micros` gave NaN for. */
export function lastTimeRaw(): unknown {
  return timeRaw;
}

/** Starts a document's ids afresh (no trace id to reuse, no leniencies counted). */
function resetIds(): void {
  idCounts.padded = 0;
  idCounts.uppercase = 0;
  lastTraceAt = -1;
}

/** Finds where a word occurs in the document being scanned, searching forward once for all the places asked about. */
export class ForwardSearch {
  private at = -1;
  constructor(private readonly word: Uint8Array) {}

  /** Forgets the last search (a new document). */
  reset(): void {
    this.at = -1;
  }

  /** True when the word occurs in bytes [start, stop) of the document; calls must move forward. */
  within(start: number, stop: number): boolean {
    if (this.at < start) {
      const found = scan.b.indexOf(this.word, start);
      this.at = found === -1 || found >= scan.end ? scan.end : found;
    }
    return this.at < stop;
  }
}

/** What a document reader appends to: records, or the OTLP reader's rows. */
export type Rows = SpanRecord[] | ScannedSpans;

/** Cuts `out` back to its first `length` rows (what a reader gives back). */
export function cutRows(out: Rows, length: number): void {
  if (Array.isArray(out)) out.length = length;
  else out.truncate(length);
}

/**
 * A reader's own counts that an element read again must not count twice (`elements`): `keep`
 * notes them before each element, `restore` puts them back before it is read again.
 */
export interface ElementCounts {
  keep(): void;
  restore(): void;
}

/** How `elements` reads an array: `rest`, ask for the rest of the document after its end (false: the caller reads on, pausing where it needs room); `counts`, as ElementCounts. */
export interface ElementOptions {
  readonly rest?: boolean;
  readonly counts?: ElementCounts;
}

/**
 * Runs a document reader over `window`: `read` scans the document, appending to `out`, and may
 * pause (yield) between elements of its array (`elements`) to have a batch of records handed on
 * or the window slid (its `pos` and `want` say where and what for; the caller moves the bytes
 * and reads more before it resumes): the pause is passed on, with the scanner's state set aside,
 * so that other input can be scanned meanwhile, and `resume` sets the reader's own state up
 * again (nothing it keeps may hold a position across a pause). Returns true at the document's
 * end, the id leniencies it counted added to `ctx`; false, `out` cut back to its length at the
 * start (or at the last pause) and `ctx` as it was, when it threw FALLBACK or met bad syntax.
 */
export function* scanDocument(window: ScanWindow, ctx: ReadContext, out: Rows, read: () => Generator<void>, resume: () => void): Generator<void, boolean> {
  begin(view(window), window.pos, window.end, window.ahead);
  resetIds();
  let mark = out.length;
  try {
    const reading = read();
    while (reading.next().done !== true) {
      window.pos = scan.pos;
      window.want = scan.want;
      const { padded, uppercase } = idCounts;
      finish();
      yield;
      begin(view(window), window.pos, window.end, window.ahead);
      resetIds();
      idCounts.padded = padded;
      idCounts.uppercase = uppercase;
      mark = out.length;
      resume();
    }
    if (ws() !== -1) throw FALLBACK;
  } catch (error) {
    cutRows(out, mark);
    if (error === FALLBACK || error instanceof SyntaxError) return false;
    throw error;
  } finally {
    finish();
  }
  const ids = ctx.ids.counts;
  ids.padded += idCounts.padded;
  ids.uppercase += idCounts.uppercase;
  return true;
}

/** A window's valid bytes, cut where they end: bytes past `end` of a reused window are stale, and a read past the cut gives undefined (as at the end of a document read whole). */
function view(window: ScanWindow): Buffer {
  return window.end === window.buf.length ? window.buf : window.buf.subarray(0, window.end);
}

/**
 * Reads the elements of the array just opened (`element(first)`: the array's first?), pausing
 * after each one that leaves `out` with `batchSize` records or more (never, for Infinity). In a
 * sliding window it also pauses where fewer than `scan.ahead` bytes are left, before an element
 * or the comma after one, for the window to slide; an element that still runs past the window's
 * end is taken back (its records, id counts and `options.counts`) and read again once the window
 * holds more; and after the array's end, unless `options.rest` is false, it asks for the rest of
 * the document (what follows the array is read from one window).
 */
export function* elements(out: Rows, batchSize: number, element: (first: boolean) => void, options: ElementOptions = {}): Generator<void> {
  let first = true;
  do {
    if (scan.end - scan.pos < scan.ahead) yield;
    if (scan.ahead === 0) element(first);
    else while (!elementInWindow(out, first, element, options.counts)) yield;
    first = false;
    if (out.length >= batchSize || scan.end - scan.pos < scan.ahead) yield;
  } while (more(RBRACKET));
  if (scan.ahead > 0 && options.rest !== false) {
    scan.want = 'rest';
    yield;
  }
}

/**
 * True when the JSON value at `p` (after whitespace) ends before the window does, by its brackets
 * and strings alone (its syntax is the scanner's to check): an element that failed there failed
 * on its bytes, where one that runs past the end needs more of them.
 */
function valueEnds(p: number): boolean {
  const buf = scan.b;
  const e = scan.end;
  let depth = 0;
  while (p < e) {
    const c = buf[p]!;
    if (c === Q) {
      for (p++; p < e && buf[p] !== Q; p++) if (buf[p] === BACKSLASH) p++;
      if (p >= e) return false;
      if (depth === 0) return true;
    } else if (c === LBRACE || c === LBRACKET) {
      depth++;
    } else if (c === RBRACE || c === RBRACKET || (c === COMMA && depth === 0)) {
      // The close of this value (or of the array holding a scalar one), or the comma after a scalar.
      if (depth <= 1) return true;
      depth--;
    }
    p++;
  }
  return false;
}

/**
 * One element in a window short of the document's end: false, the element taken back and `more`
 * asked of the window, when it fails for want of bytes, to be read again after the pause (a
 * plain function, not a generator: it runs once per span of an OTLP document). A failure is
 * thrown as it is where the element ends inside the window (`valueEnds`: it failed on its bytes)
 * or the window holds the rest of the document.
 */
function elementInWindow(out: Rows, first: boolean, element: (first: boolean) => void, counts: ElementCounts | undefined): boolean {
  const from = scan.pos;
  const had = out.length;
  const { padded, uppercase } = idCounts;
  counts?.keep();
  try {
    element(first);
    return true;
  } catch (error) {
    // The window holds the rest, or the element's end: a real failure, not one of room.
    if (scan.ahead === 0 || valueEnds(from)) throw error;
    cutRows(out, had);
    counts?.restore();
    idCounts.padded = padded;
    idCounts.uppercase = uppercase;
    scan.pos = from;
    scan.want = 'more';
    return false;
  }
}
