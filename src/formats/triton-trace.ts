/**
 * @module formats/triton-trace
 * Triton Inference Server's native trace file (`--trace-config triton,file=…`, docs
 * `docs/user_guide/trace.md` "JSON Trace Output"): a JSON array of records — `{id, model_name,
 * model_version, request_id, parent_id}` and `{id, timestamps:[{name, ns}]}` — interleaved and
 * not in time order (2.x), or one record per request with every timestamp inline (1.x). Each
 * request id becomes one span carrying Triton's own attributes (`triton.model_name`, …) and its
 * timestamps as events; `analyzer/conventions/triton` turns those into request and phase spans.
 * Ensemble and BLS children nest under their parent id.
 *
 * Times are Triton's steady (monotonic) clock, not the epoch: durations are exact, absolute
 * times only order events within the file. Ids are made from the record ids (trace id = the
 * top-level request id) under a namespace of the file (`tritonNamespace`).
 */

import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

import type { AttributeValue, SpanEvent, SpanRecord } from '../model/span.js';
import { SOURCE_ATTR } from '../semconv.js';
import type { ReadContext } from './_context.js';
import type { ScannedSpans } from './_scanned-spans.js';
import { lineColumn, scanJsonValue, skipWhitespace } from './_json-scan.js';
import { at, inTimeRange, isObject } from './_shared.js';
import { describeValue, TraceFormatError } from './errors.js';

/** Attribute marking spans made by this reader (read by the Triton convention to name the layout). */
export const TRITON_SOURCE_ATTR = SOURCE_ATTR;
/** Its value. */
export const TRITON_SOURCE = 'triton-trace-file';

/** True when a parsed value is a Triton trace array. */
export function isTritonTraceDocument(doc: unknown): boolean {
  if (!Array.isArray(doc)) return false;
  const first: unknown = doc[0];
  return isObject(first) && 'id' in first && !('traceId' in first) && ('timestamps' in first || 'model_name' in first || 'activity' in first);
}

/** What one request's records said so far. */
export interface TritonRequest {
  model?: string;
  version?: string;
  requestId?: string;
  parent?: number;
  readonly events: SpanEvent[];
  /** Names of its timestamps left out as unreadable (warned as such), not also called missing. */
  unreadable?: string[];
}

/**
 * One Triton record's fields as the readers keep them: a numeric id, a string model_name,
 * model_version as text, a non-empty string request_id, a numeric parent_id (`tritonParent`), and
 * the timestamps with a string name, their `ns` as parsed (the first `stamps` of `names` and
 * `values`; an `ns` that is no time is said by `TritonRequests.stamp`). The byte scanner
 * (`_triton-stream.ts`) reads one from a record's bytes, `readParsedRecord` from its parse; the
 * readers take either (`TritonRequests.take`, the first pass's `TritonIndex`), so one check
 * decides what a record gives.
 */
export interface TritonRecord {
  id: number;
  model: string | undefined;
  version: string | undefined;
  requestId: string | undefined;
  parent: number | undefined;
  stamps: number;
  readonly names: string[];
  readonly values: unknown[];
}

/** An empty TritonRecord to read into (each reader reuses one). */
export function tritonRecord(): TritonRecord {
  return { id: 0, model: undefined, version: undefined, requestId: undefined, parent: undefined, stamps: 0, names: [], values: [] };
}

/**
 * True when a record's `id` (or `parent_id`) as parsed is a request id: Triton's are a uint64
 * counter from 1, read here as exact JSON numbers (below 2^53). The span ids spell id + 1 in 56
 * bits: a fraction, a negative or infinite number (`1e400`), or one past 2^53 would make no id
 * (BigInt threw a RangeError) or one of another length.
 */
export function isTritonId(raw: unknown): raw is number {
  return Number.isSafeInteger(raw) && (raw as number) >= 0;
}

/** Reads a parsed record into `into`; false, `into` untouched, when it is not a Triton record (no numeric id: `isTritonId`). */
export function readParsedRecord(record: unknown, into: TritonRecord): boolean {
  if (!isObject(record) || !isTritonId(record['id'])) return false;
  into.id = record['id'];
  const { model_name: model, model_version: version, request_id: requestId, timestamps } = record;
  into.model = typeof model === 'string' ? model : undefined;
  into.version = version !== undefined ? String(version) : undefined;
  into.requestId = typeof requestId === 'string' && requestId !== '' ? requestId : undefined;
  into.parent = tritonParent(record['parent_id']);
  into.stamps = 0;
  if (Array.isArray(timestamps)) {
    for (const stamp of timestamps as unknown[]) {
      if (!isObject(stamp) || typeof stamp['name'] !== 'string') continue;
      into.names[into.stamps] = stamp['name'];
      into.values[into.stamps] = stamp['ns'];
      into.stamps++;
    }
  }
  return true;
}

/** The record `add` reads a parse into (read and taken at once, so one serves every reader). */
const parsed = tritonRecord();

/** What a Triton trace file that was never closed lacks (see `unclosedTritonTrace`). */
export const UNCLOSED_TRITON_EXPECTED = "the closing ']' of the Triton trace array (Triton writes it at shutdown: the server was still running, or was killed)";

/** The whole records of a Triton trace array that was never closed, and where it stops. */
export interface UnclosedTritonTrace {
  readonly records: unknown[];
  /** line:column where the whole records end (the cut record, or the missing `]`). */
  readonly location: string;
  /**
   * The id of the request whose records were cut in the middle (the writer stopped mid-write):
   * Triton writes a request's records together when it ends, so its whole records are left out
   * too (read, they would make it end early). Null when the cut record shows no id.
   */
  readonly cut?: number | null;
}

/**
 * A Triton trace file whose array is not closed: Triton writes `[` with its first trace, `,`
 * before each next one and the closing `]` only when the server shuts down (src/tracer.cc,
 * `TraceFile::SaveTraces` and `~TraceFile`, https://github.com/triton-inference-server/server),
 * so the file of a running, crashed or killed server ends without it, perhaps inside a record.
 * Undefined when `text` is not that (another syntax error, or not Triton records): its own error
 * stands.
 */
export function unclosedTritonTrace(text: string): UnclosedTritonTrace | undefined {
  let pos = skipWhitespace(text, 0);
  if (text.charCodeAt(pos) !== 0x5b) return undefined;
  pos++;
  let records: unknown[] = [];
  let end = pos;
  let cut: number | null | undefined;
  for (;;) {
    pos = skipWhitespace(text, pos);
    if (pos >= text.length) break;
    const scanned = scanJsonValue(text, pos);
    if (!scanned.ok) {
      if (scanned.got !== 'end of file') return undefined;
      const id = /^\{\s*"id"\s*:\s*(\d+)\s*[,}]/.exec(text.slice(pos, pos + 64));
      cut = id === null ? null : Number(id[1]);
      break;
    }
    records.push(JSON.parse(text.slice(pos, scanned.end)));
    end = scanned.end;
    pos = skipWhitespace(text, end);
    if (pos >= text.length) break;
    if (text.charCodeAt(pos) !== 0x2c) return undefined;
    pos++;
  }
  if (!isTritonTraceDocument(records)) return undefined;
  if (typeof cut === 'number') records = withoutRequest(records, cut);
  const { line, column } = lineColumn(text, end);
  return { records, location: `${line}:${column}`, ...(cut !== undefined ? { cut } : {}) };
}

/** `records` less those of request `id` (a request cut at the end of a file is left out whole). */
export function withoutRequest(records: readonly unknown[], id: unknown): unknown[] {
  return records.filter((r) => !isObject(r) || r['id'] !== id);
}

/**
 * A record's `parent_id` as parsed, as the id of a parent request; undefined for none. 0 is none:
 * "A parent id value of 0 indicates that there is no parent trace" (Triton C API, "Function
 * TRITONSERVER_InferenceTraceParentId", tritonserver.h,
 * https://docs.nvidia.com/deeplearning/triton-inference-server/archives/triton_inference_server_220/user-guide/docs/cpp_api/function_tritonserver_8h_1a3fc567f5f5fda6daa00b9bd02ba0d61f.html).
 * Triton's own writer leaves the field out then; a file written otherwise may not. A number that
 * is no request id (`isTritonId`) is none too, as one that is no number.
 */
export function tritonParent(raw: unknown): number | undefined {
  return isTritonId(raw) && raw !== 0 ? raw : undefined;
}

const UNREADABLE_NS = "Triton timestamp left out: expected its 'ns' as steady-clock nanoseconds (a non-negative integer); the phases it bounds are missing from its request";

/**
 * Activities that follow each other within one request whatever the backend: a frontend read or
 * write, the core's enqueue, one backend execution (src/tracer.cc, core src/infer_request.cc).
 * REQUEST_END is left out (a decoupled backend may release a request before its execute
 * returns), as are names a request records more than once.
 */
const IN_ORDER: readonly (readonly string[])[] = [
  ['HTTP_RECV_START', 'HTTP_RECV_END'],
  ['HTTP_SEND_START', 'HTTP_SEND_END'],
  ['GRPC_WAITREAD_START', 'GRPC_WAITREAD_END'],
  ['GRPC_SEND_START', 'GRPC_SEND_END'],
  ['REQUEST_START', 'QUEUE_START', 'COMPUTE_START', 'COMPUTE_INPUT_END', 'COMPUTE_OUTPUT_START', 'COMPUTE_END'],
];

/** Each name of IN_ORDER's chains: its slot in `outOfOrder`'s scratch (chain after chain). */
const ORDER_SLOTS = new Map<string, number>(IN_ORDER.flat().map((name, k) => [name, k]));
/** `outOfOrder`'s times by slot: undefined none, null more than once (reused: it runs once a request). */
const orderTimes: (bigint | null | undefined)[] = new Array<bigint | null | undefined>(ORDER_SLOTS.size).fill(undefined);

/** The first pair of a request's activities whose times contradict their order ("COMPUTE_END before COMPUTE_START"), if any. */
function outOfOrder(events: readonly SpanEvent[]): string | undefined {
  const times = orderTimes.fill(undefined);
  for (const e of events) {
    const k = ORDER_SLOTS.get(e.name);
    if (k !== undefined) times[k] = times[k] === undefined ? e.timeNs : null;
  }
  let k = 0;
  for (const chain of IN_ORDER) {
    let previous = -1;
    for (let n = 0; n < chain.length; n++, k++) {
      const t = times[k];
      if (t === undefined || t === null) continue;
      if (previous >= 0 && t < times[previous]!) return `${chain[n]!} before ${chain[previous - (k - n)]!}`;
      previous = k;
    }
  }
  return undefined;
}

/** Triton 1.x spelled activities in lowercase with spaces (`request handler start`, `grpc wait/read end`). */
export function normalizeActivity(name: string): string {
  let normal = NORMAL.get(name);
  if (normal === undefined) {
    normal = /[a-z ]/.test(name) ? name.toLowerCase().replace('request handler', 'request').replace('grpc wait/read', 'grpc waitread').trim().replace(/ +/g, '_').toUpperCase() : name;
    // A file names a few dozen activities at most; one that makes up names is not remembered past this.
    if (NORMAL.size < 1024) NORMAL.set(name, normal);
  }
  return normal;
}

/** Names normalized so far (`normalizeActivity` runs on every timestamp, twice). */
const NORMAL = new Map<string, string>();

/** Bits of the activities `missingTimestamps` looks for. */
const PRESENT = new Map<string, number>(
  ['HTTP_RECV_START', 'HTTP_RECV_END', 'GRPC_WAITREAD_START', 'GRPC_WAITREAD_END', 'HTTP_SEND_START', 'HTTP_SEND_END', 'GRPC_SEND_START', 'GRPC_SEND_END', 'QUEUE_START', 'COMPUTE_START', 'COMPUTE_END'].map((name, k) => [name, 1 << k]),
);
const bits = (...names: string[]): number => names.reduce((mask, name) => mask | PRESENT.get(name)!, 0);
const HTTP_RECV = bits('HTTP_RECV_START', 'HTTP_RECV_END');
const GRPC_RECV = bits('GRPC_WAITREAD_START', 'GRPC_WAITREAD_END');
const EXECUTED = bits('QUEUE_START', 'COMPUTE_START', 'COMPUTE_END');
/** Timestamps a request may lack, and their bits. */
const wants = (...names: string[]): { readonly names: readonly string[]; readonly mask: number } => ({ names, mask: bits(...names) });
const HTTP_SEND = wants('HTTP_SEND_START', 'HTTP_SEND_END');
const GRPC_SEND = wants('GRPC_SEND_START', 'GRPC_SEND_END');
const COMPUTE = wants('COMPUTE_START', 'COMPUTE_END');
const NONE = wants();
const NOTHING_MISSING = { send: [], compute: [] } as const;

/**
 * The timestamps a request's others promise and it lacks, by what they bound: its response's
 * send where the frontend received it (HTTP_RECV_* or GRPC_WAITREAD_*: a top-level request;
 * ensemble steps and BLS calls have no frontend timestamps), and the backend's execution where
 * the core queued it (QUEUE_START) or one of the pair is there. An ensemble (no queue and no
 * compute of its own, trace_summary.py) and a response-cache hit (none either) lack nothing.
 * Names in either spelling (1.x lowercase too); one present with an unreadable time is not missing.
 */
function missingTimestamps(request: TritonRequest): { readonly send: readonly string[]; readonly compute: readonly string[] } {
  // The names present, as bits of PRESENT (it runs once a request: no set of names).
  let present = 0;
  for (const e of request.events) present |= PRESENT.get(normalizeActivity(e.name)) ?? 0;
  const sent = (present & HTTP_RECV) !== 0 ? HTTP_SEND : (present & GRPC_RECV) !== 0 ? GRPC_SEND : NONE;
  const computed = (present & EXECUTED) !== 0 ? COMPUTE : NONE;
  const wanted = sent.mask | computed.mask;
  if ((present & wanted) === wanted) return NOTHING_MISSING;
  // One whose time was unreadable is warned as such already.
  const absent = (names: readonly string[]): string[] => names.filter((n) => (present & PRESENT.get(n)!) === 0 && request.unreadable?.includes(n) !== true);
  return { send: absent(sent.names), compute: absent(computed.names) };
}

/** `A`, or `A and B`, as a warning names missing timestamps. */
function listed(names: readonly string[]): string {
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
}

/** A timestamp's `ns` as parsed, as a time; undefined when it is not one (the timestamp is not kept). */
export function nsOf(raw: unknown): bigint | undefined {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return inTimeRange(BigInt(Math.round(raw)));
  if (typeof raw === 'string' && /^\d+$/.test(raw)) return inTimeRange(BigInt(raw));
  return undefined;
}

function hexId(value: bigint, chars: number): string {
  return value.toString(16).padStart(chars, '0');
}

/** Char codes of the lowercase hex digits. */
const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * `hexId(BigInt(n), 16)` for a whole `n` from 0 to 2⁵³: the 16 digits as char codes at once,
 * without the BigInt, its digits and their padding (three strings a request id, and a request
 * has up to three ids).
 */
function hex16(n: number): string {
  if (!(Number.isSafeInteger(n) && n >= 0)) return hexId(BigInt(n), 16);
  const a = Math.floor(n / 0x1_0000_0000);
  const b = n % 0x1_0000_0000;
  return String.fromCharCode(
    HEX[a >>> 28]!, HEX[(a >>> 24) & 15]!, HEX[(a >>> 20) & 15]!, HEX[(a >>> 16) & 15]!, HEX[(a >>> 12) & 15]!, HEX[(a >>> 8) & 15]!, HEX[(a >>> 4) & 15]!, HEX[a & 15]!,
    HEX[b >>> 28]!, HEX[(b >>> 24) & 15]!, HEX[(b >>> 20) & 15]!, HEX[(b >>> 16) & 15]!, HEX[(b >>> 12) & 15]!, HEX[(b >>> 8) & 15]!, HEX[(b >>> 4) & 15]!, HEX[b & 15]!,
  );
}

/** The span id of request `id`: (id + 1)·2⁸ in 16 hex digits. */
function requestSpanId(id: number): string {
  // Exact in a double below 2⁴⁵ (a file numbers its requests from 1).
  return Number.isSafeInteger(id) && id >= 0 && id < 2 ** 44 ? hex16((id + 1) * 256) : hexId((BigInt(id) + 1n) << 8n, 16);
}

/**
 * The high half of the trace ids of one file's requests. Triton numbers requests from 1 in every
 * server process, so the files of two replicas (or of two runs) hold the same ids for different
 * requests: merged by id they would be taken for duplicates of each other. The rotations of one
 * file (`FILE.0`, `FILE.1`, … written with `log-frequency`) continue one counter and may split an
 * ensemble from its children, so they share a namespace.
 */
export function tritonNamespace(file: string): string {
  return createHash('sha1').update(tritonServerOf(file)).digest('hex').slice(0, 16);
}

/**
 * Which server process (and so which steady clock and id counter) a Triton trace file comes
 * from, as far as its path tells: the path less the rotation suffix of `log-frequency`.
 */
export function tritonServerOf(file: string): string {
  return file === '-' ? file : resolve(file).replace(/\.\d+$/, '');
}

/** Converts one parsed Triton trace array, appending one span per request id (timestamps as events) to `out`. */
export function tritonTraceDocumentToSpans(doc: unknown, ctx: ReadContext, out: SpanRecord[], where: string): void {
  if (!Array.isArray(doc)) throw new TraceFormatError(ctx.file, at(where, '$'), 'a Triton trace array', describeValue(doc));
  const requests = new TritonRequests(ctx, where);
  doc.forEach((record: unknown, i) => requests.add(record, i));
  requests.spans(out);
}

/**
 * The requests of a Triton trace file gathered one record at a time, in file order (`add` for
 * record `i` of the array), made one span each by `spans` once every record is in: a request's
 * records are spread over the file. What `tritonTraceDocumentToSpans` does with a parsed array;
 * a file read record by record gathers them so too, its requests let go of as they end
 * (`_triton-release.ts`).
 */
export class TritonRequests {
  protected readonly requests = new Map<number, TritonRequest>();
  /** Records skipped as not Triton records (no numeric id). */
  skippedRecords = 0;

  constructor(
    protected readonly ctx: ReadContext,
    /** Where the array is (its line, or ''), for the locations of what is skipped. */
    public where: string,
    /** False when another reading of the same records said it (`_triton-stream.ts`, its second pass). */
    noted = true,
  ) {
    if (noted) noteTritonClock(ctx);
  }

  /** Takes record `i` of the array, parsed. */
  add(record: unknown, i: number): void {
    if (readParsedRecord(record, parsed)) return this.take(parsed, i);
    this.skippedRecords++;
    skipRecord(this.ctx, this.where, record, i);
  }

  /** Takes record `i` as read (`readParsedRecord`, or the byte scanner from its bytes). */
  take(r: TritonRecord, i: number): void {
    const request = this.request(r.id);
    if (r.model !== undefined) request.model = r.model;
    if (r.version !== undefined) request.version = r.version;
    if (r.requestId !== undefined) request.requestId = r.requestId;
    if (r.parent !== undefined) request.parent = r.parent;
    for (let k = 0; k < r.stamps; k++) this.stamp(request, r.names[k]!, r.values[k], i);
  }

  /** The request of a record with a numeric id (made at its first record); `take` sets its fields. */
  request(id: number): TritonRequest {
    let request = this.requests.get(id);
    if (request === undefined) {
      request = { events: [] };
      this.requests.set(id, request);
    }
    return request;
  }

  /**
   * Adds a timestamp `{name, ns}` of record `i` (`ns` as parsed), as an event when `ns` is a
   * time. One that is not is said: the phases it bounds go missing from its request, which would
   * otherwise only show as a lower coverage with no cause.
   */
  stamp(request: TritonRequest, name: string, ns: unknown, i: number): void {
    const timeNs = nsOf(ns);
    if (timeNs !== undefined) {
      request.events.push({ name, timeNs });
      return;
    }
    this.ctx.warn(at(this.where, `$[${i}].timestamps`), UNREADABLE_NS);
    (request.unreadable ??= []).push(normalizeActivity(name));
  }

  /** Requests so far. */
  get size(): number {
    return this.requests.size;
  }

  /** Forgets request `id` (its records, as `withoutRequest` leaves them out of an array). */
  drop(id: number): void {
    this.requests.delete(id);
  }

  /** Appends one span per request, in the order their first records came. */
  spans(out: SpanRecord[]): void {
    const { requests } = this;
    const namespace = tritonNamespace(this.ctx.file);
    // A parent with no records here is taken as the root (see `rootOf`): right for an ensemble,
    // whose children are one level down.
    const root = (id: number): number => rootOf(id, (r) => requests.get(r)?.parent, (r) => requests.has(r));
    for (const [id, request] of requests) this.span(id, request, namespace, root(id), out);
  }

  /** Appends the span of request `id` of trace `root` to `out` (or says it is skipped: no timestamps). */
  protected span(id: number, request: TritonRequest, namespace: string, root: number, out: SpanRecord[]): void {
    if (!this.checked(id, request)) return;
    out.push(tritonSpan(id, request, namespace, root));
  }

  /**
   * Says what request `id`'s timestamps lack or contradict, and sorts them by time; false, said
   * as skipped, when it has none (it makes no span).
   */
  protected checked(id: number, request: TritonRequest): boolean {
    if (request.events.length === 0) {
      this.ctx.skip(at(this.where, `$ (request id ${id})`), 'timestamps of a Triton request', 'none');
      return false;
    }
    const disorder = outOfOrder(request.events);
    const missing = missingTimestamps(request);
    if (disorder !== undefined || missing !== NOTHING_MISSING) this.warnings(id, disorder, missing);
    sortByTime(request.events);
    return true;
  }

  /** Says what request `id`'s timestamps contradict (`outOfOrder`) and lack (`missingTimestamps`). */
  private warnings(id: number, disorder: string | undefined, missing: { readonly send: readonly string[]; readonly compute: readonly string[] }): void {
    const where = at(this.where, `$ (request id ${id})`);
    if (disorder !== undefined) this.ctx.warn(where, `Triton timestamps out of order on one steady clock (${disorder}): an edited file, or records of two server runs under one id; the phases between them are left out`);
    if (missing.send.length > 0) {
      const s = missing.send.length === 1 ? '' : 's';
      this.ctx.warn(where, `Triton request received without its ${listed(missing.send)} timestamp${s}: records missing from the file (edited, or written by a server that stopped), a request that failed, or a client gone before the response; the response's serialize and send phases are left out and the request ends at its last timestamp`);
    }
    if (missing.compute.length > 0) {
      const s = missing.compute.length === 1 ? '' : 's';
      this.ctx.warn(where, `Triton request queued without its ${listed(missing.compute)} timestamp${s}: records missing from the file, or a request that failed or was cancelled in the queue; its queue and compute phases are left out`);
    }
  }
}

/**
 * Sorts a request's timestamps by time, equal times in the order read (as the stable
 * Array.prototype.sort does). A request has a handful: by insertion, in place, with none of the
 * work array `sort` makes per call (65 of the 660 MB a 30 MB file's analysis allocated).
 */
function sortByTime(events: SpanEvent[]): void {
  if (events.length > 32) {
    events.sort((x, y) => (x.timeNs < y.timeNs ? -1 : x.timeNs > y.timeNs ? 1 : 0));
    return;
  }
  for (let i = 1; i < events.length; i++) {
    const e = events[i]!;
    let j = i - 1;
    for (; j >= 0 && events[j]!.timeNs > e.timeNs; j--) events[j + 1] = events[j]!;
    events[j + 1] = e;
  }
}

/** The span of request `id` (checked: its events sorted by time) of trace `root`, one request of a Triton trace file. */
function tritonSpan(id: number, request: TritonRequest, namespace: string, root: number): SpanRecord {
  const events = request.events;
  const attributes: Record<string, AttributeValue> = { [TRITON_SOURCE_ATTR]: TRITON_SOURCE, 'triton.trace_id': id };
  if (request.model !== undefined) attributes['triton.model_name'] = request.model;
  if (request.version !== undefined) attributes['triton.model_version'] = request.version;
  if (request.requestId !== undefined) attributes['triton.request_id'] = request.requestId;
  if (request.parent !== undefined) attributes['triton.trace_parent_id'] = request.parent;
  return {
    traceId: tritonTraceId(namespace, root),
    spanId: requestSpanId(id),
    ...(request.parent !== undefined ? { parentSpanId: requestSpanId(request.parent) } : {}),
    name: request.model ?? 'triton request',
    service: 'triton',
    kind: 'server',
    startNs: events[0]!.timeNs,
    endNs: events[events.length - 1]!.timeNs,
    attributes,
    error: false,
    events,
  };
}

/**
 * Where the spans of a Triton trace file go when the analyzer maps them as they are read
 * (ReadOptions.tritonRows, given by analyzer/conventions/triton.ts): into rows of our
 * convention, as OTLP spans in it come (formats/_scanned-spans.ts), without the mapped spans'
 * records. It sees what the convention mapper would: the spans in the order made, and after each
 * batch the traces whose last span it held.
 */
export interface TritonSpanSink {
  /** Takes the next span. */
  add(span: SpanRecord): void;
  /** The traces whose last span was added (by the end of a batch). */
  close(traceIds: readonly string[]): void;
  /** At the end of the file: every trace still held is whole. */
  end(): void;
}

/** Makes the TritonSpanSink of one file, writing into `rows` (emptied by the reader once each batch is handed on). */
export type TritonRows = (rows: ScannedSpans) => TritonSpanSink;

/** The note every reading of a Triton trace file makes, once. */
export function noteTritonClock(ctx: ReadContext): void {
  ctx.note('Triton steady-clock times (not epoch; durations exact)');
}

/** Says record `i` (of the array at `where`) is skipped: not a Triton record with a request id (`isTritonId`). */
export function skipRecord(ctx: ReadContext, where: string, record: unknown, i: number): void {
  ctx.skip(at(where, `$[${i}]`), 'a Triton record with a request id (a non-negative integer below 2^53)', describeValue(record), 'record');
}

/**
 * The top of request `id`'s parent chain: the first with no parent, or a parent with no records
 * (`has` false). `parent` gives a request's parent id.
 *
 * A parent with no records in the file: Triton writes a trace (a request and every request it
 * spawned: ensemble steps, BLS calls) all at once when its last request is released
 * (`TraceManager::Trace::~Trace` → `TraceSetting::WriteTrace`, src/tracer.cc since 2022), and a
 * `log-frequency` rotation starts its next file between two traces, never inside one; older
 * releases (2.15: `TraceRelease`) wrote each request as it was released, into one file. So the
 * requests of a trace whose root is missing are all that any file holds of it: the file was cut
 * (a killed server's, stopped while writing that trace; a piece of a file split by hand). The
 * trace is whole once its last request in the file is read (`_triton-release.ts` says so), as
 * when the file is read at once.
 */
export function rootOf(id: number, parent: (id: number) => number | undefined, has: (id: number) => boolean): number {
  let current = id;
  for (let hops = 0; hops < 64; hops++) {
    const up = parent(current);
    if (up === undefined) return current;
    if (!has(up)) return up;
    current = up;
  }
  return current;
}

/** The trace id of the requests under root request `root`. */
export function tritonTraceId(namespace: string, root: number): string {
  return namespace + (Number.isSafeInteger(root) && root >= 0 && root < 2 ** 52 ? hex16(root + 1) : hexId(BigInt(root) + 1n, 16));
}