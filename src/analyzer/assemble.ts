/**
 * @module analyzer/assemble
 * Spans → requests: decodes streamed span batches (records or columns) into compact spans,
 * holds them by trace in the trace window (_trace-window.ts: buffering, idle finalization, late
 * spans), and when a trace leaves the window de-duplicates it, attributes phase spans to their
 * request and times each request (_request-timing.ts), following the span convention
 * (docs/conventions.md). Traces with no request span go to the generic report.
 */
import type { SpanRecord } from '../model/span.js';
import type { RequestTiming } from '../model/request.js';
import type { AssemblyStats } from '../model/analysis.js';
import { ATTR, PHASES, ROLE_CLIENT } from '../semconv.js';
import type { TraceSpan } from './_trace-span.js';
import { NanosFrom, SpanIndex } from './_trace-span.js';
import { TraceWindow } from './_trace-window.js';
import type { OpenTrace } from './_trace-window.js';
import { RequestTimer } from './_request-timing.js';
import { GenericAccumulator } from './generic.js';
import { FLAG, SPAN_KINDS, carriesBatchSize, numeric, parentOfRow, phaseByName } from './_span-columns.js';
import type { SpanColumns } from './_span-columns.js';
import { SCANNED, SCANNED_KINDS } from '../formats/_scanned-spans.js';
import type { ScannedSpans } from '../formats/_scanned-spans.js';

export type { AssemblyStats } from '../model/analysis.js';

/** Options of the request assembler. */
export interface AssembleOptions {
  /** Finalize a trace once this many spans were read without touching it. Default 100 000. */
  readonly idleSpans?: number;
  /**
   * A trace whose root span has arrived and whose spans all find their parent is finalized once
   * this many spans were read without touching it (instead of `idleSpans`): exporters write a
   * span when it ends, so the root usually comes last. Default min(idleSpans, 2 000).
   */
  readonly completeIdleSpans?: number;
  /** How many finalized trace ids to remember for late-span detection. Default 100 000. */
  readonly rememberFinalized?: number;
}

/** The assembler's output. */
export interface AssemblyResult {
  /** Requests in the order their traces were finalized. */
  readonly requests: RequestTiming[];
  readonly stats: Readonly<AssemblyStats>;
  /** Self time and critical path of the traces that hold no request span. */
  readonly generic: GenericAccumulator;
}

/** Incremental assembler: feed span batches with `add`, then call `finish` once. */
export class RequestAssembler {
  private origin: bigint | undefined;
  /** Relative times from `origin`, set with it. */
  private relative: NanosFrom | undefined;
  private readonly requests: RequestTiming[] = [];
  private readonly generic = new GenericAccumulator();
  private readonly timer = new RequestTimer();
  private readonly scratch = new FinalizeScratch();
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
  };

  constructor(options: AssembleOptions = {}) {
    this.window = new TraceWindow(options, this.stats, (traceId, trace) => this.finalize(traceId, trace));
  }

  /** Adds one batch of spans (any order, any traces). */
  add(batch: readonly SpanRecord[]): void {
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
      const client = record.kind === 'client' && attributes[ATTR.ROLE] === ROLE_CLIENT;
      const request = !client && phase === undefined && attributes[ATTR.MODEL_NAME] !== undefined;
      this.window.place(record.traceId, {
        id: record.spanId,
        parent: record.parentSpanId,
        name: record.name,
        service: record.service,
        kind: record.kind,
        start: relative.of(record.startNs),
        end: relative.of(record.endNs),
        phase,
        request,
        client,
        shared: record.shared === true,
        error: record.error,
        attributes: request || client ? attributes : undefined,
        batchSize: carriesBatchSize(phase) ? numeric(attributes[ATTR.BATCH_SIZE]) : undefined,
        firstToken: (request || client) && record.firstTokenNs !== undefined ? relative.of(record.firstTokenNs) : undefined,
      });
    }
  }

  /**
   * Adds row `i` of a scanned batch (formats/_scanned-spans.ts: a span in our convention read
   * straight from the bytes), as `add` adds its SpanRecord. Times relative to the origin come
   * from the two exact halves without BigInt while the difference stays under 2⁵³ ns.
   */
  addScanned(s: ScannedSpans, i: number): void {
    const relative = (this.relative ??= new NanosFrom((this.origin ??= s.startNs(i))));
    const flags = s.flags[i]!;
    const phaseCode = s.phases[i]!;
    const phase = phaseCode < 0 ? undefined : PHASES[phaseCode];
    const request = (flags & SCANNED.REQUEST) !== 0;
    const client = (flags & SCANNED.CLIENT) !== 0;
    this.window.place(s.traceIds[i]!, {
      id: s.ids[i]!,
      parent: s.parents[i],
      name: s.names[i]!,
      service: s.services[i]!,
      kind: SCANNED_KINDS[s.kinds[i]!]!,
      start: relative.ofHalves(s.startHi[i]!, s.startLo[i]!),
      end: relative.ofHalves(s.endHi[i]!, s.endLo[i]!),
      phase,
      request,
      client,
      shared: false,
      error: (flags & SCANNED.ERROR) !== 0,
      attributes: request || client ? s.attributes[i]! : undefined,
      batchSize: carriesBatchSize(phase) ? numeric(s.batchValues[i]) : undefined,
      firstToken: undefined,
    });
  }

  /** Adds one batch in columns (from a reader thread). */
  addColumns(c: SpanColumns): void {
    const batchOrigin = BigInt(c.originNs);
    const origin = (this.origin ??= batchOrigin);
    // Exact: both origins are real span starts, far less than 2^53 ns (104 days) apart.
    const offset = Number(batchOrigin - origin);
    const strings = c.strings;
    for (let i = 0; i < c.length; i++) {
      const flags = c.flags[i]!;
      if ((flags & FLAG.INVALID) !== 0) {
        this.stats.spans++;
        this.stats.invalidSpans++;
        continue;
      }
      const phase = c.phases[i]!;
      const batchSize = c.batchSizes[i]!;
      const firstToken = c.firstTokens[i]!;
      this.window.place(strings[c.traceIds[i]!]!, {
        id: c.ids[i]!,
        parent: parentOfRow(c, i),
        name: strings[c.names[i]!]!,
        service: strings[c.services[i]!]!,
        kind: SPAN_KINDS[c.kinds[i]!]!,
        start: c.starts[i]! + offset,
        end: c.ends[i]! + offset,
        phase: phase < 0 ? undefined : PHASES[phase],
        request: (flags & FLAG.REQUEST) !== 0,
        client: (flags & FLAG.CLIENT) !== 0,
        shared: (flags & FLAG.SHARED) !== 0,
        error: (flags & FLAG.ERROR) !== 0,
        attributes: c.attributes[i] ?? undefined,
        batchSize: Number.isNaN(batchSize) ? undefined : batchSize,
        firstToken: Number.isNaN(firstToken) ? undefined : firstToken + offset,
      });
    }
  }

  /** Traces currently held in memory. */
  get openTraces(): number {
    return this.window.openTraces;
  }

  /** Finalizes every open trace and returns the result. */
  finish(): AssemblyResult {
    this.window.flush();
    return { requests: this.requests, stats: this.stats, generic: this.generic };
  }

  /** A trace left the window: dedupe, attribute phase spans to requests, time each request. */
  private finalize(traceId: string, trace: OpenTrace): void {
    const stats = this.stats;
    stats.traces++;
    const spans = this.dedupe(trace);
    const n = spans.length;
    const scratch = this.scratch.reserve(n);
    const parents = scratch.parents;
    const requestAt = scratch.requestAt;
    // Small traces: parents as indices, found once, so the walks below compare no ids. Big
    // ones: maps, and every answer in one pass down from the roots (Ancestry).
    const big = n > SMALL_TRACE ? new Ancestry(new SpanIndex(spans)) : undefined;
    if (big === undefined) parentIndices(spans, parents);
    let pieces = 0;
    let requestCount = 0;
    for (let i = 0; i < n; i++) {
      const span = spans[i]!;
      if (big === undefined ? parents[i]! < 0 : big.isRoot(span)) {
        pieces++;
        if (span.parent !== undefined && span.parent !== span.id) stats.orphanSpans++;
      }
      if (span.request) requestAt[requestCount++] = i;
    }
    if (pieces > 1) {
      stats.fragmentedTraces++;
      stats.fragmentPieces += pieces;
    }
    if (requestCount === 0) {
      for (const span of spans) if (span.phase !== undefined) stats.unattachedPhaseSpans++;
      this.generic.addTrace(spans);
      return;
    }
    stats.requestTraces++;
    // owners[i]: the request (0 … requestCount−1) phase span i belongs to; −1: none.
    const owners = scratch.owners;
    const requestNumber = scratch.requestNumber;
    for (let k = 0; k < requestCount; k++) requestNumber[requestAt[k]!] = k;
    const numberOf = big === undefined ? undefined : new Map<TraceSpan, number>();
    if (numberOf !== undefined) for (let k = 0; k < requestCount; k++) numberOf.set(spans[requestAt[k]!]!, k);
    const from = scratch.from;
    from.fill(0, 0, requestCount + 1);
    for (let i = 0; i < n; i++) {
      owners[i] = -1;
      const span = spans[i]!;
      if (span.phase === undefined) continue;
      let owner: number | undefined;
      if (numberOf === undefined) {
        const at = nearestRequest(spans, parents, i);
        owner = at < 0 ? undefined : requestNumber[at];
      } else {
        const request = big!.request(span);
        owner = request === undefined ? undefined : numberOf.get(request);
      }
      if (owner === undefined) {
        stats.unattachedPhaseSpans++;
        continue;
      }
      owners[i] = owner;
      from[owner + 1]!++;
    }
    // Phase spans grouped by request, in trace order within each (a counting sort): no array per request.
    for (let k = 0; k < requestCount; k++) from[k + 1]! += from[k]!;
    const grouped = scratch.grouped;
    const next = scratch.next;
    for (let k = 0; k < requestCount; k++) next[k] = from[k]!;
    for (let i = 0; i < n; i++) if (owners[i]! >= 0) grouped[next[owners[i]!]!++] = spans[i]!;
    for (let k = 0; k < requestCount; k++) {
      const at = requestAt[k]!;
      const request = spans[at]!;
      let client: TraceSpan | undefined;
      if (big === undefined) {
        const c = nearestClient(spans, parents, at);
        client = c < 0 ? undefined : spans[c];
      } else {
        client = big.client(request);
      }
      const timing = this.timer.time(traceId, this.origin!, request, client, grouped, from[k]!, from[k + 1]!);
      if (timing.clockSkew) stats.clockSkewRequests++;
      this.requests.push(timing);
    }
    // Hold no spans of a finished trace.
    grouped.fill(undefined, 0, from[requestCount]!);
  }

  /** Drops later copies of a span with the same id and kind (Zipkin's client/server halves differ in kind). */
  private dedupe(spans: TraceSpan[]): TraceSpan[] {
    if (spans.length < 2) return spans;
    if (spans.length <= 48) {
      let out: TraceSpan[] | undefined;
      for (let i = 1; i < spans.length; i++) {
        const span = spans[i]!;
        let duplicate = false;
        for (let j = 0; j < i; j++) {
          const prior = spans[j]!;
          if (prior.id === span.id && prior.kind === span.kind) {
            duplicate = true;
            break;
          }
        }
        if (duplicate) {
          this.stats.duplicateSpans++;
          out ??= spans.slice(0, i);
        } else if (out !== undefined) {
          out.push(span);
        }
      }
      return out ?? spans;
    }
    const seen = new Map<string, TraceSpan | TraceSpan[]>();
    const out: TraceSpan[] = [];
    for (const span of spans) {
      const prior = seen.get(span.id);
      if (prior === undefined) {
        seen.set(span.id, span);
        out.push(span);
        continue;
      }
      const list = Array.isArray(prior) ? prior : [prior];
      if (list.some((p) => p.kind === span.kind)) {
        this.stats.duplicateSpans++;
        continue;
      }
      list.push(span);
      seen.set(span.id, list);
      out.push(span);
    }
    return out;
  }

}

/** Traces up to this size find parents by scanning (64² comparisons at most) and walk up them per span: cheaper than building maps. */
const SMALL_TRACE = 64;

/**
 * Each span's parent as an index into `spans` (−1: a root or an orphan), as SpanIndex.parentOf
 * answers it: a non-client span sharing its id with a client span (Zipkin's shared span) hangs
 * under that client half; otherwise the parent is the first non-client span with the parent id,
 * else the first client span with it. Quadratic: for small traces only.
 */
function parentIndices(spans: readonly TraceSpan[], parents: Int32Array): void {
  const n = spans.length;
  let clients = 0;
  for (let i = 0; i < n; i++) if (spans[i]!.kind === 'client') clients++;
  for (let i = 0; i < n; i++) {
    const span = spans[i]!;
    parents[i] = -1;
    if (clients > 0 && span.kind !== 'client') {
      const id = span.id;
      let half = -1;
      for (let j = 0; j < n; j++) {
        const other = spans[j]!;
        if (other.kind === 'client' && other.id === id) {
          half = j;
          break;
        }
      }
      if (half >= 0) {
        parents[i] = half;
        continue;
      }
    }
    const parent = span.parent;
    if (parent === undefined || parent === span.id) continue;
    let found = -1;
    for (let j = 0; j < n; j++) {
      const other = spans[j]!;
      if (other.id !== parent) continue;
      if (other.kind !== 'client') {
        found = j;
        break;
      }
      if (found < 0) found = j;
    }
    parents[i] = found;
  }
}

/** Nearest request-span ancestor of span `i` (not itself), walking at most `spans.length` steps (so a parent cycle ends); −1: none. */
function nearestRequest(spans: readonly TraceSpan[], parents: Int32Array, i: number): number {
  const limit = spans.length;
  let cursor = parents[i]!;
  for (let steps = 0; cursor >= 0 && steps < limit; steps++) {
    if (spans[cursor]!.request) return cursor;
    cursor = parents[cursor]!;
  }
  return -1;
}

/** Nearest client-span ancestor of span `i`, not crossing another request span; −1: none. */
function nearestClient(spans: readonly TraceSpan[], parents: Int32Array, i: number): number {
  const limit = spans.length;
  let cursor = parents[i]!;
  for (let steps = 0; cursor >= 0 && steps < limit; steps++) {
    const span = spans[cursor]!;
    if (span.client) return cursor;
    if (span.request) return -1;
    cursor = parents[cursor]!;
  }
  return -1;
}

/** Per-trace work arrays of `finalize`, reused from trace to trace and grown when a trace needs more. */
class FinalizeScratch {
  parents = new Int32Array(64);
  owners = new Int32Array(64);
  requestAt = new Int32Array(64);
  requestNumber = new Int32Array(64);
  /** Start of each request's phase spans in `grouped` (one more entry than requests). */
  from = new Int32Array(65);
  next = new Int32Array(65);
  readonly grouped: (TraceSpan | undefined)[] = [];

  /** Room for a trace of `n` spans. */
  reserve(n: number): this {
    if (n > this.parents.length) {
      const size = Math.max(n, this.parents.length * 2);
      this.parents = new Int32Array(size);
      this.owners = new Int32Array(size);
      this.requestAt = new Int32Array(size);
      this.requestNumber = new Int32Array(size);
      this.from = new Int32Array(size + 1);
      this.next = new Int32Array(size + 1);
    }
    return this;
  }
}

/**
 * Big traces: both answers for every span in one pass down from the roots, so a chain of 100 000
 * nested spans costs 100 000 steps, not 100 000² / 2 (each span's answer is its parent's, unless
 * the parent itself is the answer). Spans on a parent cycle, reached from no root, have neither.
 */
class Ancestry {
  private readonly nearestRequest = new Map<TraceSpan, TraceSpan | undefined>();
  private readonly nearestClient = new Map<TraceSpan, TraceSpan | undefined>();

  constructor(private readonly index: SpanIndex) {
    const { roots, children } = index.tree();
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

  /** True for a span with no parent in the trace (a root or an orphan). */
  isRoot(span: TraceSpan): boolean {
    return this.index.parentOf(span) === undefined;
  }

  /** Nearest request-span ancestor (not the span itself). */
  request(span: TraceSpan): TraceSpan | undefined {
    return this.nearestRequest.get(span);
  }

  /** Nearest client-span ancestor, not crossing another request span. */
  client(span: TraceSpan): TraceSpan | undefined {
    return this.nearestClient.get(span);
  }
}

/** Assembles every request from a stream of span batches. */
export async function assembleRequests(batches: AsyncIterable<readonly SpanRecord[]> | Iterable<readonly SpanRecord[]>, options: AssembleOptions = {}): Promise<AssemblyResult> {
  const assembler = new RequestAssembler(options);
  for await (const batch of batches) assembler.add(batch);
  return assembler.finish();
}
