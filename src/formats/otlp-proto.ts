/**
 * @module formats/otlp-proto
 * OTLP protobuf trace files → SpanRecords: the Collector file exporter's `format: proto`
 * (`[u32 big-endian length][TracesData]` records, also inside zstd) and a bare `TracesData`
 * message (`.binpb`). A small hand-written wire-format decoder for exactly the fields we use
 * (field numbers from opentelemetry-proto v1.x `trace/v1/trace.proto` and `common/v1/common.proto`):
 * no code generation, no runtime dependency, and no intermediate message objects. Unknown
 * fields are skipped, as protobuf requires; the legacy `instrumentation_library_spans` (field
 * 1000) is read like `scope_spans`.
 */

import type { AttributeValue, SpanEvent, SpanKind, SpanRecord } from '../model/span.js';
import type { ReadContext } from './_context.js';
import type { ByteSource } from './_bytes.js';
import { FIRST_TOKEN_EVENT } from '../semconv.js';
import { MAX_DOCUMENT_BYTES } from './detect.js';
import { TraceFormatError } from './errors.js';
import type { SpanDraft } from './_shared.js';
import { MAX_VALUE_DEPTH, TOO_DEEP } from './attributes.js';

const KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Thrown inside the decoder; turned into a TraceFormatError with the file and offset. */
class WireError extends Error {
  constructor(
    readonly offset: number,
    readonly expected: string,
    readonly got: string,
  ) {
    super(expected);
  }
}

class Wire {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError(this.pos, 'a complete varint', 'end of message (truncated?)');
      const byte = this.buf[this.pos++] as number;
      result += (byte & 0x7f) * shift;
      if (byte < 0x80) return result;
      shift *= 128;
    }
    throw new WireError(this.pos, 'a varint of at most 10 bytes', 'a longer one');
  }

  /** int64 varint (two's complement for negatives), exact. */
  varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError(this.pos, 'a complete varint', 'end of message (truncated?)');
      const byte = this.buf[this.pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    throw new WireError(this.pos, 'a varint of at most 10 bytes', 'a longer one');
  }

  /** Returns [start, end) of a length-delimited field's body. */
  len(): number {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) throw new WireError(start, `${length} bytes of a length-delimited field`, 'end of message (truncated?)');
    this.pos = start + length;
    return start;
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) throw new WireError(this.pos, 'an 8-byte fixed64', 'end of message (truncated?)');
    const value = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return value;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.len();
        return;
      case WIRE_I32:
        this.pos += 4;
        break;
      default:
        throw new WireError(this.pos, 'a protobuf wire type 0, 1, 2 or 5', `wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new WireError(this.end, 'a complete field', 'end of message (truncated?)');
  }
}

function hexOf(buf: Buffer, start: number, end: number, bytes: number): string | undefined {
  if (end - start !== bytes) return undefined;
  const hex = buf.toString('hex', start, end);
  return /^0+$/.test(hex) ? undefined : hex;
}

type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

function anyValue(w: Wire, end: number, plain: boolean, depth: number): Plain | undefined {
  let value: Plain | undefined;
  // Each level costs two bytes, so a 1 MB message could nest 500 000 deep: cut, never recurse that far.
  if (depth > MAX_VALUE_DEPTH) {
    w.pos = end;
    return TOO_DEEP;
  }
  while (w.pos < end) {
    const tag = w.varint();
    const field = Math.floor(tag / 8);
    const type = tag & 7;
    if (field === 1 && type === WIRE_LEN) {
      const s = w.len();
      value = w.buf.toString('utf8', s, w.pos);
    } else if (field === 2 && type === WIRE_VARINT) {
      value = w.varint() !== 0;
    } else if (field === 3 && type === WIRE_VARINT) {
      const n = w.varint64();
      value = n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
    } else if (field === 4 && type === WIRE_I64) {
      if (w.pos + 8 > end) throw new WireError(w.pos, 'an 8-byte double', 'end of message (truncated?)');
      value = w.buf.readDoubleLE(w.pos);
      w.pos += 8;
    } else if (field === 5 && type === WIRE_LEN) {
      const s = w.len();
      const inner = new Wire(w.buf, s, w.pos);
      const values: Plain[] = [];
      while (inner.pos < inner.end) {
        const t = inner.varint();
        if (t >>> 3 === 1 && (t & 7) === WIRE_LEN) {
          const vs = inner.len();
          const vw = new Wire(w.buf, vs, inner.pos);
          values.push(anyValue(vw, inner.pos, true, depth + 1) ?? null);
        } else inner.skip(t & 7);
      }
      value = plain ? values : JSON.stringify(values);
    } else if (field === 6 && type === WIRE_LEN) {
      const s = w.len();
      const map: { [key: string]: Plain } = {};
      keyValues(new Wire(w.buf, s, w.pos), (key, v) => (map[key] = v), true, depth + 1);
      value = plain ? map : JSON.stringify(map);
    } else if (field === 7 && type === WIRE_LEN) {
      const s = w.len();
      value = w.buf.toString('base64', s, w.pos);
    } else {
      w.skip(type);
    }
  }
  return value;
}

/** Reads repeated KeyValue entries from a KeyValueList-shaped body (field 1). */
function keyValues(w: Wire, set: (key: string, value: Plain) => void, plain: boolean, depth: number): void {
  while (w.pos < w.end) {
    const tag = w.varint();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const s = w.len();
      keyValue(new Wire(w.buf, s, w.pos), set, plain, depth);
    } else w.skip(tag & 7);
  }
}

function keyValue(w: Wire, set: (key: string, value: Plain) => void, plain: boolean, depth: number): void {
  let key: string | undefined;
  let value: Plain | undefined;
  while (w.pos < w.end) {
    const tag = w.varint();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const s = w.len();
      key = w.buf.toString('utf8', s, w.pos);
    } else if (tag === ((2 << 3) | WIRE_LEN)) {
      const s = w.len();
      const vw = new Wire(w.buf, s, w.pos);
      value = anyValue(vw, w.pos, plain, depth);
    } else w.skip(tag & 7);
  }
  if (key !== undefined && value !== undefined && value !== null) set(key, value);
}

/** Decodes one TracesData message in buf[start, end), appending spans to `out`. */
function decodeTracesData(buf: Buffer, start: number, end: number, ctx: ReadContext, out: SpanRecord[]): void {
  const w = new Wire(buf, start, end);
  while (w.pos < end) {
    const tag = w.varint();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const s = w.len();
      decodeResourceSpans(buf, s, w.pos, ctx, out);
    } else w.skip(tag & 7);
  }
}

function decodeResourceSpans(buf: Buffer, start: number, end: number, ctx: ReadContext, out: SpanRecord[]): void {
  let service = '';
  const scopes: [number, number][] = [];
  const w = new Wire(buf, start, end);
  while (w.pos < end) {
    const tag = w.varint();
    const field = Math.floor(tag / 8);
    if (field === 1 && (tag & 7) === WIRE_LEN) {
      const s = w.len();
      // Resource { repeated KeyValue attributes = 1 }
      keyValues(new Wire(buf, s, w.pos), (key, value) => {
        if (key === 'service.name') service = String(value);
      }, false, 0);
    } else if ((field === 2 || field === 1000) && (tag & 7) === WIRE_LEN) {
      const s = w.len();
      if (field === 1000) ctx.note('legacy instrumentationLibrarySpans (resources)');
      scopes.push([s, w.pos]);
    } else w.skip(tag & 7);
  }
  // The resource may follow its scopes on the wire, so spans are decoded once it is known.
  for (const [s, e] of scopes) {
    const sw = new Wire(buf, s, e);
    while (sw.pos < e) {
      const tag = sw.varint();
      if (tag === ((2 << 3) | WIRE_LEN)) {
        const ss = sw.len();
        const span = decodeSpan(buf, ss, sw.pos, service, ctx);
        if (typeof span === 'string') ctx.skip(`byte ${ss}`, span);
        else out.push(span);
      } else sw.skip(tag & 7);
    }
  }
}

function decodeSpan(buf: Buffer, start: number, end: number, service: string, ctx: ReadContext): SpanRecord | string {
  const w = new Wire(buf, start, end);
  let traceId: string | undefined;
  let spanId: string | undefined;
  let parentSpanId: string | undefined;
  let name = '';
  let kind: SpanKind = 'unspecified';
  let startNs = 0n;
  let endNs = 0n;
  let error = false;
  const attributes: Record<string, AttributeValue> = {};
  const links: { traceId: string; spanId: string }[] = [];
  let events: SpanEvent[] | undefined;
  let firstTokenNs: bigint | undefined;
  while (w.pos < end) {
    const tag = w.varint();
    const field = Math.floor(tag / 8);
    const type = tag & 7;
    if (type === WIRE_LEN) {
      const s = w.len();
      const e = w.pos;
      if (field === 1) traceId = hexOf(buf, s, e, 16);
      else if (field === 2) spanId = hexOf(buf, s, e, 8);
      else if (field === 4) parentSpanId = hexOf(buf, s, e, 8);
      else if (field === 5) name = buf.toString('utf8', s, e);
      else if (field === 9) keyValue(new Wire(buf, s, e), (key, value) => (attributes[key] = value as AttributeValue), false, 0);
      else if (field === 13) {
        const lw = new Wire(buf, s, e);
        let lt: string | undefined;
        let ls: string | undefined;
        while (lw.pos < e) {
          const t = lw.varint();
          if ((t & 7) === WIRE_LEN) {
            const ps = lw.len();
            if (t >>> 3 === 1) lt = hexOf(buf, ps, lw.pos, 16);
            else if (t >>> 3 === 2) ls = hexOf(buf, ps, lw.pos, 8);
          } else lw.skip(t & 7);
        }
        if (lt !== undefined && ls !== undefined) links.push({ traceId: lt, spanId: ls });
      } else if (field === 11) {
        // Span.Event: time_unix_nano (fixed64, 1), name (string, 2); attributes are not kept.
        const ew = new Wire(buf, s, e);
        let eventName = '';
        let timeNs = 0n;
        while (ew.pos < e) {
          const t = ew.varint();
          if (t === ((1 << 3) | WIRE_I64)) timeNs = ew.fixed64();
          else if (t === ((2 << 3) | WIRE_LEN)) {
            const ns = ew.len();
            eventName = buf.toString('utf8', ns, ew.pos);
          } else ew.skip(t & 7);
        }
        if (timeNs > 0n) {
          (events ??= []).push({ name: eventName, timeNs });
          if (eventName === FIRST_TOKEN_EVENT) firstTokenNs ??= timeNs;
        }
      } else if (field === 15) {
        const sw = new Wire(buf, s, e);
        while (sw.pos < e) {
          const t = sw.varint();
          if (t === ((3 << 3) | WIRE_VARINT)) error = sw.varint() === 2;
          else sw.skip(t & 7);
        }
      }
    } else if (type === WIRE_I64 && (field === 7 || field === 8)) {
      if (field === 7) startNs = w.fixed64();
      else endNs = w.fixed64();
    } else if (type === WIRE_VARINT && field === 6) {
      kind = KINDS[w.varint()] ?? 'unspecified';
    } else w.skip(type);
  }
  if (traceId === undefined) return 'a trace id (16 bytes)';
  if (spanId === undefined) return 'a span id (8 bytes)';
  if (startNs === 0n || endNs === 0n) return 'start and end times (fixed64 ns since epoch)';
  if (endNs < startNs) return 'an end time at or after the start time';
  const record: SpanDraft = { traceId, spanId, name, service, kind, startNs, endNs, attributes, error };
  if (parentSpanId !== undefined) record.parentSpanId = parentSpanId;
  if (links.length > 0) record.links = links;
  if (events !== undefined) record.events = events;
  if (firstTokenNs !== undefined) record.firstTokenNs = firstTokenNs;
  return record;
}

function decodeAt(file: string, buf: Buffer, start: number, end: number, base: number, ctx: ReadContext, out: SpanRecord[]): void {
  try {
    decodeTracesData(buf, start, end, ctx, out);
  } catch (error) {
    if (error instanceof WireError) throw new TraceFormatError(file, `byte ${base + error.offset}`, error.expected, error.got);
    throw error;
  }
}

/** Decodes OTLP protobuf content (length-prefixed records or one bare message) in batches. */
export async function* readOtlpProto(
  file: string,
  content: ByteSource,
  layout: 'protobuf-records' | 'protobuf-message',
  ctx: ReadContext,
  batchSize: number,
): AsyncGenerator<SpanRecord[]> {
  let out: SpanRecord[] = [];
  if (layout === 'protobuf-message') {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of content.chunks()) {
      total += chunk.length;
      if (total > MAX_DOCUMENT_BYTES) {
        throw new TraceFormatError(file, '', `a protobuf message up to ${MAX_DOCUMENT_BYTES / 1024 / 1024} MiB`, 'a larger one', 'use length-prefixed records');
      }
      chunks.push(chunk);
    }
    const buf = Buffer.concat(chunks, total);
    decodeAt(file, buf, 0, buf.length, 0, ctx, out);
    for (let i = 0; i < out.length; i += batchSize) yield out.slice(i, i + batchSize);
    return;
  }
  let pending: Buffer = Buffer.alloc(0);
  let offset = 0;
  for await (const chunk of content.chunks()) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let pos = 0;
    while (pending.length - pos >= 4) {
      const length = pending.readUInt32BE(pos);
      if (pending.length - pos - 4 < length) break;
      decodeAt(file, pending, pos + 4, pos + 4 + length, offset, ctx, out);
      pos += 4 + length;
      if (out.length >= batchSize) {
        yield out;
        out = [];
      }
    }
    offset += pos;
    pending = pending.subarray(pos);
  }
  if (pending.length > 0) {
    ctx.skip(`byte ${offset}`, 'a complete length-prefixed protobuf record', `end of file after ${pending.length} bytes (truncated?)`, 'record');
  }
  if (out.length > 0) yield out;
}
