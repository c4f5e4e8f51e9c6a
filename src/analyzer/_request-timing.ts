/**
 * @module analyzer/_request-timing
 * Internal: one request's timing from its spans, following the span convention
 * (docs/conventions.md): e2e from the client span (or the request span), phases as the union of
 * their clipped intervals, network derived from client − server, clock-skew correction, and the
 * request attributes. Pure: spans (slots of the assembler's SpanStore) in, a RequestTiming row out.
 */
import type { AttributeValue } from '../model/span.js';
import type { RequestTiming } from '../model/request.js';
import { clampTtft, tokenCount } from '../model/generation.js';
import { ATTR, PHASES, SOURCE_ATTR } from '../semconv.js';
import type { Phase } from '../semconv.js';
import { sortedUnionLength } from './_trace-span.js';
import { SPAN_BIT } from './_span-store.js';
import type { SpanStore } from './_span-store.js';
import { numeric } from './_span-columns.js';

const PHASE_INDEX = Object.fromEntries(PHASES.map((p, i) => [p, i])) as Record<Phase, number>;
const NETWORK = PHASE_INDEX.network;
const PREFILL = PHASE_INDEX.prefill;

/**
 * Per-request phase times: a class, not an object literal filled key by key, so V8 gives every
 * instance room for all nine phases inside the object (a literal `{}` has four slots and moves
 * the rest to a separate array) and the stores are named, not keyed. Absent phases stay absent
 * (no own property), as the public type says. Fields follow PHASES' order (checked below).
 */
class PhaseTimes {
  declare preprocess?: number;
  declare serialize?: number;
  declare network?: number;
  declare queue?: number;
  declare transfer?: number;
  declare compute?: number;
  declare prefill?: number;
  declare decode?: number;
  declare postprocess?: number;

  /** `lengths[p]`: the union length of phase p's intervals in ms, read where bit p of `present` is set. */
  constructor(present: number, lengths: Float64Array) {
    if ((present & 1) !== 0) this.preprocess = lengths[0]!;
    if ((present & 2) !== 0) this.serialize = lengths[1]!;
    if ((present & 4) !== 0) this.network = lengths[2]!;
    if ((present & 8) !== 0) this.queue = lengths[3]!;
    if ((present & 16) !== 0) this.transfer = lengths[4]!;
    if ((present & 32) !== 0) this.compute = lengths[5]!;
    if ((present & 64) !== 0) this.prefill = lengths[6]!;
    if ((present & 128) !== 0) this.decode = lengths[7]!;
    if ((present & 256) !== 0) this.postprocess = lengths[8]!;
  }
}

/**
 * One request's row. A class whose constructor makes every store (optional fields only when
 * present, as `exactOptionalPropertyTypes` means them), so V8 sizes each instance for all the
 * fields it may get: no separate property array per row, and no keyed stores. Rows are kept
 * for the whole run (AnalysisResult.timings), so their size is the analyzer's memory growth.
 * Field order is the order the rows always had.
 */
class TimingRow implements RequestTiming {
  readonly traceId: string;
  readonly requestSpanId: string;
  readonly service: string;
  readonly model: string;
  readonly startNs: bigint;
  readonly e2eMs: number;
  readonly serverMs: number;
  readonly phases: PhaseTimes;
  readonly otherMs: number;
  readonly hasClient: boolean;
  readonly networkDerived: boolean;
  readonly clockSkew: boolean;
  readonly error: boolean;
  declare readonly modelVersion?: string;
  declare readonly runtime?: string;
  declare readonly runtimeProvider?: string;
  declare readonly precision?: string;
  declare readonly device?: string;
  declare readonly source?: string;
  declare readonly inputHash?: string;
  declare readonly batchSize?: number;
  declare readonly requestBytes?: number;
  declare readonly responseBytes?: number;
  declare readonly cacheHit?: boolean;
  declare readonly ttftMs?: number;
  declare readonly tokensIn?: number;
  declare readonly tokensOut?: number;
  declare readonly tokensCached?: number;

  constructor(
    strings: Interner,
    traceId: string,
    store: SpanStore,
    request: number,
    client: number,
    startNs: bigint,
    e2eNs: number,
    phases: PhaseTimes,
    otherNs: number,
    networkDerived: boolean,
    clockSkew: boolean,
    batchSize: number | undefined,
    ttftMs: number | undefined,
  ) {
    const attributes = store.attributes[request] ?? NO_ATTRIBUTES;
    const clientAttributes = client < 0 ? NO_ATTRIBUTES : (store.attributes[client] ?? NO_ATTRIBUTES);
    this.traceId = traceId;
    this.requestSpanId = store.ids[request]!;
    this.service = strings.intern(store.services[request]!, 0);
    this.model = strings.intern(String(attributes[ATTR.MODEL_NAME]), 1);
    this.startNs = startNs;
    this.e2eMs = e2eNs / 1e6;
    this.serverMs = (store.ends[request]! - store.starts[request]!) / 1e6;
    this.phases = phases;
    this.otherMs = otherNs / 1e6;
    this.hasClient = client >= 0;
    this.networkDerived = networkDerived;
    this.clockSkew = clockSkew;
    this.error = (store.bits[request]! & SPAN_BIT.ERROR) !== 0 || (client >= 0 && (store.bits[client]! & SPAN_BIT.ERROR) !== 0);
    const modelVersion = strings.text(attributes[ATTR.MODEL_VERSION], 2);
    if (modelVersion !== undefined) this.modelVersion = modelVersion;
    const runtime = strings.text(attributes[ATTR.RUNTIME], 3);
    if (runtime !== undefined) this.runtime = runtime;
    const runtimeProvider = strings.text(attributes[ATTR.RUNTIME_PROVIDER], 4);
    if (runtimeProvider !== undefined) this.runtimeProvider = runtimeProvider;
    const precision = strings.text(attributes[ATTR.PRECISION], 5);
    if (precision !== undefined) this.precision = precision;
    const device = strings.text(attributes[ATTR.DEVICE], 6);
    if (device !== undefined) this.device = device;
    const source = strings.text(attributes[SOURCE_ATTR], 7);
    if (source !== undefined) this.source = source;
    const inputHash = attributes[ATTR.INPUT_HASH];
    if (inputHash !== undefined && inputHash !== '') this.inputHash = String(inputHash);
    if (batchSize !== undefined) this.batchSize = batchSize;
    const requestBytes = numeric(attributes[ATTR.REQUEST_SIZE] ?? clientAttributes[ATTR.REQUEST_SIZE]);
    if (requestBytes !== undefined) this.requestBytes = requestBytes;
    const responseBytes = numeric(attributes[ATTR.RESPONSE_SIZE] ?? clientAttributes[ATTR.RESPONSE_SIZE]);
    if (responseBytes !== undefined) this.responseBytes = responseBytes;
    const cacheHit = boolean(attributes[ATTR.CACHE_HIT]);
    if (cacheHit !== undefined) this.cacheHit = cacheHit;
    if (ttftMs !== undefined) this.ttftMs = ttftMs;
    const tokensIn = tokenCount(attributes[ATTR.TOKENS_INPUT] ?? clientAttributes[ATTR.TOKENS_INPUT]);
    if (tokensIn !== undefined) this.tokensIn = tokensIn;
    const tokensOut = tokenCount(attributes[ATTR.TOKENS_OUTPUT] ?? clientAttributes[ATTR.TOKENS_OUTPUT]);
    if (tokensOut !== undefined) this.tokensOut = tokensOut;
    const tokensCached = tokenCount(attributes[ATTR.TOKENS_CACHED]);
    if (tokensCached !== undefined) this.tokensCached = tokensCached;
  }
}

const NO_ATTRIBUTES: Readonly<Record<string, AttributeValue>> = {};

/**
 * One copy of each low-cardinality value (service, model, runtime, …): readers make a new
 * string per occurrence, and every finished row would otherwise keep its own copies. Each field
 * remembers its last value: consecutive requests mostly repeat it, and comparing two short
 * strings is cheaper than hashing a new one into the map.
 */
class Interner {
  private readonly strings = new Map<string, string>();
  private readonly lastSeen: (string | undefined)[] = [];
  private readonly lastKept: string[] = [];

  /** The kept copy of `value`; `field` numbers the row field it is for (its own last-value memo). */
  intern(value: string, field: number): string {
    if (this.lastSeen[field] === value) return this.lastKept[field]!;
    let kept = this.strings.get(value);
    if (kept === undefined) {
      kept = value;
      if (this.strings.size < 10_000) this.strings.set(value, value);
    }
    this.lastSeen[field] = value;
    this.lastKept[field] = kept;
    return kept;
  }

  /** A text attribute, interned; undefined when absent or empty. */
  text(value: AttributeValue | undefined, field: number): string | undefined {
    return value === undefined || value === '' ? undefined : this.intern(String(value), field);
  }
}

/** Times requests one after another, reusing its interval scratch and interned strings. */
export class RequestTimer {
  private readonly strings = new Interner();
  private readonly scratch = new IntervalScratch();
  /**
   * Per-phase union lengths of the request being timed: computed in one loop, so the union's
   * sort is compiled once, not inlined once per phase into the row's constructor (which made
   * it one of the costliest functions for the optimizing compiler to build).
   */
  private readonly lengths = new Float64Array(PHASES.length);

  /**
   * The timing of the request span in store slot `request` (with its client span's slot, −1 for
   * none, and the slots of its phase spans `phaseSpans[from]` … `phaseSpans[to − 1]`); span
   * times are ns relative to `origin`.
   */
  time(traceId: string, origin: bigint, store: SpanStore, request: number, client: number, phaseSpans: Int32Array, from: number, to: number): RequestTiming {
    const starts = store.starts;
    const ends = store.ends;
    const requestStart = starts[request]!;
    const requestEnd = ends[request]!;
    const hasClient = client >= 0;
    const e2eStart = hasClient ? starts[client]! : requestStart;
    const e2eEnd = hasClient ? ends[client]! : requestEnd;
    let shift = 0;
    let clockSkew = false;
    if (hasClient && (requestStart < e2eStart || requestEnd > e2eEnd)) {
      // Clocks disagree: centre the server inside the client, assuming equal network time each
      // way (Zipkin's skew correction makes the same assumption).
      clockSkew = true;
      shift = (e2eStart + e2eEnd - requestStart - requestEnd) / 2;
    }
    // Clipped phase intervals go into reused scratch arrays (see IntervalScratch), not tuples.
    const scratch = this.scratch;
    scratch.reset(to - from + 2);
    const phases = store.phases;
    const batchSizes = store.batchSizes;
    // Bit p set = a span of PHASES[p] exists (even one clipped to nothing).
    let present = 0;
    let batchSize: number | undefined;
    let prefillEnd: number | undefined;
    // A network span outside the server span is the client's own measure of the wire; inside it
    // (Triton's HTTP receive/send), it leaves the time outside the server to derive.
    let clientNetwork = false;
    for (let i = from; i < to; i++) {
      const span = phaseSpans[i]!;
      const spanEnd = ends[span]! + shift;
      const start = Math.max(starts[span]! + shift, e2eStart);
      const end = Math.min(spanEnd, e2eEnd);
      const spanBatch = batchSizes[span]!;
      // NaN: none.
      if (spanBatch === spanBatch) batchSize = Math.max(batchSize ?? 0, spanBatch);
      const p = phases[span]!;
      if (p === PREFILL) prefillEnd = Math.max(prefillEnd ?? -Infinity, spanEnd);
      present |= 1 << p;
      if (end <= start) continue;
      if (p === NETWORK && (start < requestStart + shift || end > requestEnd + shift)) clientNetwork = true;
      scratch.push(p, start, end);
    }
    const networkDerived = hasClient && !clientNetwork;
    if (networkDerived) {
      present |= 1 << NETWORK;
      const serverStart = Math.min(Math.max(requestStart + shift, e2eStart), e2eEnd);
      const serverEnd = Math.max(Math.min(requestEnd + shift, e2eEnd), serverStart);
      if (serverStart > e2eStart) scratch.push(NETWORK, e2eStart, serverStart);
      if (e2eEnd > serverEnd) scratch.push(NETWORK, serverEnd, e2eEnd);
    }
    const e2eNs = e2eEnd - e2eStart;
    // First token: the client's own event (what the caller saw), else the server's event, else
    // the end of the last prefill span (docs/conventions.md, "Generation"). NaN: no event.
    const clientToken = hasClient ? store.firstTokens[client]! : NaN;
    const requestToken = store.firstTokens[request]!;
    const firstToken = clientToken === clientToken ? clientToken : requestToken === requestToken ? requestToken + shift : prefillEnd;
    const ttftMs = firstToken === undefined ? undefined : clampTtft((firstToken - e2eStart) / 1e6, e2eNs / 1e6);
    return new TimingRow(
      this.strings,
      traceId,
      store,
      request,
      client,
      origin + BigInt(e2eStart),
      e2eNs,
      new PhaseTimes(present, this.phaseLengths(present)),
      Math.max(0, e2eNs - scratch.unionLength(-1)),
      networkDerived,
      clockSkew,
      batchSize,
      ttftMs,
    );
  }

  /** Fills `lengths` for the phases whose bit is set in `present`. */
  private phaseLengths(present: number): Float64Array {
    const lengths = this.lengths;
    for (let p = 0, bits = present; bits !== 0; p++, bits >>>= 1) {
      if ((bits & 1) !== 0) lengths[p] = this.scratch.unionLength(p) / 1e6;
    }
    return lengths;
  }
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

// PhaseTimes spells the phases out (named stores); fail at load if PHASES ever changes under it.
if (Object.keys(new PhaseTimes((1 << PHASES.length) - 1, new Float64Array(PHASES.length))).join() !== PHASES.join()) {
  throw new Error('_request-timing: PhaseTimes does not list PHASES in order');
}
