/**
 * @module analyzer/_request-timing
 * Internal: one request's timing from its spans, following the span convention
 * (docs/conventions.md): e2e from the client span (or the request span), phases as the union of
 * their clipped intervals, network derived from client − server, clock-skew correction, and the
 * request attributes. Pure: spans (slots of the assembler's SpanStore) in, a row of a RequestTable out.
 */
import type { AttributeValue } from '../model/span.js';
import { REQUEST_FLAG, TABLE_NUMBERS, TABLE_TEXTS } from '../model/request-table.js';
import type { RequestTableBuilder, StartOrigin, TableNumber, TableText } from '../model/request-table.js';
import { clampTtft, tokenCount } from '../model/generation.js';
import { ATTR, PHASES, SOURCE_ATTR } from '../semconv.js';
import type { Phase } from '../semconv.js';
import { SPAN_BIT } from './_span-store.js';
import { mergeIntoUnion, openUnion, unionTotal } from './_trace-span.js';
import type { SpanStore } from './_span-store.js';
import { numeric } from './_span-columns.js';
import { OUTSIDE_UNATTRIBUTED } from './conventions/index.js';

const PHASE_INDEX = Object.fromEntries(PHASES.map((p, i) => [p, i])) as Record<Phase, number>;
const NETWORK = PHASE_INDEX.network;
const PREFILL = PHASE_INDEX.prefill;
/** TABLE_TEXTS and TABLE_NUMBERS indexes of the fields set here. */
const TEXT = Object.fromEntries(TABLE_TEXTS.map((f, i) => [f, i])) as Record<TableText, number>;
const NUMBER = Object.fromEntries(TABLE_NUMBERS.map((f, i) => [f, i])) as Record<TableNumber, number>;

const NO_ATTRIBUTES: Readonly<Record<string, AttributeValue>> = {};

/**
 * A first token this far past the request's end is reported, not only clamped: seconds rounded
 * to ns or an event stamped as the span closes land within it; a time to first chunk written in
 * ms where seconds are due (350 for 0.35) lands far beyond.
 */
const FIRST_TOKEN_LATE_NS = 1_000_000;

/** Times requests one after another into a RequestTableBuilder, reusing its interval scratch. */
export class RequestTimer {
  private readonly scratch = new IntervalScratch();
  /** Requests timed whose first token came over FIRST_TOKEN_LATE_NS after their end (TTFT clamped to e2e). */
  firstTokensAfterEnd = 0;

  /**
   * The timing of the request span in store slot `request` (with its client span's slot, −1 for
   * none, and the slots of its phase spans `phaseSpans[from]` … `phaseSpans[to − 1]`); span
   * times are ns relative to `origin`.
   */
  time(out: RequestTableBuilder, traceId: string, origin: StartOrigin, store: SpanStore, request: number, client: number, phaseSpans: Int32Array, from: number, to: number): boolean {
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
    // A server span that starts after the server's own work began (vLLM's, at the engine's arrival time) leaves
    // more than the wire outside it: that time stays unattributed rather than called network.
    const source = hasClient ? store.attributes[request]?.[SOURCE_ATTR] : undefined;
    const networkDerived = hasClient && !clientNetwork && !(typeof source === 'string' && OUTSIDE_UNATTRIBUTED.has(source));
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
    if (firstToken !== undefined && firstToken - e2eEnd > FIRST_TOKEN_LATE_NS) this.firstTokensAfterEnd++;
    const flags =
      (hasClient ? REQUEST_FLAG.CLIENT : 0) |
      (networkDerived ? REQUEST_FLAG.NETWORK_DERIVED : 0) |
      (clockSkew ? REQUEST_FLAG.CLOCK_SKEW : 0) |
      ((store.bits[request]! & SPAN_BIT.ERROR) !== 0 || (hasClient && (store.bits[client]! & SPAN_BIT.ERROR) !== 0) ? REQUEST_FLAG.ERROR : 0);
    const otherNs = Math.max(0, e2eNs - scratch.unions());
    const i = out.appendFrom(traceId, store.ids[request]!, origin, e2eStart, e2eNs / 1e6, (ends[request]! - starts[request]!) / 1e6, otherNs / 1e6, flags);
    for (let p = 0, bits = present; bits !== 0; p++, bits >>>= 1) {
      if ((bits & 1) !== 0) out.setPhase(i, p, scratch.phaseUnion(p) / 1e6);
    }
    this.attributes(out, i, store, request, client, batchSize, ttftMs);
    return clockSkew;
  }

  /** Sets the request's attributes (model, runtime, sizes, tokens, …) on row `i`. */
  private attributes(out: RequestTableBuilder, i: number, store: SpanStore, request: number, client: number, batchSize: number | undefined, ttftMs: number | undefined): void {
    const attributes = store.attributes[request] ?? NO_ATTRIBUTES;
    const clientAttributes = client < 0 ? NO_ATTRIBUTES : (store.attributes[client] ?? NO_ATTRIBUTES);
    out.setRequiredText(i, TEXT.service, store.services[request]!);
    out.setRequiredText(i, TEXT.model, String(attributes[ATTR.MODEL_NAME]));
    out.setText(i, TEXT.modelVersion, text(attributes[ATTR.MODEL_VERSION]));
    out.setText(i, TEXT.runtime, text(attributes[ATTR.RUNTIME]));
    out.setText(i, TEXT.runtimeProvider, text(attributes[ATTR.RUNTIME_PROVIDER]));
    out.setText(i, TEXT.precision, text(attributes[ATTR.PRECISION]));
    out.setText(i, TEXT.device, text(attributes[ATTR.DEVICE]));
    out.setText(i, TEXT.source, text(attributes[SOURCE_ATTR]));
    const inputHash = attributes[ATTR.INPUT_HASH];
    if (inputHash !== undefined && inputHash !== '') out.setInputHash(i, String(inputHash));
    out.setNumber(i, NUMBER.batchSize, batchSize);
    out.setNumber(i, NUMBER.requestBytes, numeric(attributes[ATTR.REQUEST_SIZE] ?? clientAttributes[ATTR.REQUEST_SIZE]));
    out.setNumber(i, NUMBER.responseBytes, numeric(attributes[ATTR.RESPONSE_SIZE] ?? clientAttributes[ATTR.RESPONSE_SIZE]));
    const cacheHit = boolean(attributes[ATTR.CACHE_HIT]);
    if (cacheHit !== undefined) out.setCacheHit(i, cacheHit);
    out.setNumber(i, NUMBER.ttftMs, ttftMs);
    out.setNumber(i, NUMBER.tokensIn, tokenCount(attributes[ATTR.TOKENS_INPUT] ?? clientAttributes[ATTR.TOKENS_INPUT]));
    out.setNumber(i, NUMBER.tokensOut, tokenCount(attributes[ATTR.TOKENS_OUTPUT] ?? clientAttributes[ATTR.TOKENS_OUTPUT]));
    out.setNumber(i, NUMBER.tokensCached, tokenCount(attributes[ATTR.TOKENS_CACHED]));
  }
}

/** A text attribute as a string; undefined when absent or empty. */
function text(value: AttributeValue | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : String(value);
}

function boolean(value: AttributeValue | undefined): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

/** IntervalScratch's slot of the union of every phase (past the phase indexes). */
const ALL = 31;

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
  /** The intervals' indexes sorted by start (equal starts in the order pushed). */
  private order = new Int32Array(32);
  /** Per phase index p (and ALL), from `unions`: its union at 3·p (openUnion). */
  private readonly phaseUnions = new Float64Array(3 * 32);
  /** Bit p: phase index p (or ALL) has an interval (from `unions`). */
  private phasesSeen = 0;

  /** Empties the scratch, making room for `capacity` intervals. */
  reset(capacity: number): void {
    this.count = 0;
    if (capacity > this.start.length) {
      const size = Math.max(capacity, this.start.length * 2);
      this.phase = new Int8Array(size);
      this.start = new Float64Array(size);
      this.end = new Float64Array(size);
      this.order = new Int32Array(size);
    }
  }

  push(phase: number, start: number, end: number): void {
    const i = this.count++;
    this.phase[i] = phase;
    this.start[i] = start;
    this.end[i] = end;
  }

  /**
   * Length of the union of all the intervals; the union of each phase's is then `phaseUnion`.
   * The intervals are sorted once and merged in one pass, every phase's merge beside the whole
   * one's (each phase used to sort and merge its own, a pass over all the intervals per phase);
   * each union is merged as sortedUnionLength merges its intervals.
   */
  unions(): number {
    const n = this.count;
    this.phasesSeen = 0;
    if (n > 16) this.sortLarge();
    else this.sortSmall();
    const order = this.order;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      const s = this.start[i]!;
      const e = this.end[i]!;
      this.merge(ALL, s, e);
      this.merge(this.phase[i]!, s, e);
    }
    return this.phaseUnion(ALL);
  }

  /** Length of the union of the intervals of phase index `phase` (ALL: of every phase), after `unions`. */
  phaseUnion(phase: number): number {
    if ((this.phasesSeen & (1 << phase)) === 0) return 0;
    return unionTotal(this.phaseUnions, 3 * phase);
  }

  /** Merges [s, e), the next interval by start, into the union of `slot` (a phase index or ALL). */
  private merge(slot: number, s: number, e: number): void {
    const bit = 1 << slot;
    if ((this.phasesSeen & bit) === 0) {
      this.phasesSeen |= bit;
      openUnion(this.phaseUnions, 3 * slot, s, e);
    } else {
      mergeIntoUnion(this.phaseUnions, 3 * slot, s, e);
    }
  }

  /** Insertion sort by start: a request has a handful of phase intervals, where a comparator sort costs more than the sorting itself. */
  private sortSmall(): void {
    const order = this.order;
    const starts = this.start;
    for (let i = 0; i < this.count; i++) {
      const s = starts[i]!;
      let j = i - 1;
      while (j >= 0 && starts[order[j]!]! > s) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = i;
    }
  }

  /** Many intervals (rare: a request with dozens of phase spans): a comparator sort (stable, as the insertion sort). */
  private sortLarge(): void {
    const indexes: number[] = [];
    for (let i = 0; i < this.count; i++) indexes.push(i);
    indexes.sort((x, y) => this.start[x]! - this.start[y]!);
    this.order.set(indexes);
  }
}
