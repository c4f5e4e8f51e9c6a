/**
 * @module analyzer/_trace-span
 * Internal: the compact form the assembler keeps of each span of an open trace. Times are
 * nanoseconds relative to the first span read (exact as doubles for 104 days of data), so
 * open traces hold numbers instead of bigints and no attribute maps except where needed.
 */
import type { AttributeValue, SpanKind } from '../model/span.js';
import type { Phase } from '../semconv.js';
import { nanosOf } from '../formats/_scanned-spans.js';
import { StartOrigin } from '../model/request-table.js';
import { HIGH, LOW } from '../model/_word-halves.js';

/** One span of an open trace, reduced to what assembly and the generic report read. */
export interface TraceSpan {
  readonly id: string;
  readonly parent: string | undefined;
  readonly name: string;
  readonly service: string;
  readonly kind: SpanKind;
  /** ns relative to the assembler's origin. */
  readonly start: number;
  readonly end: number;
  /** Set on phase spans. */
  readonly phase: Phase | undefined;
  /** True for a request span (model name, not a client span, not a phase span). */
  readonly request: boolean;
  /** True for a client span (kind client, `inference.role` = client). */
  readonly client: boolean;
  readonly shared: boolean;
  readonly error: boolean;
  /** Kept only for request and client spans: the attributes assembly reads. */
  readonly attributes: Readonly<Record<string, AttributeValue>> | undefined;
  /** `inference.batch.size` of a compute span. */
  readonly batchSize: number | undefined;
  /** Time of the `inference.first_token` event, ns relative to the origin; kept for request and client spans. */
  readonly firstToken: number | undefined;
}

const WORD = new BigUint64Array(1);
const HALVES = new Uint32Array(WORD.buffer);
const TWO_32 = 4_294_967_296;
const UINT64_END = 1n << 64n;
const NS_PER_S = 1_000_000_000n;

/**
 * `Number(ns - origin)` without a BigInt per call: ns is stored in a 64-bit word and read back
 * as two 32-bit halves (no allocation), and the two differences are added with one rounding, so
 * the result is the same double, exactly. Times outside 0..2⁶⁴ take the BigInt way. The
 * subtraction was a fifth of the assembler's time per span, and its garbage.
 */
export class NanosFrom {
  private readonly low: number;
  private readonly high: number;
  private readonly inRange: boolean;

  /** The origin as the byte-scanning reader splits times: origin = originHi·10⁹ + originLo. */
  private readonly originHi: number;
  private readonly originLo: number;

  /** The origin split in 32-bit halves, as the request table sums request starts from it. */
  readonly start: StartOrigin;

  constructor(readonly origin: bigint) {
    this.start = new StartOrigin(origin);
    this.inRange = this.start.split;
    this.low = this.start.lo;
    this.high = this.start.hi;
    this.originHi = Number(origin / NS_PER_S);
    this.originLo = Number(origin % NS_PER_S);
  }

  /**
   * (hi·10⁹ + lo) − origin as a number, for a time read as two exact halves (formats/_scanned-spans.ts):
   * exact, without BigInt, while |hi − originHi| < 9·10⁶ (both terms and the sum stay under 2⁵³); beyond, as `of` rounds it.
   */
  ofHalves(hi: number, lo: number): number {
    const d = hi - this.originHi;
    if (d < 9e6 && d > -9e6) return d * 1e9 + (lo - this.originLo);
    return this.of(nanosOf(hi, lo));
  }

  /** ns − origin as a number (rounded as Number(bigint) rounds). */
  of(ns: bigint): number {
    if (!this.inRange || ns < 0n || ns >= UINT64_END) return Number(ns - this.origin);
    WORD[0] = ns;
    return (HALVES[HIGH]! - this.high) * TWO_32 + (HALVES[LOW]! - this.low);
  }
}

/** A half-open interval [start, end) in relative ns. */
export type Interval = readonly [start: number, end: number];

/**
 * A union of intervals merged in order of start, held in three numbers of `u` from `at`: the
 * length merged so far, and the start and end of the interval still open. The one merge behind
 * `sortedUnionLength` and the request timer's per-phase unions (`_request-timing.ts`).
 */
export function openUnion(u: Float64Array, at: number, start: number, end: number): void {
  u[at] = 0;
  u[at + 1] = start;
  u[at + 2] = end;
}

/** Merges [start, end), the next interval by start, into the union at `at` (see openUnion). */
export function mergeIntoUnion(u: Float64Array, at: number, start: number, end: number): void {
  const open = u[at + 2]!;
  if (start > open) {
    u[at]! += open - u[at + 1]!;
    u[at + 1] = start;
    u[at + 2] = end;
  } else if (end > open) {
    u[at + 2] = end;
  }
}

/** The length of the union at `at` (see openUnion). */
export function unionTotal(u: Float64Array, at: number): number {
  return u[at]! + Math.max(0, u[at + 2]! - u[at + 1]!);
}

const UNION = new Float64Array(3);

/** Total length of the union of n intervals already sorted by start (`starts[i]`..`ends[i]`). */
export function sortedUnionLength(starts: ArrayLike<number>, ends: ArrayLike<number>, n: number): number {
  if (n === 0) return 0;
  openUnion(UNION, 0, starts[0]!, ends[0]!);
  for (let i = 1; i < n; i++) mergeIntoUnion(UNION, 0, starts[i]!, ends[i]!);
  return unionTotal(UNION, 0);
}

/** Total length of the union of `intervals`, in any order. */
export function unionLength(intervals: readonly Interval[]): number {
  const sorted = [...intervals].sort((x, y) => x[0] - y[0]);
  return sortedUnionLength(
    sorted.map((i) => i[0]),
    sorted.map((i) => i[1]),
    sorted.length,
  );
}

/** Traces up to this many spans are indexed by linear scans: cheaper than building maps. */
const SMALL_TRACE = 48;

/**
 * Parent lookup inside one deduplicated trace. Zipkin's shared spans give a client half and a
 * server half the same id: children of that id hang under the server half, and the server half
 * hangs under the client half (its recorded parent is the client's parent).
 */
export class SpanIndex {
  private readonly spans: readonly TraceSpan[];
  private readonly byId: Map<string, TraceSpan> | undefined;
  private readonly clientHalf: Map<string, TraceSpan> | undefined;

  constructor(spans: readonly TraceSpan[]) {
    this.spans = spans;
    if (spans.length <= SMALL_TRACE) return;
    const byId = new Map<string, TraceSpan>();
    const clientHalf = new Map<string, TraceSpan>();
    for (const span of spans) {
      if (span.kind === 'client') {
        if (!clientHalf.has(span.id)) clientHalf.set(span.id, span);
        if (!byId.has(span.id)) byId.set(span.id, span);
      } else {
        const existing = byId.get(span.id);
        if (existing === undefined || existing.kind === 'client') byId.set(span.id, span);
      }
    }
    this.byId = byId;
    this.clientHalf = clientHalf;
  }

  /** The span's parent in this trace, or undefined for a root or an orphan. */
  parentOf(span: TraceSpan): TraceSpan | undefined {
    if (span.kind !== 'client') {
      const client = this.clientHalfOf(span.id);
      if (client !== undefined && client !== span) return client;
    }
    if (span.parent === undefined || span.parent === span.id) return undefined;
    return this.get(span.parent);
  }

  /** The trace as a forest: spans without a parent here (roots, orphans) and each span's children. */
  tree(): { roots: TraceSpan[]; children: Map<TraceSpan, TraceSpan[]> } {
    const roots: TraceSpan[] = [];
    const children = new Map<TraceSpan, TraceSpan[]>();
    for (const span of this.spans) {
      const parent = this.parentOf(span);
      if (parent === undefined) {
        roots.push(span);
        continue;
      }
      const list = children.get(parent);
      if (list === undefined) children.set(parent, [span]);
      else list.push(span);
    }
    return { roots, children };
  }

  /** True when the span names a parent that is not in this trace. */
  isOrphan(span: TraceSpan): boolean {
    return span.parent !== undefined && span.parent !== span.id && this.get(span.parent) === undefined && this.parentOf(span) === undefined;
  }

  /** The span with this id, the non-client half when two share it. */
  private get(id: string): TraceSpan | undefined {
    if (this.byId !== undefined) return this.byId.get(id);
    let found: TraceSpan | undefined;
    for (const span of this.spans) {
      if (span.id !== id) continue;
      if (span.kind !== 'client') return span;
      found ??= span;
    }
    return found;
  }

  private clientHalfOf(id: string): TraceSpan | undefined {
    if (this.clientHalf !== undefined) return this.clientHalf.get(id);
    for (const span of this.spans) if (span.kind === 'client' && span.id === id) return span;
    return undefined;
  }
}
