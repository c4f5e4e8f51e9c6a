/**
 * @module analyzer/_request-timing
 * Internal: one request's timing from its spans, following the span convention
 * (docs/conventions.md): e2e from the client span (or the request span), phases as the union of
 * their clipped intervals, network derived from client − server, clock-skew correction, and the
 * request attributes. Pure: spans in, a RequestTiming row out.
 */
import type { AttributeValue } from '../model/span.js';
import type { RequestTiming } from '../model/request.js';
import { clampTtft, tokenCount } from '../model/generation.js';
import { ATTR, PHASES, SOURCE_ATTR } from '../semconv.js';
import type { Phase } from '../semconv.js';
import type { TraceSpan } from './_trace-span.js';
import { sortedUnionLength } from './_trace-span.js';
import { numeric } from './_span-columns.js';

const PHASE_INDEX = Object.fromEntries(PHASES.map((p, i) => [p, i])) as Record<Phase, number>;
const NETWORK = PHASE_INDEX.network;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Times requests one after another, reusing its interval scratch and interned strings. */
export class RequestTimer {
  private readonly strings = new Map<string, string>();
  private readonly scratch = new IntervalScratch();

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

  /**
   * The timing of `request` (with its client span, when there is one, and its phase spans);
   * span times are ns relative to `origin`.
   */
  time(traceId: string, origin: bigint, request: TraceSpan, client: TraceSpan | undefined, phaseSpans: readonly TraceSpan[]): RequestTiming {
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
      startNs: origin + BigInt(e2eStart),
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
