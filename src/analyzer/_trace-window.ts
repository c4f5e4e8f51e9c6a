/**
 * @module analyzer/_trace-window
 * Internal: the assembler's window over streamed spans. Spans are buffered by trace; a trace is
 * finalized once `idleSpans` spans have been read without touching it (a complete-looking trace,
 * root in and every parent present, after the shorter `completeIdleSpans`), and at the end of
 * input. A span that arrives for a trace already finalized is counted as late and dropped, never
 * silently merged into a wrong request. Memory stays flat: only open traces are held.
 */
import type { AssemblyStats } from '../model/analysis.js';
import type { TraceSpan } from './_trace-span.js';

/** Options of the trace window (see AssembleOptions). */
export interface TraceWindowOptions {
  readonly idleSpans?: number;
  readonly completeIdleSpans?: number;
  readonly rememberFinalized?: number;
}

/** The spans of one trace, in arrival order. */
export type OpenTrace = TraceSpan[];

const DEFAULT_IDLE_SPANS = 100_000;
const DEFAULT_REMEMBER = 100_000;
const DEFAULT_COMPLETE_IDLE_SPANS = 2_000;
/** Completeness is checked only for traces this small (the check is quadratic in the trace's spans). */
const COMPLETE_CHECK_MAX_SPANS = 64;

/** Buffers spans by trace and hands each trace to `finalize` once it is idle (or at `flush`). */
export class TraceWindow {
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
   * bounded by `remember`: 100k traces reach far past the idle window. `order` holds the same ids
   * as a ring, oldest at `oldest` once full, so the one to forget is found without an iterator.
   */
  private readonly finalized = new Set<string>();
  private readonly order: string[] = [];
  private oldest = 0;

  /**
   * @param stats counts `spans` and `lateSpans` into the assembler's stats
   * @param finalize receives each trace once, when it leaves the window
   */
  constructor(
    options: TraceWindowOptions,
    private readonly stats: Pick<AssemblyStats, 'spans' | 'lateSpans'>,
    private readonly finalize: (traceId: string, trace: OpenTrace) => void,
  ) {
    this.idleSpans = options.idleSpans ?? DEFAULT_IDLE_SPANS;
    this.remember = options.rememberFinalized ?? DEFAULT_REMEMBER;
    this.completeIdleSpans = Math.min(this.idleSpans, options.completeIdleSpans ?? DEFAULT_COMPLETE_IDLE_SPANS);
  }

  /** Adds one span to its trace (counted as late and dropped when the trace was already finalized). */
  place(traceId: string, span: TraceSpan): void {
    const stats = this.stats;
    stats.spans++;
    let trace = this.current.get(traceId);
    // A complete trace taking one more span: only that span can make it incomplete.
    let wasComplete = false;
    if (trace === undefined) {
      trace = this.older.get(traceId);
      if (trace !== undefined) {
        this.older.delete(traceId);
      } else {
        trace = this.completeCurrent.get(traceId) ?? this.completeOlder.get(traceId);
        if (trace !== undefined) {
          // More spans after all: back to the normal window (below, unless it is still complete).
          this.completeCurrent.delete(traceId);
          this.completeOlder.delete(traceId);
          wasComplete = true;
        } else if (this.finalized.size > 0 && this.finalized.has(traceId)) {
          stats.lateSpans++;
          return;
        } else {
          trace = [];
        }
      }
      if (!wasComplete) this.current.set(traceId, trace);
    }
    trace.push(span);
    // Once the root is in, every new span may be the last missing one.
    // Size first: hasRoot scans the trace, and scanning on every span of a big trace is quadratic.
    if (trace.length <= COMPLETE_CHECK_MAX_SPANS && (wasComplete ? hasParent(trace, span) : (span.parent === undefined || hasRoot(trace)) && isComplete(trace))) {
      if (!wasComplete) this.current.delete(traceId);
      this.completeCurrent.set(traceId, trace);
    } else if (wasComplete) {
      this.current.set(traceId, trace);
    }
    if (stats.spans - this.generationStart >= this.idleSpans / 2) this.nextGeneration();
    if (stats.spans - this.completeGenerationStart >= this.completeIdleSpans / 2) this.nextCompleteGeneration();
  }

  /** Traces currently held in memory. */
  get openTraces(): number {
    return this.current.size + this.older.size + this.completeCurrent.size + this.completeOlder.size;
  }

  /** Finalizes every open trace (end of input). */
  flush(): void {
    for (const [traceId, trace] of this.older) this.leave(traceId, trace);
    for (const [traceId, trace] of this.current) this.leave(traceId, trace);
    for (const [traceId, trace] of this.completeOlder) this.leave(traceId, trace);
    for (const [traceId, trace] of this.completeCurrent) this.leave(traceId, trace);
    this.completeOlder = new Map();
    this.completeCurrent = new Map();
    this.older = new Map();
    this.current = new Map();
  }

  private nextGeneration(): void {
    this.generationStart = this.stats.spans;
    const idle = this.older;
    this.older = this.current;
    this.current = new Map();
    for (const [traceId, trace] of idle) this.leave(traceId, trace);
  }

  private nextCompleteGeneration(): void {
    this.completeGenerationStart = this.stats.spans;
    const idle = this.completeOlder;
    this.completeOlder = this.completeCurrent;
    this.completeCurrent = new Map();
    for (const [traceId, trace] of idle) this.leave(traceId, trace);
  }

  private leave(traceId: string, trace: OpenTrace): void {
    this.rememberFinalized(traceId);
    this.finalize(traceId, trace);
  }

  private rememberFinalized(traceId: string): void {
    if (this.remember <= 0) return;
    const size = this.finalized.size;
    this.finalized.add(traceId);
    // Already remembered (a Set keeps its first place): nothing to forget.
    if (this.finalized.size === size) return;
    const order = this.order;
    if (order.length < this.remember) {
      order.push(traceId);
      return;
    }
    this.finalized.delete(order[this.oldest]!);
    order[this.oldest] = traceId;
    this.oldest = this.oldest + 1 === this.remember ? 0 : this.oldest + 1;
  }
}

function hasRoot(trace: readonly TraceSpan[]): boolean {
  for (const span of trace) if (span.parent === undefined) return true;
  return false;
}

/** True when `span`'s parent is in the trace (or it has none). */
function hasParent(trace: readonly TraceSpan[], span: TraceSpan): boolean {
  const parent = span.parent;
  if (parent === undefined) return true;
  for (const other of trace) if (other.id === parent) return true;
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
