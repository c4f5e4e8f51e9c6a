/**
 * @module analyzer/assemble
 * Spans → requests: decodes streamed span batches (records or columns) into compact spans,
 * holds them by trace in the trace window (_trace-window.ts: buffering, idle finalization, late
 * spans), and when a trace leaves the window de-duplicates it, attributes phase spans to their
 * request and times each request (_request-timing.ts), following the span convention
 * (docs/conventions.md). Traces with no request span go to the generic report.
 */
import type { SpanRecord } from '../model/span.js';
import { RequestTableBuilder } from '../model/request-table.js';
import type { RequestTable } from '../model/request-table.js';
import type { AssemblyStats, TimeRange } from '../model/analysis.js';
import { ATTR, isClientSpan } from '../semconv.js';
import type { TraceSpan } from './_trace-span.js';
import { NanosFrom, SpanIndex } from './_trace-span.js';
import { TraceWindow } from './_trace-window.js';
import { CLIENT_KIND, SPAN_BIT, SpanStore } from './_span-store.js';
import { RequestTimer } from './_request-timing.js';
import { GenericAccumulator } from './generic.js';
import { FLAG, batchSizeOf, batchSizeOfCode, carriesBatchSize, kindCode, parentOfRow, phaseByName, phaseCode } from './_span-columns.js';
import type { SpanColumns } from './_span-columns.js';
import { SCANNED } from '../formats/_scanned-spans.js';
import type { ScannedSpans } from '../formats/_scanned-spans.js';

export type { AssemblyStats } from '../model/analysis.js';

/** Options of the request assembler. */
export interface AssembleOptions {
  /** Finalize a trace once this many spans were read without touching it. Default 100 000. */
  readonly idleSpans?: number;
  /**
   * A trace whose root span has arrived and whose spans all find their parent is finalized once
   * this many spans were read without touching it (instead of `idleSpans`): exporters write a
   * span when it ends, so the root usually comes last. Default completeIdleSpansFor(idleSpans) (analyzer/_trace-window.ts): 2 000, a fiftieth of idleSpans past 100 000, at most idleSpans.
   */
  readonly completeIdleSpans?: number;
  /** How many finalized trace ids to remember for late-span detection. Default 100 000. */
  readonly rememberFinalized?: number;
  /** Keep in the generic report only the traces whose first span starts in this range (requests are selected after assembly). */
  readonly timeRange?: TimeRange;
  /**
   * A full garbage collection, where the host can make one (the CLI's analysis child: V8's `gc`,
   * cli/_collect.ts). The analysis (analyzer/pipeline.ts) makes one once the spans are assembled
   * into requests, when what reading and assembling held is garbage and the summaries and
   * diagnosis have not begun; a large table makes them as its columns are read back from its
   * temporary file (model/_cold-columns.ts). Default: none.
   */
  readonly collect?: () => void;
}

/** The assembler's output. */
export interface AssemblyResult {
  /** Requests in the order their traces were finalized. */
  readonly requests: RequestTable;
  readonly stats: Readonly<AssemblyStats>;
  /** Self time and critical path of the traces that hold no request span. */
  readonly generic: GenericAccumulator;
}

/** Incremental assembler: feed span batches with `add`, then call `finish` once. */
export class RequestAssembler {
  private origin: bigint | undefined;
  /** Relative times from `origin` (and its halves, which request starts are summed from), made when first needed. */
  private relative: NanosFrom | undefined;
  private readonly requests: RequestTableBuilder;
  private readonly generic: GenericAccumulator;
  private readonly timer = new RequestTimer();
  private readonly scratch = new FinalizeScratch();
  private readonly store = new SpanStore();
  private readonly window: TraceWindow;
  private readonly stats: AssemblyStats = {
    spans: 0,
    duplicateSpans: 0,
    lateSpans: 0,
    invalidSpans: 0,
    orphanSpans: 0,
    fragmentedTraces: 0,
    fragmentPieces: 0,
    unattachedPhaseSpans: 0,
    traces: 0,
    requestTraces: 0,
    clockSkewRequests: 0,
    firstTokenAfterEnd: 0,
    invalidBatchSizes: 0,
    roundedRequests: 0,
    roundedToNs: 0,
  };

  constructor(options: AssembleOptions = {}) {
    this.requests = new RequestTableBuilder(options.collect === undefined ? {} : { collect: options.collect });
    this.generic = new GenericAccumulator(options.timeRange);
    this.window = new TraceWindow(options, this.stats, this.store, (traceId, head, count) => this.finalize(traceId, head, count));
  }

  /** Adds one batch of spans (any order, any traces). */
  add(batch: readonly SpanRecord[]): void {
    const store = this.store;
    for (const record of batch) {
      if (record.endNs < record.startNs) {
        this.stats.spans++;
        this.stats.invalidSpans++;
        continue;
      }
      const relative = (this.relative ??= new NanosFrom((this.origin ??= record.startNs)));
      // classify() inlined: this loop runs once per span, and its result object would be garbage.
      const attributes = record.attributes;
      const phaseValue = attributes[ATTR.PHASE];
      const phase = phaseValue === undefined ? undefined : phaseByName(phaseValue);
      const client = isClientSpan(record.kind, attributes[ATTR.ROLE]);
      const request = !client && phase === undefined && attributes[ATTR.MODEL_NAME] !== undefined;
      const slot = store.alloc();
      store.ids[slot] = record.spanId;
      store.parents[slot] = record.parentSpanId;
      store.names[slot] = record.name;
      store.services[slot] = record.service;
      store.kinds[slot] = kindCode(record.kind);
      store.starts[slot] = relative.of(record.startNs);
      store.ends[slot] = relative.of(record.endNs);
      store.phases[slot] = phase === undefined ? -1 : phaseCode(phase);
      store.bits[slot] = (request ? SPAN_BIT.REQUEST : 0) | (client ? SPAN_BIT.CLIENT : 0) | (record.shared === true ? SPAN_BIT.SHARED : 0) | (record.error ? SPAN_BIT.ERROR : 0);
      store.attributes[slot] = request || client ? attributes : undefined;
      // The attribute looked up only where a batch size is read: this loop runs once per span.
      store.batchSizes[slot] = carriesBatchSize(phase) ? batchSizeOf(phase, attributes[ATTR.BATCH_SIZE], this.stats) : NaN;
      store.firstTokens[slot] = (request || client) && record.firstTokenNs !== undefined ? relative.of(record.firstTokenNs) : NaN;
      this.window.place(record.traceId, slot);
    }
  }

  /**
   * Adds row `i` of a scanned batch (formats/_scanned-spans.ts: a span in our convention read
   * straight from the bytes), as `add` adds its SpanRecord. Times relative to the origin come
   * from the two exact halves without BigInt while the difference stays under 2⁵³ ns.
   */
  addScanned(s: ScannedSpans, i: number): void {
    const relative = (this.relative ??= new NanosFrom((this.origin ??= s.startNs(i))));
    const store = this.store;
    const flags = s.flags[i]!;
    const phaseCode = s.phases[i]!;
    const request = (flags & SCANNED.REQUEST) !== 0;
    const client = (flags & SCANNED.CLIENT) !== 0;
    const slot = store.alloc();
    store.ids[slot] = s.ids[i]!;
    store.parents[slot] = s.parents[i];
    store.names[slot] = s.names[i]!;
    store.services[slot] = s.services[i]!;
    // SCANNED_KINDS and SPAN_KINDS share OTLP's order.
    store.kinds[slot] = s.kinds[i]!;
    store.starts[slot] = relative.ofHalves(s.startHi[i]!, s.startLo[i]!);
    store.ends[slot] = relative.ofHalves(s.endHi[i]!, s.endLo[i]!);
    store.phases[slot] = phaseCode;
    store.bits[slot] = (request ? SPAN_BIT.REQUEST : 0) | (client ? SPAN_BIT.CLIENT : 0) | ((flags & SCANNED.ERROR) !== 0 ? SPAN_BIT.ERROR : 0);
    store.attributes[slot] = request || client ? s.attributes[i]! : undefined;
    store.batchSizes[slot] = batchSizeOfCode(phaseCode, s.batchValues[i], this.stats);
    store.firstTokens[slot] = (flags & SCANNED.FIRST_TOKEN) !== 0 && (request || client) ? relative.ofHalves(s.firstHi[i]!, s.firstLo[i]!) : NaN;
    this.window.place(s.traceIds[i]!, slot);
  }

  /** Adds one batch in columns (from a reader thread). */
  addColumns(c: SpanColumns): void {
    const batchOrigin = BigInt(c.originNs);
    const origin = (this.origin ??= batchOrigin);
    // Exact: both origins are real span starts, far less than 2^53 ns (104 days) apart.
    const offset = Number(batchOrigin - origin);
    const strings = c.strings;
    const store = this.store;
    this.stats.invalidBatchSizes += c.invalidBatchSizes;
    for (let i = 0; i < c.length; i++) {
      const flags = c.flags[i]!;
      if ((flags & FLAG.INVALID) !== 0) {
        this.stats.spans++;
        this.stats.invalidSpans++;
        continue;
      }
      const slot = store.alloc();
      store.ids[slot] = c.ids[i]!;
      store.parents[slot] = parentOfRow(c, i);
      store.names[slot] = strings[c.names[i]!]!;
      store.services[slot] = strings[c.services[i]!]!;
      store.kinds[slot] = c.kinds[i]!;
      store.starts[slot] = c.starts[i]! + offset;
      store.ends[slot] = c.ends[i]! + offset;
      store.phases[slot] = c.phases[i]!;
      store.bits[slot] =
        ((flags & FLAG.REQUEST) !== 0 ? SPAN_BIT.REQUEST : 0) |
        ((flags & FLAG.CLIENT) !== 0 ? SPAN_BIT.CLIENT : 0) |
        ((flags & FLAG.SHARED) !== 0 ? SPAN_BIT.SHARED : 0) |
        ((flags & FLAG.ERROR) !== 0 ? SPAN_BIT.ERROR : 0);
      store.attributes[slot] = c.attributes[i] ?? undefined;
      // NaN (none) stays NaN.
      store.batchSizes[slot] = c.batchSizes[i]!;
      store.firstTokens[slot] = c.firstTokens[i]! + offset;
      this.window.place(strings[c.traceIds[i]!]!, slot);
    }
  }

  /** Traces currently held in memory. */
  get openTraces(): number {
    return this.window.openTraces;
  }

  /** Finalizes every open trace and returns the result. */
  finish(): AssemblyResult {
    this.window.flush();
    this.stats.firstTokenAfterEnd = this.timer.firstTokensAfterEnd;
    return { requests: this.requests.build(), stats: this.stats, generic: this.generic };
  }

  /** The earliest start of the trace's spans `spans[0]` … `spans[n − 1]`, ns since the epoch. */
  private firstStartNs(spans: Int32Array, n: number): bigint {
    const starts = this.store.starts;
    let first = Infinity;
    for (let i = 0; i < n; i++) first = Math.min(first, starts[spans[i]!]!);
    return this.origin! + BigInt(Math.round(first));
  }

  /** A trace left the window: dedupe, attribute phase spans to requests, time each request. */
  private finalize(traceId: string, head: number, count: number): void {
    const stats = this.stats;
    const store = this.store;
    stats.traces++;
    const scratch = this.scratch.reserve(count);
    // The trace's slots in arrival order: position k of the trace is slot spans[k].
    const spans = scratch.spans;
    const chain = store.next;
    for (let k = 0, slot = head; k < count; k++, slot = chain[slot]!) spans[k] = slot;
    const n = this.dedupe(spans, count);
    const parents = scratch.parents;
    const requestAt = scratch.requestAt;
    const bits = store.bits;
    // Small traces: parents as positions, found once, so the walks below compare no ids. Big
    // ones: maps over span objects, and every answer in one pass down from the roots (Ancestry).
    const big = n > SMALL_TRACE ? new Ancestry(store, spans, n) : undefined;
    if (big === undefined) parentIndices(store, spans, n, parents, scratch.keys, scratch.clientAt);
    let pieces = 0;
    let requestCount = 0;
    for (let i = 0; i < n; i++) {
      const slot = spans[i]!;
      if (big === undefined ? parents[i]! < 0 : big.isRoot(i)) {
        pieces++;
        const parent = store.parents[slot];
        if (parent !== undefined && parent !== store.ids[slot]) stats.orphanSpans++;
      }
      if ((bits[slot]! & SPAN_BIT.REQUEST) !== 0) requestAt[requestCount++] = i;
    }
    if (pieces > 1) {
      stats.fragmentedTraces++;
      stats.fragmentPieces += pieces;
    }
    const phases = store.phases;
    if (requestCount === 0) {
      for (let i = 0; i < n; i++) if (phases[spans[i]!]! >= 0) stats.unattachedPhaseSpans++;
      if (!this.generic.cutsByTime || this.generic.keeps(this.firstStartNs(spans, n))) this.generic.addTrace(big !== undefined ? big.spans : views(store, spans, n));
      return;
    }
    stats.requestTraces++;
    // owners[i]: the request (0 … requestCount−1) phase span i belongs to; −1: none.
    const owners = scratch.owners;
    const requestNumber = scratch.requestNumber;
    for (let k = 0; k < requestCount; k++) requestNumber[requestAt[k]!] = k;
    const from = scratch.from;
    from.fill(0, 0, requestCount + 1);
    for (let i = 0; i < n; i++) {
      owners[i] = -1;
      if (phases[spans[i]!]! < 0) continue;
      const at = big === undefined ? nearestRequest(bits, spans, n, parents, i) : big.request(i);
      if (at < 0) {
        stats.unattachedPhaseSpans++;
        continue;
      }
      const owner = requestNumber[at]!;
      owners[i] = owner;
      from[owner + 1]!++;
    }
    // Phase spans grouped by request, in trace order within each (a counting sort): no array per request.
    for (let k = 0; k < requestCount; k++) from[k + 1]! += from[k]!;
    const grouped = scratch.grouped;
    const next = scratch.next;
    for (let k = 0; k < requestCount; k++) next[k] = from[k]!;
    for (let i = 0; i < n; i++) if (owners[i]! >= 0) grouped[next[owners[i]!]!++] = spans[i]!;
    const clients = scratch.clients;
    for (let k = 0; k < requestCount; k++) {
      const at = requestAt[k]!;
      const client = big === undefined ? nearestClient(bits, spans, n, parents, at) : big.client(at);
      clients[k] = client < 0 ? -1 : spans[client]!;
    }
    if (requestCount > 1) keepClientForLastAttempt(clients, requestAt, spans, store.starts, requestCount);
    for (let k = 0; k < requestCount; k++) {
      const at = requestAt[k]!;
      const clientSlot = clients[k]!;
      if (this.timer.time(this.requests, traceId, (this.relative ??= new NanosFrom(this.origin!)).start, store, spans[at]!, clientSlot, grouped, from[k]!, from[k + 1]!)) stats.clockSkewRequests++;
      // Times are doubles relative to the first span read: exact within 2^53 ns of it only.
      const far = Math.max(Math.abs(store.ends[spans[at]!]!), clientSlot < 0 ? 0 : Math.abs(store.ends[clientSlot]!));
      if (far > Number.MAX_SAFE_INTEGER) {
        stats.roundedRequests++;
        // The spacing of doubles of that size: 2^(exponent − 52).
        stats.roundedToNs = Math.max(stats.roundedToNs, 2 ** (Math.floor(Math.log2(far)) - 52));
      }
    }
  }

  /**
   * Drops later copies of a span with the same id and kind (Zipkin's client/server halves differ
   * in kind), keeping the others in order in `spans[0 … count)`; returns how many are kept, with
   * each kept span's idKey (SpanStore.idKeys) in the scratch's `keys` at its position.
   */
  private dedupe(spans: Int32Array, count: number): number {
    const ids = this.store.ids;
    const kinds = this.store.kinds;
    const idKeys = this.store.idKeys;
    const keys = this.scratch.keys;
    if (count > 0) keys[0] = idKeys[spans[0]!]!;
    if (count < 2) return count;
    let kept = 1;
    if (count <= 48) {
      // Comparing with the kept spans only is enough: a dropped copy equals a kept one. Keys
      // first: two ids compared as strings cost a call each time, most pairs differ in their keys.
      for (let i = 1; i < count; i++) {
        const slot = spans[i]!;
        const id = ids[slot]!;
        const key = idKeys[slot]!;
        const kind = kinds[slot];
        let duplicate = false;
        for (let j = 0; j < kept; j++) {
          if (keys[j] !== key) continue;
          const prior = spans[j]!;
          if (ids[prior] === id && kinds[prior] === kind) {
            duplicate = true;
            break;
          }
        }
        if (duplicate) {
          this.stats.duplicateSpans++;
        } else {
          keys[kept] = key;
          spans[kept++] = slot;
        }
      }
      return kept;
    }
    // id → the kinds seen with it, one bit per kind.
    const seen = new Map<string, number>([[ids[spans[0]!]!, 1 << kinds[spans[0]!]!]]);
    for (let i = 1; i < count; i++) {
      const slot = spans[i]!;
      const id = ids[slot]!;
      const kind = 1 << kinds[slot]!;
      const prior = seen.get(id) ?? 0;
      if ((prior & kind) !== 0) {
        this.stats.duplicateSpans++;
        continue;
      }
      seen.set(id, prior | kind);
      keys[kept] = idKeys[slot]!;
      spans[kept++] = slot;
    }
    return kept;
  }
}

/** Traces up to this size find parents by scanning (64² comparisons at most) and walk up them per span: cheaper than building maps. */
const SMALL_TRACE = 64;

/** The spans at positions 0 … n−1 as objects. */
function views(store: SpanStore, spans: Int32Array, n: number): TraceSpan[] {
  const out = new Array<TraceSpan>(n);
  for (let i = 0; i < n; i++) out[i] = store.view(spans[i]!);
  return out;
}

/**
 * Each span's parent as a position (−1: a root or an orphan), as SpanIndex.parentOf answers
 * it: a non-client span sharing its id with a client span (Zipkin's shared span) hangs under
 * that client half; otherwise the parent is the first non-client span with the parent id, else
 * the first client span with it. Quadratic: for small traces only. `keys` holds each span's
 * idKey (from `dedupe`); `clientAt` is scratch for the client halves' positions.
 */
function parentIndices(store: SpanStore, spans: Int32Array, n: number, parents: Int32Array, keys: Int32Array, clientAt: Int32Array): void {
  const ids = store.ids;
  const parentIds = store.parents;
  // The client halves, in order: a trace has one or two, so a span's own id is compared with theirs only.
  let clients = 0;
  for (let i = 0; i < n; i++) if (isClientHalf(store, spans[i]!)) clientAt[clients++] = i;
  // The last parent id looked up, its key and its position: siblings come together and carry
  // their parent's id (the same string, from the reader), so most spans repeat the last lookup.
  let lastParent: string | undefined;
  let lastKey = 0;
  let lastFound = -1;
  for (let i = 0, c = 0; i < n; i++) {
    const slot = spans[i]!;
    const id = ids[slot]!;
    const key = keys[i]!;
    parents[i] = -1;
    if (c < clients && clientAt[c] === i) {
      c++;
    } else if (clients > 0) {
      const half = clientHalf(ids, spans, keys, clientAt, clients, id, key);
      if (half >= 0) {
        parents[i] = half;
        continue;
      }
    }
    const parent = parentIds[slot];
    if (parent === undefined) continue;
    if (parent !== lastParent) {
      lastParent = parent;
      lastKey = store.parentKeys[slot]!;
      lastFound = firstWithId(store, spans, n, keys, parent, lastKey);
    }
    // A span naming itself as its parent has none.
    if (lastKey === key && parent === id) continue;
    parents[i] = lastFound;
  }
}

/** A client half: a span of kind CLIENT, or the convention's client span written without a kind. */
function isClientHalf(store: SpanStore, slot: number): boolean {
  return store.kinds[slot] === CLIENT_KIND || (store.bits[slot]! & SPAN_BIT.CLIENT) !== 0;
}

/** The position of the first client half (of the `clients` at `clientAt`) whose id is `id` (with idKey `key`); −1 none. */
function clientHalf(ids: readonly string[], spans: Int32Array, keys: Int32Array, clientAt: Int32Array, clients: number, id: string, key: number): number {
  for (let k = 0; k < clients; k++) {
    const at = clientAt[k]!;
    if (keys[at] === key && ids[spans[at]!] === id) return at;
  }
  return -1;
}

/** The position of the first non-client span whose id is `id` (with idKey `key`), else of the first client span with it; −1 none. */
function firstWithId(store: SpanStore, spans: Int32Array, n: number, keys: Int32Array, id: string, key: number): number {
  const ids = store.ids;
  let found = -1;
  for (let j = 0; j < n; j++) {
    if (keys[j] !== key) continue;
    const other = spans[j]!;
    if (ids[other] !== id) continue;
    if (!isClientHalf(store, other)) return j;
    if (found < 0) found = j;
  }
  return found;
}

/** Nearest request-span ancestor of position `i` (not itself), walking at most `n` steps (so a parent cycle ends); −1: none. */
function nearestRequest(bits: Uint8Array, spans: Int32Array, n: number, parents: Int32Array, i: number): number {
  let cursor = parents[i]!;
  for (let steps = 0; cursor >= 0 && steps < n; steps++) {
    if ((bits[spans[cursor]!]! & SPAN_BIT.REQUEST) !== 0) return cursor;
    cursor = parents[cursor]!;
  }
  return -1;
}

/** Nearest client-span ancestor of position `i`, not crossing another request span; −1: none. */
function nearestClient(bits: Uint8Array, spans: Int32Array, n: number, parents: Int32Array, i: number): number {
  let cursor = parents[i]!;
  for (let steps = 0; cursor >= 0 && steps < n; steps++) {
    const b = bits[spans[cursor]!]!;
    if ((b & SPAN_BIT.CLIENT) !== 0) return cursor;
    if ((b & SPAN_BIT.REQUEST) !== 0) return -1;
    cursor = parents[cursor]!;
  }
  return -1;
}

/**
 * A client span above several request spans is one call the client retried (an SDK retrying a
 * 429 or 503, a gateway failing over): its duration and first token are what the last attempt
 * answered, so it stays with the request that started last (the later of equals in trace order),
 * and each earlier attempt is timed by its own server span. Shared, it counted the one call's
 * time, first token and retry wait once per attempt (docs/conventions.md, "Client span").
 */
function keepClientForLastAttempt(clients: Int32Array, requestAt: Int32Array, spans: Int32Array, starts: Float64Array, requestCount: number): void {
  // Usually one request per trace, or a client each: a map only when two requests share one.
  let last: Map<number, number> | undefined;
  for (let k = 0; k < requestCount; k++) {
    const client = clients[k]!;
    if (client < 0) continue;
    last ??= new Map();
    const prior = last.get(client);
    if (prior === undefined) {
      last.set(client, k);
      continue;
    }
    const later = starts[spans[requestAt[k]!]!]! >= starts[spans[requestAt[prior]!]!]!;
    clients[later ? prior : k] = -1;
    if (later) last.set(client, k);
  }
}

/** Per-trace work arrays of `finalize`, reused from trace to trace and grown when a trace needs more. */
class FinalizeScratch {
  spans = new Int32Array(64);
  parents = new Int32Array(64);
  owners = new Int32Array(64);
  requestAt = new Int32Array(64);
  requestNumber = new Int32Array(64);
  /** Start of each request's phase spans in `grouped` (one more entry than requests). */
  from = new Int32Array(65);
  next = new Int32Array(65);
  /** Slots of phase spans, grouped by request. */
  grouped = new Int32Array(64);
  /** Slot of each request's client span (by request number); −1: none. */
  clients = new Int32Array(64);
  /** Positions of the trace's client halves (parentIndices). */
  clientAt = new Int32Array(64);
  /** idKey of each kept span's id, by position (dedupe): copied from SpanStore.idKeys so the quadratic walks read it without going through the slot (reading it through the slot measured 10–20 ms slower at 200 MB). */
  keys = new Int32Array(64);

  /** Room for a trace of `n` spans. */
  reserve(n: number): this {
    if (n > this.parents.length) {
      const size = Math.max(n, this.parents.length * 2);
      this.spans = new Int32Array(size);
      this.parents = new Int32Array(size);
      this.owners = new Int32Array(size);
      this.requestAt = new Int32Array(size);
      this.requestNumber = new Int32Array(size);
      this.from = new Int32Array(size + 1);
      this.next = new Int32Array(size + 1);
      this.grouped = new Int32Array(size);
      this.clients = new Int32Array(size);
      this.clientAt = new Int32Array(size);
      this.keys = new Int32Array(size);
    }
    return this;
  }
}

/**
 * Big traces: both answers for every span in one pass down from the roots, so a chain of 100 000
 * nested spans costs 100 000 steps, not 100 000² / 2 (each span's answer is its parent's, unless
 * the parent itself is the answer). Spans on a parent cycle, reached from no root, have neither.
 * Works on span objects (SpanIndex, shared with the generic report); answers are positions.
 */
class Ancestry {
  /** The trace's spans as objects, by position. */
  readonly spans: TraceSpan[];
  private readonly index: SpanIndex;
  private readonly nearestRequest = new Map<TraceSpan, TraceSpan | undefined>();
  private readonly nearestClient = new Map<TraceSpan, TraceSpan | undefined>();
  private readonly position = new Map<TraceSpan, number>();

  constructor(store: SpanStore, slots: Int32Array, n: number) {
    this.spans = views(store, slots, n);
    this.spans.forEach((span, i) => this.position.set(span, i));
    this.index = new SpanIndex(this.spans);
    const { roots, children } = this.index.tree();
    const queue = [...roots];
    for (let head = 0; head < queue.length; head++) {
      const parent = queue[head]!;
      const request = parent.request ? parent : this.nearestRequest.get(parent);
      const client = parent.client ? parent : parent.request ? undefined : this.nearestClient.get(parent);
      for (const child of children.get(parent) ?? []) {
        if (this.nearestRequest.has(child)) continue;
        this.nearestRequest.set(child, request);
        this.nearestClient.set(child, client);
        queue.push(child);
      }
    }
  }

  /** True for the span at position `i` with no parent in the trace (a root or an orphan). */
  isRoot(i: number): boolean {
    return this.index.parentOf(this.spans[i]!) === undefined;
  }

  /** Position of the nearest request-span ancestor (not the span itself); −1 none. */
  request(i: number): number {
    return this.positionOf(this.nearestRequest.get(this.spans[i]!));
  }

  /** Position of the nearest client-span ancestor, not crossing another request span; −1 none. */
  client(i: number): number {
    return this.positionOf(this.nearestClient.get(this.spans[i]!));
  }

  private positionOf(span: TraceSpan | undefined): number {
    return span === undefined ? -1 : this.position.get(span)!;
  }
}

/** Assembles every request from a stream of span batches. */
export async function assembleRequests(batches: AsyncIterable<readonly SpanRecord[]> | Iterable<readonly SpanRecord[]>, options: AssembleOptions = {}): Promise<AssemblyResult> {
  const assembler = new RequestAssembler(options);
  for await (const batch of batches) assembler.add(batch);
  return assembler.finish();
}
