/**
 * @module analyzer/assemble
 * Spans → requests: groups streamed spans by trace and rebuilds each request's phase timings
 * following the span convention (docs/conventions.md).
 *
 * Memory stays flat for streamed input: only traces still open are held, as compact records;
 * a trace is finalized once `idleSpans` spans have been read without touching it, and at the end
 * of input. A span that arrives for a trace already finalized is counted (`lateSpans`) and
 * reported as a warning, never silently merged into a wrong request.
 */
import type { AttributeValue, SpanRecord } from '../model/span.js';
import type { RequestTiming } from '../model/request.js';
import type { AssemblyStats } from '../model/analysis.js';
import { clampTtft, tokenCount } from '../model/generation.js';
import { ATTR, PHASES, ROLE_CLIENT, SOURCE_ATTR } from '../semconv.js';
import type { Phase } from '../semconv.js';
import type { TraceSpan } from './_trace-span.js';
import { SpanIndex, sortedUnionLength } from './_trace-span.js';
import { GenericAccumulator } from './generic.js';
import { FLAG, SPAN_KINDS, carriesBatchSize, numeric, phaseByName } from './_span-columns.js';
import type { SpanColumns } from './_span-columns.js';

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

const DEFAULT_IDLE_SPANS = 100_000;

const PHASE_INDEX = Object.fromEntries(PHASES.map((p, i) => [p, i])) as Record<Phase, number>;
const NETWORK = PHASE_INDEX.network;
const DEFAULT_REMEMBER = 100_000;
const DEFAULT_COMPLETE_IDLE_SPANS = 2_000;
/** Completeness is checked by linear scans, so only for traces up to this size. */
const COMPLETE_CHECK_MAX_SPANS = 64;

type OpenTrace = TraceSpan[];

/** Incremental assembler: feed span batches with `add`, then call `finish` once. */
export class RequestAssembler {
  private readonly idleSpans: number;
  private readonly remember: number;
  /**
   * Open traces in two generations: every idleSpans/2 spans the older generation is finalized
   * and the current one becomes older. A trace touched while in the older generation moves to
   * the current one, so a trace is finalized after idleSpans/2 to idleSpans untouched spans.
   * (One map lookup per span, unlike an LRU that re-inserts on every touch.)
   */
  private current = new Map<string, OpenTrace>();
  private older = new Map<string, OpenTrace>();
  private generationStart = 0;
  /**
   * Complete-looking traces (root arrived, every parent present) wait in their own two
   * generations with the shorter `completeIdleSpans` window: holding fewer spans keeps garbage
   * collection cheap (the open window is what the collector has to trace and copy).
   */
  private completeCurrent = new Map<string, OpenTrace>();
  private completeOlder = new Map<string, OpenTrace>();
  private completeGenerationStart = 0;
  private readonly completeIdleSpans: number;
  /**
   * Recently finalized trace ids (the strings the open maps already held, so no new allocation),
   * oldest first (a Set iterates in insertion order), bounded by `remember`: 100k traces reach
   * far past the idle window.
   */
  private readonly finalized = new Set<string>();
  private origin: bigint | undefined;
  private readonly requests: RequestTiming[] = [];
  private readonly strings = new Map<string, string>();
  private readonly generic = new GenericAccumulator();
  private readonly scratch = new IntervalScratch();
  private readonly stats: AssemblyStats = {
    spans: 0,
    duplicateSpans: 0,
    lateSpans: 0,
    invalidSpans: 0,
    orphanSpans: 0,
    unattachedPhaseSpans: 0,
    traces: 0,
    requestTraces: 0,
    clockSkewRequests: 0,
  };

  constructor(options: AssembleOptions = {}) {
    this.idleSpans = options.idleSpans ?? DEFAULT_IDLE_SPANS;
    this.remember = options.rememberFinalized ?? DEFAULT_REMEMBER;
    this.completeIdleSpans = Math.min(this.idleSpans, options.completeIdleSpans ?? DEFAULT_COMPLETE_IDLE_SPANS);
  }

  /** Adds one batch of spans (any order, any traces). */
  add(batch: readonly SpanRecord[]): void {
    for (const record of batch) {
      if (record.endNs < record.startNs) {
        this.stats.spans++;
        this.stats.invalidSpans++;
        continue;
      }
      const origin = (this.origin ??= record.startNs);
      // classify() inlined: this loop runs once per span, and its result object would be garbage.
      const attributes = record.attributes;
      const phaseValue = attributes[ATTR.PHASE];
      const phase = phaseValue === undefined ? undefined : phaseByName(phaseValue);
      const client = record.kind === 'client' && attributes[ATTR.ROLE] === ROLE_CLIENT;
      const request = !client && phase === undefined && attributes[ATTR.MODEL_NAME] !== undefined;
      this.place(record.traceId, {
        id: record.spanId,
        parent: record.parentSpanId,
        name: record.name,
        service: record.service,
        kind: record.kind,
        start: Number(record.startNs - origin),
        end: Number(record.endNs - origin),
        phase,
        request,
        client,
        shared: record.shared === true,
        error: record.error,
        attributes: request || client ? attributes : undefined,
        batchSize: carriesBatchSize(phase) ? numeric(attributes[ATTR.BATCH_SIZE]) : undefined,
        firstToken: (request || client) && record.firstTokenNs !== undefined ? Number(record.firstTokenNs - origin) : undefined,
      });
    }
  }

  /** Adds one batch in columns (from a reader thread). */
  addColumns(c: SpanColumns): void {
    const batchOrigin = BigInt(c.originNs);
    const origin = (this.origin ??= batchOrigin);
    // Exact: both origins are real span starts, far less than 2^53 ns (104 days) apart.
    const offset = Number(batchOrigin - origin);
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
      this.place(c.traceIds[i]!, {
        id: c.ids[i]!,
        parent: c.parents[i] || undefined,
        name: c.names[i]!,
        service: c.services[i]!,
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

  private place(traceId: string, span: TraceSpan): void {
    const stats = this.stats;
    stats.spans++;
    let trace = this.current.get(traceId);
    if (trace === undefined) {
      trace = this.older.get(traceId);
      if (trace !== undefined) {
        this.older.delete(traceId);
      } else {
        trace = this.completeCurrent.get(traceId) ?? this.completeOlder.get(traceId);
        if (trace !== undefined) {
          // More spans after all: back to the normal window.
          this.completeCurrent.delete(traceId);
          this.completeOlder.delete(traceId);
        } else if (this.finalized.size > 0 && this.finalized.has(traceId)) {
          stats.lateSpans++;
          return;
        } else {
          trace = [];
        }
      }
      this.current.set(traceId, trace);
    }
    trace.push(span);
    // Once the root is in, every new span may be the last missing one.
    if ((span.parent === undefined || hasRoot(trace)) && trace.length <= COMPLETE_CHECK_MAX_SPANS && isComplete(trace)) {
      this.current.delete(traceId);
      this.completeCurrent.set(traceId, trace);
    }
    if (stats.spans - this.generationStart >= this.idleSpans / 2) this.nextGeneration();
    if (stats.spans - this.completeGenerationStart >= this.completeIdleSpans / 2) this.nextCompleteGeneration();
  }

  private nextCompleteGeneration(): void {
    this.completeGenerationStart = this.stats.spans;
    const idle = this.completeOlder;
    this.completeOlder = this.completeCurrent;
    this.completeCurrent = new Map();
    for (const [traceId, trace] of idle) this.finalize(traceId, trace);
  }

  /** Traces currently held in memory. */
  get openTraces(): number {
    return this.current.size + this.older.size + this.completeCurrent.size + this.completeOlder.size;
  }

  /** Finalizes every open trace and returns the result. */
  finish(): AssemblyResult {
    for (const [traceId, trace] of this.older) this.finalize(traceId, trace);
    for (const [traceId, trace] of this.current) this.finalize(traceId, trace);
    for (const [traceId, trace] of this.completeOlder) this.finalize(traceId, trace);
    for (const [traceId, trace] of this.completeCurrent) this.finalize(traceId, trace);
    this.completeOlder = new Map();
    this.completeCurrent = new Map();
    this.older = new Map();
    this.current = new Map();
    return { requests: this.requests, stats: this.stats, generic: this.generic };
  }

  private nextGeneration(): void {
    this.generationStart = this.stats.spans;
    const idle = this.older;
    this.older = this.current;
    this.current = new Map();
    for (const [traceId, trace] of idle) this.finalize(traceId, trace);
  }

  /**
   * One copy of each low-cardinality value (service, model, runtime, …): JSON.parse makes a new
   * string per occurrence, and every finished row would otherwise keep its own copies.
   */
  private intern(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    if (this.strings.size < 10_000) this.strings.set(value, value);
    return value;
  }

  private setText(timing: Mutable<RequestTiming>, key: 'modelVersion' | 'runtime' | 'runtimeProvider' | 'precision' | 'device' | 'source', value: AttributeValue | undefined): void {
    if (value !== undefined && value !== '') timing[key] = this.intern(String(value));
  }

  private rememberFinalized(traceId: string): void {
    if (this.remember <= 0) return;
    this.finalized.add(traceId);
    if (this.finalized.size > this.remember) this.finalized.delete(this.finalized.values().next().value!);
  }

  private finalize(traceId: string, trace: OpenTrace): void {
    this.rememberFinalized(traceId);
    this.stats.traces++;
    const spans = this.dedupe(trace);
    const index = new SpanIndex(spans);
    const requestSpans: TraceSpan[] = [];
    for (const span of spans) {
      if (span.parent !== undefined && index.isOrphan(span)) this.stats.orphanSpans++;
      if (span.request) requestSpans.push(span);
    }
    if (requestSpans.length === 0) {
      for (const span of spans) if (span.phase !== undefined) this.stats.unattachedPhaseSpans++;
      this.generic.addTrace(spans);
      return;
    }
    this.stats.requestTraces++;
    const phasesOf: TraceSpan[][] = requestSpans.map(() => []);
    const limit = spans.length;
    for (const span of spans) {
      if (span.phase === undefined) continue;
      let owner = -1;
      let cursor = index.parentOf(span);
      for (let steps = 0; cursor !== undefined && steps < limit; steps++) {
        if (cursor.request) {
          owner = requestSpans.indexOf(cursor);
          break;
        }
        cursor = index.parentOf(cursor);
      }
      if (owner < 0) this.stats.unattachedPhaseSpans++;
      else phasesOf[owner]!.push(span);
    }
    for (let i = 0; i < requestSpans.length; i++) {
      const request = requestSpans[i]!;
      const client = this.clientOf(request, index, limit);
      const timing = this.time(traceId, request, client, phasesOf[i]!);
      if (timing.clockSkew) this.stats.clockSkewRequests++;
      this.requests.push(timing);
    }
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

  /** Nearest client-span ancestor, not crossing another request span. */
  private clientOf(request: TraceSpan, index: SpanIndex, limit: number): TraceSpan | undefined {
    let cursor = index.parentOf(request);
    for (let steps = 0; cursor !== undefined && steps < limit; steps++) {
      if (cursor.client) return cursor;
      if (cursor.request) return undefined;
      cursor = index.parentOf(cursor);
    }
    return undefined;
  }

  private time(traceId: string, request: TraceSpan, client: TraceSpan | undefined, phaseSpans: readonly TraceSpan[]): RequestTiming {
    const e2eStart = client ? client.start : request.start;
    const e2eEnd = client ? client.end : request.end;
    let shift = 0;
    let clockSkew = false;
    if (client && (request.start < client.start || request.end > client.end)) {
      // Clocks disagree: centre the server inside the client, assuming equal network time each
      // way (Zipkin's skew correction makes the same assumption).
      clockSkew = true;
      shift = (client.start + client.end - request.start - request.end) / 2;
    }
    // Clipped phase intervals go into reused scratch arrays (see IntervalScratch), not tuples.
    const scratch = this.scratch;
    scratch.reset(phaseSpans.length + 2);
    // Bit p set = a span of PHASES[p] exists (even one clipped to nothing).
    let present = 0;
    let batchSize: number | undefined;
    let prefillEnd: number | undefined;
    for (const span of phaseSpans) {
      const start = Math.max(span.start + shift, e2eStart);
      const end = Math.min(span.end + shift, e2eEnd);
      if (span.batchSize !== undefined) batchSize = Math.max(batchSize ?? 0, span.batchSize);
      if (span.phase === 'prefill') prefillEnd = Math.max(prefillEnd ?? -Infinity, span.end + shift);
      const p = PHASE_INDEX[span.phase!];
      present |= 1 << p;
      if (end <= start) continue;
      scratch.push(p, start, end);
    }
    const networkDerived = client !== undefined && (present & (1 << NETWORK)) === 0;
    if (networkDerived) {
      present |= 1 << NETWORK;
      const serverStart = Math.min(Math.max(request.start + shift, e2eStart), e2eEnd);
      const serverEnd = Math.max(Math.min(request.end + shift, e2eEnd), serverStart);
      if (serverStart > e2eStart) scratch.push(NETWORK, e2eStart, serverStart);
      if (e2eEnd > serverEnd) scratch.push(NETWORK, serverEnd, e2eEnd);
    }
    const phases: Partial<Record<Phase, number>> = {};
    for (let p = 0; p < PHASES.length; p++) {
      if ((present & (1 << p)) !== 0) phases[PHASES[p]!] = scratch.unionLength(p) / 1e6;
    }
    const e2eNs = e2eEnd - e2eStart;
    const attributes = request.attributes ?? {};
    const clientAttributes = client?.attributes ?? {};
    const timing: Mutable<RequestTiming> = {
      traceId,
      requestSpanId: request.id,
      service: this.intern(request.service),
      model: this.intern(String(attributes[ATTR.MODEL_NAME])),
      startNs: this.origin! + BigInt(e2eStart),
      e2eMs: e2eNs / 1e6,
      serverMs: (request.end - request.start) / 1e6,
      phases,
      otherMs: Math.max(0, e2eNs - scratch.unionLength(-1)) / 1e6,
      hasClient: client !== undefined,
      networkDerived,
      clockSkew,
      error: request.error || (client?.error ?? false),
    };
    this.setText(timing, 'modelVersion', attributes[ATTR.MODEL_VERSION]);
    this.setText(timing, 'runtime', attributes[ATTR.RUNTIME]);
    this.setText(timing, 'runtimeProvider', attributes[ATTR.RUNTIME_PROVIDER]);
    this.setText(timing, 'precision', attributes[ATTR.PRECISION]);
    this.setText(timing, 'device', attributes[ATTR.DEVICE]);
    this.setText(timing, 'source', attributes[SOURCE_ATTR]);
    const inputHash = attributes[ATTR.INPUT_HASH];
    if (inputHash !== undefined && inputHash !== '') timing.inputHash = String(inputHash);
    if (batchSize !== undefined) timing.batchSize = batchSize;
    const requestBytes = numeric(attributes[ATTR.REQUEST_SIZE] ?? clientAttributes[ATTR.REQUEST_SIZE]);
    if (requestBytes !== undefined) timing.requestBytes = requestBytes;
    const responseBytes = numeric(attributes[ATTR.RESPONSE_SIZE] ?? clientAttributes[ATTR.RESPONSE_SIZE]);
    if (responseBytes !== undefined) timing.responseBytes = responseBytes;
    const cacheHit = boolean(attributes[ATTR.CACHE_HIT]);
    if (cacheHit !== undefined) timing.cacheHit = cacheHit;
    // First token: the client's own event (what the caller saw), else the server's event, else
    // the end of the last prefill span (docs/conventions.md, "Generation").
    const firstToken = client?.firstToken ?? (request.firstToken !== undefined ? request.firstToken + shift : prefillEnd);
    if (firstToken !== undefined) timing.ttftMs = clampTtft((firstToken - e2eStart) / 1e6, e2eNs / 1e6);
    const tokensIn = tokenCount(attributes[ATTR.TOKENS_INPUT] ?? clientAttributes[ATTR.TOKENS_INPUT]);
    if (tokensIn !== undefined) timing.tokensIn = tokensIn;
    const tokensOut = tokenCount(attributes[ATTR.TOKENS_OUTPUT] ?? clientAttributes[ATTR.TOKENS_OUTPUT]);
    if (tokensOut !== undefined) timing.tokensOut = tokensOut;
    const tokensCached = tokenCount(attributes[ATTR.TOKENS_CACHED]);
    if (tokensCached !== undefined) timing.tokensCached = tokensCached;
    return timing;
  }
}

/** Assembles every request from a stream of span batches. */
export async function assembleRequests(batches: AsyncIterable<readonly SpanRecord[]> | Iterable<readonly SpanRecord[]>, options: AssembleOptions = {}): Promise<AssemblyResult> {
  const assembler = new RequestAssembler(options);
  for await (const batch of batches) assembler.add(batch);
  return assembler.finish();
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function hasRoot(trace: readonly TraceSpan[]): boolean {
  for (const span of trace) if (span.parent === undefined) return true;
  return false;
}

/** True when every span's parent is in the trace (a root has none). */
function isComplete(trace: readonly TraceSpan[]): boolean {
  for (const span of trace) {
    if (span.parent === undefined) continue;
    let found = false;
    for (const other of trace) {
      if (other.id === span.parent) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}


function boolean(value: AttributeValue | undefined): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

/**
 * One request's clipped phase intervals, in typed arrays reused from request to request. The
 * [start, end] tuples and per-phase arrays they replace were about an eighth of all the memory
 * a large run allocated, all of it garbage the collector had to sweep after each request.
 */
class IntervalScratch {
  private phase = new Int8Array(32);
  private start = new Float64Array(32);
  private end = new Float64Array(32);
  private count = 0;
  // Work arrays of one union, sorted by start.
  private sortedStart = new Float64Array(32);
  private sortedEnd = new Float64Array(32);

  /** Empties the scratch, making room for `capacity` intervals. */
  reset(capacity: number): void {
    this.count = 0;
    if (capacity > this.start.length) {
      const size = Math.max(capacity, this.start.length * 2);
      this.phase = new Int8Array(size);
      this.start = new Float64Array(size);
      this.end = new Float64Array(size);
      this.sortedStart = new Float64Array(size);
      this.sortedEnd = new Float64Array(size);
    }
  }

  push(phase: number, start: number, end: number): void {
    const i = this.count++;
    this.phase[i] = phase;
    this.start[i] = start;
    this.end[i] = end;
  }

  /** Length of the union of the intervals of phase index `phase` (-1: of all). */
  unionLength(phase: number): number {
    const starts = this.sortedStart;
    const ends = this.sortedEnd;
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      if (phase >= 0 && this.phase[i] !== phase) continue;
      const s = this.start[i]!;
      const e = this.end[i]!;
      // Insertion sort by start: a request has a handful of phase intervals, where a comparator
      // sort costs more than the sorting itself.
      let j = n - 1;
      while (j >= 0 && starts[j]! > s) {
        starts[j + 1] = starts[j]!;
        ends[j + 1] = ends[j]!;
        j--;
      }
      starts[j + 1] = s;
      ends[j + 1] = e;
      n++;
      if (n > 16) return this.unionLengthLarge(phase);
    }
    return sortedUnionLength(starts, ends, n);
  }

  /** Many intervals (rare: a request with dozens of phase spans): sort an index instead. */
  private unionLengthLarge(phase: number): number {
    const order: number[] = [];
    for (let i = 0; i < this.count; i++) if (phase < 0 || this.phase[i] === phase) order.push(i);
    order.sort((x, y) => this.start[x]! - this.start[y]!);
    order.forEach((i, k) => {
      this.sortedStart[k] = this.start[i]!;
      this.sortedEnd[k] = this.end[i]!;
    });
    return sortedUnionLength(this.sortedStart, this.sortedEnd, order.length);
  }
}
