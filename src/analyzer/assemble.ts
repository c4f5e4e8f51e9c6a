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
import { nanosOf, SCANNED, SCANNED_KINDS } from '../formats/_scanned-spans.js';
import type { ScannedSpans } from '../formats/_scanned-spans.js';

const NS_PER_S = 1_000_000_000n;

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
    if (this.originHi === undefined) this.scannedOrigin(s.startNs(i));
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
      start: this.sinceOrigin(s.startHi[i]!, s.startLo[i]!),
      end: this.sinceOrigin(s.endHi[i]!, s.endLo[i]!),
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

  /** The origin (the first span's start, whichever way it came) split as scanned times are. */
  private originHi: number | undefined;
  private originLo = 0;

  private scannedOrigin(start: bigint): void {
    const origin = (this.origin ??= start);
    this.relative ??= new NanosFrom(origin);
    this.originHi = Number(origin / NS_PER_S);
    this.originLo = Number(origin % NS_PER_S);
  }

  /** (hi·10⁹ + lo) − origin as a number: exact below 2⁵³ (|hi − originHi| < 9·10⁶); beyond, as `add` rounds it. */
  private sinceOrigin(hi: number, lo: number): number {
    const d = hi - this.originHi!;
    if (d < 9e6 && d > -9e6) return d * 1e9 + (lo - this.originLo);
    return this.relative!.of(nanosOf(hi, lo));
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
    this.stats.traces++;
    const spans = this.dedupe(trace);
    const index = new SpanIndex(spans);
    const requestSpans: TraceSpan[] = [];
    let pieces = 0;
    for (const span of spans) {
      if (index.parentOf(span) === undefined) {
        pieces++;
        if (span.parent !== undefined && span.parent !== span.id) this.stats.orphanSpans++;
      }
      if (span.request) requestSpans.push(span);
    }
    if (pieces > 1) {
      this.stats.fragmentedTraces++;
      this.stats.fragmentPieces += pieces;
    }
    if (requestSpans.length === 0) {
      for (const span of spans) if (span.phase !== undefined) this.stats.unattachedPhaseSpans++;
      this.generic.addTrace(spans);
      return;
    }
    this.stats.requestTraces++;
    const phasesOf: TraceSpan[][] = requestSpans.map(() => []);
    const above: Above = spans.length <= SMALL_TRACE ? new WalkAncestors(index, spans.length) : new Ancestry(index);
    // Most traces hold one request: no map for them (this runs once per trace).
    const only = requestSpans.length === 1 ? requestSpans[0] : undefined;
    const owners = only === undefined ? new Map<TraceSpan, number>(requestSpans.map((r, i) => [r, i])) : undefined;
    for (const span of spans) {
      if (span.phase === undefined) continue;
      const request = above.request(span);
      const owner = request === undefined ? undefined : owners === undefined ? (request === only ? 0 : undefined) : owners.get(request);
      if (owner === undefined) this.stats.unattachedPhaseSpans++;
      else phasesOf[owner]!.push(span);
    }
    for (let i = 0; i < requestSpans.length; i++) {
      const request = requestSpans[i]!;
      const client = above.client(request);
      const timing = this.timer.time(traceId, this.origin!, request, client, phasesOf[i]!);
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

}

/** Traces up to this size walk up their parents per span: cheaper than building maps, and at most 64² steps. */
const SMALL_TRACE = 64;

/** The ancestors assembly asks about: the nearest request span, and a request's client span. */
interface Above {
  /** Nearest request-span ancestor (not the span itself). */
  request(span: TraceSpan): TraceSpan | undefined;
  /** Nearest client-span ancestor, not crossing another request span. */
  client(span: TraceSpan): TraceSpan | undefined;
}

/** Small traces: walk up the parents each time (`limit` steps at most, so a parent cycle ends). A class, not closures: one object per trace. */
class WalkAncestors implements Above {
  constructor(
    private readonly index: SpanIndex,
    private readonly limit: number,
  ) {}

  request(span: TraceSpan): TraceSpan | undefined {
    const index = this.index;
    let cursor = index.parentOf(span);
    for (let steps = 0; cursor !== undefined && steps < this.limit; steps++) {
      if (cursor.request) return cursor;
      cursor = index.parentOf(cursor);
    }
    return undefined;
  }

  client(span: TraceSpan): TraceSpan | undefined {
    const index = this.index;
    let cursor = index.parentOf(span);
    for (let steps = 0; cursor !== undefined && steps < this.limit; steps++) {
      if (cursor.client) return cursor;
      if (cursor.request) return undefined;
      cursor = index.parentOf(cursor);
    }
    return undefined;
  }
}

/**
 * Big traces: both answers for every span in one pass down from the roots, so a chain of 100 000
 * nested spans costs 100 000 steps, not 100 000² / 2 (each span's answer is its parent's, unless
 * the parent itself is the answer). Spans on a parent cycle, reached from no root, have neither.
 */
class Ancestry implements Above {
  private readonly nearestRequest = new Map<TraceSpan, TraceSpan | undefined>();
  private readonly nearestClient = new Map<TraceSpan, TraceSpan | undefined>();

  constructor(index: SpanIndex) {
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

  request(span: TraceSpan): TraceSpan | undefined {
    return this.nearestRequest.get(span);
  }

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
